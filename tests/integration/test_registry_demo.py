"""The registry demo: a realistic, valid, idempotent set."""

from __future__ import annotations

import pytest

from accounts import service as accounts
from registry import demo, requisites
from registry.models import Contract, Delivery, Invoice, Organization, Supplier

pytestmark = pytest.mark.usefixtures("db")


@pytest.mark.slow
def test_demo_loads_once_with_valid_requisites() -> None:
    accounts.create_user("manager", "demo-password", ["sales"])
    manager = accounts.actor_of(accounts.get_user("manager"))
    lines = list(demo.load(manager))
    assert "50 organizations" in lines[-1]
    assert Organization.objects.count() == 50 and Supplier.objects.count() == 10
    assert set(Contract.objects.distinct("role")) == {"executor", "customer"}
    assert Invoice.objects.count() > 10 and Delivery.objects.count() > 5
    for org in Organization.objects:
        assert requisites.check_inn(org.inn) is None
        assert requisites.check_ogrn(org.ogrn) is None
        for account in org.bank_accounts:
            assert (
                requisites.check_settlement_account(account.settlement_account, account.bik) is None
            )
    assert list(demo.load(manager)) == ["registry demo exists"]
    assert Organization.objects.count() == 50

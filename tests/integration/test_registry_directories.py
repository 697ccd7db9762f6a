"""Contacts, actions, products, suppliers, contracts, invoices, deliveries, the card and the
log_action operator, against the real database."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from engine import definitions, instances
from engine.actor import Actor
from registry import (
    actions,
    card,
    contacts,
    contracts,
    deliveries,
    invoices,
    operators,
    organizations,
    products,
    repository,
    suppliers,
)
from registry.errors import (
    ContactNotFound,
    DuplicateObject,
    RegistryForbidden,
    RegistryInvalid,
    StageTransitionRefused,
)
from registry.models import Action, Organization
from tests.conftest import bpmn

pytestmark = pytest.mark.usefixtures("db")
CAROL = Actor("carol", frozenset({"support"}))


@pytest.fixture()
def org(alice: Actor) -> Organization:
    return organizations.create(
        alice, {"name": "ООО «Ромашка»", "inn": "7736207543", "kpp": "770401001"}
    )


def test_contacts_primary_flag_search_and_access(alice: Actor, org: Organization) -> None:
    anna = contacts.create(
        alice,
        {
            "organization": str(org.id),
            "name": "Иванова Анна",
            "is_primary": True,
            "phones": ["+7 495 111-22-33"],
        },
    )
    petr = contacts.create(
        alice, {"organization": str(org.id), "name": "Петров Пётр", "is_primary": True}
    )
    assert not contacts.get(alice, anna.id).is_primary  # one primary per organization
    assert [c.name for c in contacts.of_organization(org.id)] == ["Петров Пётр", "Иванова Анна"]
    assert [c.id for c in contacts.find(alice, q="ПЁТР").items] == [petr.id]
    assert [c.id for c in contacts.find(alice, phone="84951112233").items] == [anna.id]
    with pytest.raises(RegistryForbidden):
        contacts.create(CAROL, {"organization": str(org.id), "name": "Чужой"})
    with pytest.raises(RegistryInvalid) as err:
        contacts.create(alice, {"organization": "nope", "name": "X"})
    assert "organization" in err.value.errors
    contacts.update(alice, anna.id, {"position": "Главный бухгалтер"})
    contacts.archive(alice, anna.id)
    assert [c.id for c in contacts.find(alice, organization=str(org.id)).items] == [petr.id]
    trail = [e.action for e in repository.audit_trail("contact", str(anna.id))]
    assert trail == ["archived", "updated", "created"]


def test_contacts_of_a_restricted_organization_are_hidden(alice: Actor) -> None:
    secret = organizations.create(alice, {"name": "Тайна", "restricted": True})
    contact = contacts.create(alice, {"organization": str(secret.id), "name": "Агент"})
    with pytest.raises(ContactNotFound):
        contacts.get(CAROL, contact.id)
    assert contacts.find(CAROL).items == []


def test_actions_logged_by_readers_changed_by_authors(alice: Actor, org: Organization) -> None:
    action = actions.create(
        CAROL,
        {
            "organization": str(org.id),
            "kind": "call_in",
            "subject": "Вопрос о доставке",
            "at": datetime(2026, 3, 1, 10, 0),
        },
    )
    assert action.by == "carol" and action.created_by == "carol"
    actions.update(CAROL, action.id, {"result": "Ответили"})
    actions.update(alice, action.id, {"result": "Ответили подробно"})  # a writer of the org
    with pytest.raises(RegistryForbidden):
        actions.update(Actor("dave", frozenset({"audit"})), action.id, {"result": "x"})
    with pytest.raises(RegistryInvalid) as err:
        actions.create(alice, {"organization": str(org.id), "kind": "fax"})
    assert "kind" in err.value.errors
    later = actions.create(alice, {"organization": str(org.id), "kind": "meeting"})
    assert [a.id for a in actions.find(alice, organization=str(org.id)).items] == [
        later.id,
        action.id,
    ]
    assert [a.id for a in actions.find(alice, kind="call_in").items] == [action.id]


def test_an_action_at_a_local_moment_is_kept_in_utc(alice: Actor, org: Organization) -> None:
    moscow = timezone(timedelta(hours=3))
    at = datetime(2026, 3, 1, 10, 0, tzinfo=moscow)
    action = actions.create(alice, {"organization": str(org.id), "kind": "call_in", "at": at})
    assert Action.objects.get(id=action.id).at == datetime(2026, 3, 1, 7, 0)
    window = {"since": datetime(2026, 3, 1, 9, 30, tzinfo=moscow)}
    assert [a.id for a in actions.find(alice, **window).items] == [action.id]
    window = {"until": datetime(2026, 3, 1, 10, 0, tzinfo=moscow)}
    assert actions.find(alice, **window).items == []


def test_products_and_suppliers(alice: Actor, bob: Actor, org: Organization) -> None:
    paper = products.create(
        alice,
        {
            "code": "A4",
            "name": "Бумага офисная А4",
            "price": Decimal("350.50"),
            "product_type": "канцтовары",
        },
    )
    assert paper.price == Decimal("350.50") and paper.price_minor == 35050
    with pytest.raises(DuplicateObject):
        products.create(bob, {"code": "A4", "name": "Другая"})
    with pytest.raises(RegistryForbidden):
        products.create(CAROL, {"code": "B5", "name": "Нельзя"})
    with pytest.raises(RegistryInvalid) as err:
        products.create(alice, {"code": "C", "name": "Дробь", "price": "1.005"})
    assert "price" in err.value.errors
    assert [p.code for p in products.find(CAROL, q="офисн").items] == ["A4"]
    supplier = suppliers.create(
        alice,
        {"organization": str(org.id), "product_types": ["канцтовары"], "products": [str(paper.id)]},
    )
    with pytest.raises(DuplicateObject):
        suppliers.create(alice, {"organization": str(org.id)})
    with pytest.raises(RegistryInvalid) as err:
        suppliers.update(alice, supplier.id, {"products": ["64b000000000000000000000"]})
    assert "products.0" in err.value.errors
    assert [s.id for s in suppliers.find(alice, product=str(paper.id)).items] == [supplier.id]
    assert [s.id for s in suppliers.find(alice, product_type="канцтовары").items] == [supplier.id]


def test_contract_lifecycle(alice: Actor, org: Organization) -> None:
    contract = contracts.create(
        alice,
        {
            "organization": str(org.id),
            "role": "executor",
            "number": "Д-1",
            "amount": "1200.00",
            "vat_rate": 20,
            "starts_on": date(2026, 1, 1),
        },
    )
    assert contract.stage == "draft" and contract.vat_amount == Decimal("200.00")
    with pytest.raises(RegistryInvalid) as err:
        contracts.update(alice, contract.id, {"ends_on": date(2025, 1, 1), "vat_rate": 13})
    assert set(err.value.errors) == {"ends_on", "vat_rate"}
    for stage in ("approval", "draft", "approval", "signed", "in_force"):
        contracts.change_stage(alice, contract.id, stage)
    with pytest.raises(RegistryInvalid):
        contracts.update(alice, contract.id, {"role": "customer"})
    with pytest.raises(StageTransitionRefused):
        contracts.change_stage(alice, contract.id, "draft")
    with pytest.raises(StageTransitionRefused):
        contracts.archive(alice, contract.id)
    contracts.change_stage(alice, contract.id, "terminated")
    with pytest.raises(StageTransitionRefused):
        contracts.update(alice, contract.id, {"notes": "frozen"})
    stages = [
        e.changes["stage"]["to"]
        for e in repository.audit_trail("contract", str(contract.id))
        if e.action == "stage_changed"
    ]
    assert stages == ["terminated", "in_force", "signed", "approval", "draft", "approval"]


def test_invoices_status_follows_payments(alice: Actor, org: Organization) -> None:
    contract = contracts.create(
        alice, {"organization": str(org.id), "role": "executor", "number": "Д-2", "stage": "signed"}
    )
    invoice = invoices.create(
        alice,
        {
            "contract": str(contract.id),
            "number": "1",
            "amount": "100.00",
            "date": date(2026, 1, 1),
            "due_on": date(2026, 1, 10),
        },
    )
    assert invoice.status == "issued" and invoice.role == "executor"
    assert invoices.is_overdue(invoice, date(2026, 2, 1))
    assert [i.id for i in invoices.find(alice, overdue=True, today=date(2026, 2, 1)).items] == [
        invoice.id
    ]
    assert invoices.update(alice, invoice.id, {"paid_amount": "40"}).status == "partially_paid"
    paid = invoices.update(
        alice, invoice.id, {"paid_amount": "100.00", "paid_on": date(2026, 1, 9)}
    )
    assert paid.status == "paid" and not invoices.is_overdue(paid, date(2026, 2, 1))
    with pytest.raises(RegistryInvalid) as err:
        invoices.create(alice, {"contract": str(contract.id), "number": "2", "amount": "0"})
    assert "amount" in err.value.errors
    with pytest.raises(RegistryInvalid) as err:
        invoices.create(alice, {"contract": "nope", "number": "3", "amount": "1"})
    assert "contract" in err.value.errors


def test_delivery_totals(alice: Actor, org: Organization) -> None:
    bolt = products.create(alice, {"code": "M8", "name": "Болт М8", "price": "2.35"})
    contract = contracts.create(
        alice, {"organization": str(org.id), "role": "customer", "number": "П-1"}
    )
    delivery = deliveries.create(
        alice,
        {
            "contract": str(contract.id),
            "date": date(2026, 2, 1),
            "items": [
                {"product": str(bolt.id), "quantity": Decimal("1000")},
                {"name": "Доставка", "unit": "услуга", "quantity": "1", "price": "500"},
                {"name": "Гайка", "quantity": "0.333", "price": "1.00"},
            ],
        },
    )
    assert delivery.total == Decimal("2850.33")
    assert delivery.items[0].name == "Болт М8" and delivery.items[0].price_minor == 235
    shipped = deliveries.update(alice, delivery.id, {"status": "shipped"})
    assert shipped.status == "shipped" and shipped.total == Decimal("2850.33")
    with pytest.raises(RegistryInvalid) as err:
        deliveries.create(alice, {"contract": str(contract.id), "items": [{"quantity": "-1"}]})
    assert {"items.0.name", "items.0.quantity"} <= set(err.value.errors)


def test_card_lists_only_tasks_the_actor_may_see(alice: Actor, org: Organization) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "test")
    instances.start(
        "approval", alice, subject={"type": "organization", "id": str(org.id), "title": org.name}
    )
    mine = card.card(alice, org.id)
    assert [t["bpmn_id"] for t in mine.open_tasks] == ["review"]
    assert len(mine.processes) == 1
    theirs = card.card(CAROL, org.id)
    assert theirs.open_tasks == [] and theirs.processes == []
    admin = card.card(Actor("root", is_admin=True), org.id)
    assert len(admin.open_tasks) == 1
    assert admin.invoice_totals["executor"]["issued"] == Decimal("0.00")


def test_log_action_operator_from_a_procedure(alice: Actor, org: Organization) -> None:
    assert operators.LOG_ACTION == "log_action"
    definitions.deploy(bpmn("registry_log_action.bpmn"), "registry_log_action.bpmn", "test")
    doc = instances.start(
        "call_logged", alice, subject={"type": "organization", "id": str(org.id), "title": "Р"}
    )
    guid = doc["open_tasks"][0]["guid"]
    done = instances.complete_task(
        guid, alice, {"subject": "Заказ", "result": "Принят", "follow_up_on": "2026-04-01"}
    )
    assert done["status"] == "completed"
    action = Action.objects.get()
    assert action.organization == org.id and action.kind == "call_in"
    assert action.by == "alice" and action.result == "Принят"
    assert action.follow_up_on == date(2026, 4, 1)
    assert action.instance_id == str(doc["_id"])
    assert instances.variables(done)["action_id"] == str(action.id)


def test_log_action_is_idempotent_and_finds_the_organization_of_a_contract(
    alice: Actor, org: Organization
) -> None:
    contract = contracts.create(
        alice, {"organization": str(org.id), "role": "executor", "number": "Д-9"}
    )
    call = operators.operators.OperatorCall(
        name="log_action",
        params={"kind": "call_out"},
        data={"subject": "Счёт"},
        instance=operators.operators.InstanceContext(
            instance_id="i-1",
            process_key="p",
            started_by="bob",
            subject={"type": "contract", "id": str(contract.id)},
        ),
    )
    first = operators.log_action(call)
    assert operators.log_action(call) == first
    assert Action.objects.count() == 1
    assert Action.objects.get().by == "bob"

"""The records-office demo data and the `crm keys` commands."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from accounts import service as accounts
from documents import demo
from documents.models import (
    CaseNomenclature,
    CitizenAppeal,
    DocumentTemplate,
    RegistrationCard,
    RegistrationJournal,
    Signature,
)
from webapi.cli import main

from .documents_helpers import CLERK


def test_the_demo_loads_once(db: None) -> None:
    lines = list(demo.load(CLERK, "demo-secret"))
    assert "30 registered documents" in lines
    assert RegistrationJournal.objects.count() == 4
    assert RegistrationCard.objects(kind="document").count() == 30
    assert CitizenAppeal.objects.count() == 5
    assert CitizenAppeal.objects(repeated_of__size=1).count() == 1
    assert CaseNomenclature.objects(status="approved").count() == 1
    assert DocumentTemplate.objects.count() == 1 and Signature.objects.count() == 1
    assert RegistrationCard.objects(status="filed").count() == 5
    assert list(demo.load(CLERK, "demo-secret")) == ["records office demo exists"]
    assert RegistrationCard.objects.count() == 35


@pytest.fixture()
def cli_env(db: None, db_uri: str, db_name: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MONGODB_URI", db_uri)
    monkeypatch.setenv("CRM_DB_NAME", db_name)
    monkeypatch.setenv("CRM_SECRET_KEY", "cli-secret")
    accounts.create_user("clerk", "clerk-password", ["office"], full_name="Ксения")
    return CliRunner()


def test_crm_keys_issue_list_certificate_revoke(cli_env: CliRunner) -> None:
    issued = cli_env.invoke(main, ["keys", "issue", "clerk"])
    assert issued.exit_code == 0, issued.output
    assert issued.output.startswith("clerk ec-p256 ")
    listed = cli_env.invoke(main, ["keys", "list", "clerk"])
    assert "clerk active ec-p256" in listed.output
    pem = cli_env.invoke(main, ["keys", "certificate", "clerk"])
    assert pem.output.startswith("-----BEGIN CERTIFICATE-----")
    assert cli_env.invoke(main, ["keys", "revoke", "clerk"]).exit_code == 0
    again = cli_env.invoke(main, ["keys", "revoke", "clerk"])
    assert again.exit_code == 2 and "no active key" in again.output


def test_crm_keys_fails_in_one_line(cli_env: CliRunner) -> None:
    result = cli_env.invoke(main, ["keys", "issue", "nobody"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "no user nobody" in result.output
    result = cli_env.invoke(main, ["keys", "certificate", "clerk"])
    assert result.exit_code == 2 and "no valid signing key" in result.output

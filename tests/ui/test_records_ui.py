"""Records office pages: journals, registration with the number on save, the card's tabs,
sending to an executor, acquaintance, signing and verifying, appeals, the nomenclature."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from flask.testing import FlaskClient

from documents import cards, journals, nomenclature
from engine import definitions, instances
from engine.actor import Actor
from webapi.config import PROJECT_ROOT

from .conftest import csrf_of

SignIn = Callable[[str], FlaskClient]
CLERK = Actor("manager", frozenset({"sales"}))
EXECUTION_BPMN = PROJECT_ROOT / "bpmn" / "document_execution.bpmn"


def _journal(kind: str = "incoming", code: str = "ВХ") -> str:
    journal = journals.create_journal(CLERK, code, f"Журнал {code}", kind, "{journal}-{seq}")
    return str(journal.id)


def _register(client: FlaskClient, journal_id: str, **extra: str) -> tuple[int, str]:
    page = client.get("/ui/records/register/incoming").get_data(as_text=True)
    data = {
        "csrf_token": csrf_of(page),
        "journal_id": journal_id,
        "title": "Письмо о поставке",
        "party": "ООО «Ромашка»",
        "correspondent_number": "15/3",
        **extra,
    }
    response = client.post("/ui/records/register/incoming", data=data)
    return response.status_code, response.headers.get("Location", "") or response.get_data(
        as_text=True
    )


def test_register_assigns_the_number_and_opens_the_card(sign_in: SignIn) -> None:
    journal_id = _journal()
    client = sign_in("manager")
    index = client.get("/ui/records").get_data(as_text=True)
    assert "Журнал ВХ" in index
    form = client.get("/ui/records/register/incoming").get_data(as_text=True)
    assert "Журнал ВХ" in form  # the journal is offered for incoming documents
    status, location = _register(client, journal_id)
    assert status == 302, location
    card_page = client.get(location).get_data(as_text=True)
    assert "№ ВХ-1" in card_page
    assert "15/3" in card_page and "ООО «Ромашка»" in card_page
    status, location = _register(client, journal_id)
    assert "№ ВХ-2" in client.get(location).get_data(as_text=True)
    assert "ВХ-1" in client.get("/ui/records").get_data(as_text=True)


def test_register_names_the_bad_fields(sign_in: SignIn) -> None:
    journal_id = _journal()
    client = sign_in("manager")
    status, body = _register(client, journal_id, title="", deadline="not-a-date")
    assert status == 422
    assert 'id="f-deadline-errors"' in body
    outgoing = _journal("outgoing", "ИСХ")
    status, body = _register(client, outgoing)  # an incoming document in an outgoing journal
    assert status == 422
    assert cards.list_cards(CLERK) == []


def test_register_refuses_without_the_csrf_token(sign_in: SignIn) -> None:
    journal_id = _journal()
    client = sign_in("manager")
    response = client.post(
        "/ui/records/register/incoming", data={"journal_id": journal_id, "title": "x"}
    )
    assert response.status_code == 400
    assert cards.list_cards(CLERK) == []


def test_pages_need_a_signed_in_user(app) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    for url in ("/ui/records", "/ui/records/appeals", "/ui/records/nomenclature"):
        response = client.get(url)
        assert response.status_code == 302 and "/ui/login" in response.headers["Location"]


def test_card_of_another_journal_is_hidden(sign_in: SignIn) -> None:
    journal = journals.create_journal(CLERK, "ДСП", "Закрытый", "incoming", "{seq}", read=[])
    client = sign_in("manager")
    status, location = _register(client, str(journal.id))
    assert status == 302
    other = sign_in("designer")
    assert other.get(location).status_code == 404
    assert "Закрытый" not in other.get("/ui/records").get_data(as_text=True)


def test_card_tabs_send_acquaint_sign_verify(sign_in: SignIn) -> None:
    definitions.deploy(EXECUTION_BPMN.read_bytes(), "document_execution.bpmn", "test")
    client = sign_in("manager")
    _, location = _register(client, _journal())
    card_id = location.rstrip("/").split("/")[-1]
    page = client.get(location).get_data(as_text=True)
    token = csrf_of(page)
    base = f"/ui/records/cards/{card_id}"

    client.post(f"{base}/send", data={"csrf_token": token, "executor": "designer", "text": "Do it"})
    card = cards.get_card(CLERK, card_id)
    assert card.status == "in_work" and card.assignments[0]["executor"] == "designer"
    task_page = sign_in("designer").get("/ui/mailbox").get_data(as_text=True)
    assert "Execute the document" in task_page

    client.post(f"{base}/acquaint", data={"csrf_token": token, "person": "Иванов И. И."})
    tab = client.get(f"{base}?tab=acquaintance", headers={"HX-Target": "tab-panel"})
    assert tab.status_code == 200 and "Иванов И. И." in tab.get_data(as_text=True)
    assert "<html" not in tab.get_data(as_text=True)  # the fragment only

    client.post(
        f"{base}/files",
        data={"csrf_token": token, "file": (io.BytesIO(b"%PDF-1.4 letter"), "letter.pdf")},
        content_type="multipart/form-data",
    )
    signatures_tab = client.get(f"{base}?tab=signatures").get_data(as_text=True)
    file_id = re.search(r'name="file_id" value="([0-9a-f]+)"', signatures_tab)
    assert file_id, signatures_tab
    client.post(f"{base}/sign", data={"csrf_token": token, "file_id": file_id.group(1)})
    signatures_tab = client.get(f"{base}?tab=signatures").get_data(as_text=True)
    verify = re.search(r'action="([^"]+/verify)"', signatures_tab)
    assert verify and "manager" in signatures_tab
    client.post(verify.group(1), data={"csrf_token": token})
    shown = client.get(f"{base}?tab=signatures").get_data(as_text=True)
    assert "The signature is valid." in shown or "Подпись верна." in shown

    assert client.get(f"{base}?tab=transfers").status_code == 200
    assert client.get(f"{base}?tab=nonsense").status_code == 404


def test_appeals_and_nomenclature_pages(sign_in: SignIn) -> None:
    found = nomenclature.create_nomenclature(CLERK, 2026, title="Номенклатура 2026")
    nomenclature.add_case(CLERK, found.id, "01-05", "Переписка с поставщиками", 5)
    client = sign_in("manager")
    page = client.get("/ui/records/nomenclature").get_data(as_text=True)
    assert "01-05" in page and "Переписка с поставщиками" in page
    appeals = client.get("/ui/records/appeals?overdue=1")
    assert appeals.status_code == 200


def test_send_to_an_executor_starts_the_shipped_procedure(sign_in: SignIn) -> None:
    client = sign_in("manager")
    _, location = _register(client, _journal())
    token = csrf_of(client.get(location).get_data(as_text=True))
    response = client.post(
        f"{location}/send",
        data={"csrf_token": token, "executor": "designer"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    (card,) = cards.list_cards(CLERK)
    assert [a["executor"] for a in card.assignments] == ["designer"]
    assert instances.get(card.assignments[0]["instance_id"])["process_key"] == "document_execution"

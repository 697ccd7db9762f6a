"""Records office forms: editing a card (field errors, optimistic locking), status changes,
hand-over and filing into a case, linking and attaching, signature verify in place, the
appeal actions, journals with their number template, the case nomenclature. Each form is
also refused without its CSRF token."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient

from accounts import service as accounts
from documents import appeals, cards, journals, nomenclature
from documents.models import RegistrationJournal
from engine.actor import Actor
from engine.models import utcnow

from .conftest import csrf_of

SignIn = Callable[[str], FlaskClient]
WRITER = Actor("manager", frozenset({"sales"}))


def _card(client: FlaskClient, code: str = "ВХ") -> tuple[str, str]:
    """Register an incoming letter through the form; its card id and the page's token."""
    journal = journals.create_journal(WRITER, code, f"Журнал {code}", "incoming", "{journal}-{seq}")
    page = client.get("/ui/records/register/incoming").get_data(as_text=True)
    response = client.post(
        "/ui/records/register/incoming",
        data={"csrf_token": csrf_of(page), "journal_id": str(journal.id), "title": "Письмо"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    card_id = response.headers["Location"].rstrip("/").split("/")[-1]
    return card_id, csrf_of(client.get(f"/ui/records/cards/{card_id}").get_data(as_text=True))


def _edit_form(client: FlaskClient, card_id: str) -> dict[str, str]:
    page = client.get(f"/ui/records/cards/{card_id}/edit").get_data(as_text=True)
    token = re.search(r'name="updated_at" value="([^"]*)"', page)
    assert token and token.group(1), page
    return {
        "csrf_token": csrf_of(page),
        "updated_at": token.group(1),
        "summary": "",
        "resolution": "",
        "executors": "",
        "deadline": "",
        "correspondent_number": "",
        "correspondent_date": "",
    }


def test_card_edit_names_bad_fields_and_refuses_a_stale_form(sign_in: SignIn) -> None:
    client = sign_in("manager")
    card_id, _ = _card(client)
    url = f"/ui/records/cards/{card_id}/edit"
    form = _edit_form(client, card_id)

    bad = client.post(url, data={**form, "deadline": "31.12.2030", "executors": "nobody"})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert 'id="f-deadline-errors"' in body and 'id="f-executors-errors"' in body
    assert "nobody" in body  # the value typed is kept
    controlled = client.post(url, data={**form, "under_control": "1"})
    assert controlled.status_code == 422 and 'id="f-deadline-errors"' in controlled.get_data(
        as_text=True
    )

    saved = client.post(
        url,
        data={
            **form,
            "resolution": "Подготовить ответ",
            "executors": "designer",
            "deadline": "2030-12-10",
        },
    )
    assert saved.status_code == 302
    card = cards.get_card(WRITER, card_id)
    assert card.resolution == "Подготовить ответ" and card.executors == ["designer"]
    assert str(card.deadline) == "2030-12-10"

    # A second tab still holds the first token: its save is refused, nothing is lost.
    stale = client.post(url, data={**form, "resolution": "Другое"})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert 'id="conflict"' in page and 'id="f-resolution-theirs"' in page
    assert "Подготовить ответ" in page  # what the other person saved
    assert cards.get_card(WRITER, card_id).resolution == "Подготовить ответ"
    fresh = re.search(r'name="updated_at" value="([^"]*)"', page)
    assert fresh  # saving the conflict page again replaces it, knowingly
    again = client.post(url, data={**form, "updated_at": fresh.group(1), "resolution": "Другое"})
    assert again.status_code == 302
    assert cards.get_card(WRITER, card_id).resolution == "Другое"

    refused = client.post(url, data={k: v for k, v in form.items() if k != "csrf_token"})
    assert refused.status_code == 400
    assert sign_in("designer").get(url).status_code in (403, 404)  # readers may not edit


def test_status_hand_over_and_filing_into_a_case(sign_in: SignIn) -> None:
    version = nomenclature.create_nomenclature(WRITER, utcnow().year)
    nomenclature.add_case(WRITER, version.id, "01-05", "Переписка", 5)
    client = sign_in("manager")
    card_id, token = _card(client)
    base = f"/ui/records/cards/{card_id}"

    missing = client.post(f"{base}/hand-over", data={"csrf_token": token, "to_person": "Петров"})
    assert missing.status_code == 422 and 'id="f-reason-errors"' in missing.get_data(as_text=True)
    client.post(
        f"{base}/hand-over",
        data={"csrf_token": token, "to_person": "Петров П. П.", "reason": "на подпись"},
    )
    early = client.post(f"{base}/file", data={"csrf_token": token, "case_index": "01-05"})
    assert early.status_code == 302  # not executed yet: refused with a message, nothing filed
    assert cards.get_card(WRITER, card_id).status == "registered"

    assert client.post(f"{base}/status", data={"status": "executed"}).status_code == 400
    client.post(f"{base}/status", data={"csrf_token": token, "status": "executed"})
    assert cards.get_card(WRITER, card_id).status == "executed"
    tab = client.get(f"{base}?tab=transfers").get_data(as_text=True)
    assert '<option value="01-05"' in tab
    client.post(
        f"{base}/file", data={"csrf_token": token, "case_index": "01-05", "case_note": "в дело"}
    )
    card = cards.get_card(WRITER, card_id)
    assert card.status == "filed" and card.case_index == "01-05"
    log = client.get(f"{base}?tab=transfers", headers={"HX-Target": "tab-panel"})
    text = log.get_data(as_text=True)
    assert "Петров П. П." in text and "на подпись" in text and "01-05" in text
    assert 'action="' + base + '/file"' not in text  # filed: no more transfers

    tab = client.get(f"{base}?tab=acquaintance").get_data(as_text=True)
    me = re.search(r'id="acquaint-me">.*?name="person" value="([^"]+)"', tab, re.S)
    assert me and me.group(1) == "Мария Менеджер"  # "I have read it" records the user
    empty = client.post(f"{base}/acquaint", data={"csrf_token": token, "person": " "})
    assert empty.status_code == 422 and 'id="f-person-errors"' in empty.get_data(as_text=True)


def test_link_attach_sign_and_verify_in_place(sign_in: SignIn) -> None:
    client = sign_in("manager")
    card_id, token = _card(client)
    other_id, _ = _card(client, "ВХ2")
    base = f"/ui/records/cards/{card_id}"
    other = cards.get_card(WRITER, other_id)

    assert "f-document_id" not in client.get(base).get_data(as_text=True)  # asked for only
    picker = client.get(f"{base}?tab=documents&link=1").get_data(as_text=True)
    assert f'<option value="{other.document_id}"' in picker
    refused = client.post(f"{base}/links", data={"csrf_token": token})
    assert refused.status_code == 422 and 'id="f-document_id-errors"' in refused.get_data(
        as_text=True
    )
    client.post(f"{base}/links", data={"csrf_token": token, "document_id": str(other.document_id)})
    assert cards.get_card(WRITER, card_id).linked_document_ids == [other.document_id]
    assert "ВХ2-1" in client.get(base).get_data(as_text=True)

    no_file = client.post(
        f"{base}/files", data={"csrf_token": token}, content_type="multipart/form-data"
    )
    assert no_file.status_code == 422 and 'id="f-file-errors"' in no_file.get_data(as_text=True)
    client.post(
        f"{base}/files",
        data={
            "csrf_token": token,
            "tab": "signatures",
            "file": (io.BytesIO(b"%PDF-1.4 x"), "a.pdf"),
        },
        content_type="multipart/form-data",
    )
    tab = client.get(f"{base}?tab=signatures").get_data(as_text=True)
    file_id = re.search(r'name="file_id" value="([0-9a-f]+)"', tab)
    assert file_id and "a.pdf" in tab
    client.post(f"{base}/sign", data={"csrf_token": token, "file_id": file_id.group(1)})
    tab = client.get(f"{base}?tab=signatures").get_data(as_text=True)
    verify = re.search(r'hx-post="([^"]+/verify)" hx-target="#verdict-([0-9a-f]+)"', tab)
    assert verify, tab
    verdict = client.post(
        verify.group(1), data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert verdict.status_code == 200
    assert "s-valid" in verdict.get_data(as_text=True) and "<html" not in verdict.get_data(
        as_text=True
    )

    reader = sign_in("designer").get(f"{base}?tab=signatures")  # English, read only
    page = reader.get_data(as_text=True)
    assert reader.status_code == 200 and "Acquaintance log" in page and "a.pdf" in page
    assert "Edit the card" not in page and 'name="file_id"' not in page  # no edit, no signing
    assert "Verify" in page


def _appeal(client: FlaskClient) -> tuple[str, str, str]:
    journal = journals.create_journal(WRITER, "ОГ", "Обращения", "appeal", "ОГ-{seq}")
    appeal = appeals.register_appeal(
        WRITER,
        journal.id,
        [{"name": "Иванов Иван", "email": "ivanov@example.org"}],
        "0001",
        "email",
        "Ремонт дороги",
    )
    page = client.get(f"/ui/records/cards/{appeal.card_id}").get_data(as_text=True)
    return str(appeal.id), str(appeal.card_id), csrf_of(page)


def test_appeal_deadlines_and_actions(sign_in: SignIn) -> None:
    client = sign_in("manager")
    appeal_id, card_id, token = _appeal(client)
    listing = client.get("/ui/records/appeals").get_data(as_text=True)
    appeal = appeals.get_appeal(WRITER, appeal_id)
    left = (appeal.deadline - utcnow().date()).days
    assert f"{left} " in listing  # the days left
    card = client.get(f"/ui/records/cards/{card_id}").get_data(as_text=True)
    assert 'id="appeal-deadline"' in card and "/extend" in card

    url = f"/ui/records/appeals/{appeal_id}/extend"
    too_long = client.post(url, data={"csrf_token": token, "days": "45", "extension_reason": ""})
    assert too_long.status_code == 422
    body = too_long.get_data(as_text=True)
    assert 'id="f-days-errors"' in body and 'id="f-extension_reason-errors"' in body
    assert client.post(url, data={"days": "10", "extension_reason": "запрос"}).status_code == 400
    client.post(url, data={"csrf_token": token, "days": "10", "extension_reason": "запрос в ГИБДД"})
    extended = appeals.get_appeal(WRITER, appeal_id)
    assert extended.extended_days == 10 and extended.deadline >= appeal.deadline + timedelta(
        days=10
    )
    assert cards.get_card(WRITER, card_id).deadline == extended.deadline
    twice = client.post(
        url,
        data={"csrf_token": token, "days": "5", "extension_reason": "ещё"},
        follow_redirects=True,
    )
    assert "once" in twice.get_data(as_text=True) or "однажды" in twice.get_data(as_text=True)

    answer = f"/ui/records/appeals/{appeal_id}/answer"
    empty = client.post(answer, data={"csrf_token": token, "answer_text": ""})
    assert empty.status_code == 422 and 'id="f-answer_text-errors"' in empty.get_data(as_text=True)
    client.post(answer, data={"csrf_token": token, "answer_text": "Дорогу отремонтируют в мае"})
    assert appeals.get_appeal(WRITER, appeal_id).status == "answered"
    assert cards.get_card(WRITER, card_id).status == "executed"


def test_appeal_redirect(sign_in: SignIn) -> None:
    client = sign_in("manager")
    appeal_id, card_id, token = _appeal(client)
    before = cards.get_card(WRITER, card_id)
    form = _edit_form(client, card_id)
    assert 'id="f-deadline"' not in client.get(f"/ui/records/cards/{card_id}/edit").get_data(
        as_text=True
    )
    saved = client.post(f"/ui/records/cards/{card_id}/edit", data={**form, "summary": "Дорога"})
    assert saved.status_code == 302
    after = cards.get_card(WRITER, card_id)  # the 59-FZ term and control are kept
    assert after.summary == "Дорога" and after.deadline == before.deadline
    assert after.under_control
    url = f"/ui/records/appeals/{appeal_id}/redirect"
    empty = client.post(url, data={"csrf_token": token, "to_organization": ""})
    assert empty.status_code == 422 and 'id="f-to_organization-errors"' in empty.get_data(
        as_text=True
    )
    client.post(url, data={"csrf_token": token, "to_organization": "Администрация района"})
    assert appeals.get_appeal(WRITER, appeal_id).redirected_to == "Администрация района"


def test_journal_form_previews_the_number_and_names_the_bad_position(sign_in: SignIn) -> None:
    accounts.create_user("clerk", "clerk-password", ["office"])
    client = sign_in("clerk")
    assert sign_in("manager").get("/ui/records/journals/new").status_code == 403
    page = client.get("/ui/records/journals/new").get_data(as_text=True)
    token = csrf_of(page)
    preview = client.post(
        "/ui/records/journals/preview",
        data={"csrf_token": token, "code": "ИСХ", "number_template": "{journal}-{seq:03}/{yy}"},
    )
    assert preview.status_code == 200
    assert f"ИСХ-001/{utcnow().year % 100:02d}" in preview.get_data(as_text=True)
    bad = client.post(
        "/ui/records/journals/preview",
        data={"csrf_token": token, "code": "ИСХ", "number_template": "{journal}-{year}"},
    )
    assert bad.status_code == 422
    assert "position 11" in bad.get_data(as_text=True) or "позиция 11" in bad.get_data(as_text=True)

    data = {"csrf_token": token, "code": "ИСХ", "name": "Исходящие", "kind": "outgoing"}
    refused = client.post("/ui/records/journals/new", data={**data, "number_template": "{seq}}"})
    assert refused.status_code == 422
    assert 'id="f-number_template-errors"' in refused.get_data(as_text=True)
    assert (
        client.post("/ui/records/journals/new", data={**data, "csrf_token": ""}).status_code == 400
    )
    created = client.post("/ui/records/journals/new", data={**data, "number_template": "{seq}-И"})
    assert created.status_code == 302
    journal = RegistrationJournal.objects(code="ИСХ").get()
    taken = client.post("/ui/records/journals/new", data={**data, "number_template": "{seq}"})
    assert taken.status_code == 409 and 'id="f-code-errors"' in taken.get_data(as_text=True)

    url = f"/ui/records/journals/{journal.id}/edit"
    no_name = client.post(url, data={"csrf_token": token, "name": "", "number_template": "{seq}"})
    assert no_name.status_code == 422 and 'id="f-name-errors"' in no_name.get_data(as_text=True)
    client.post(
        url,
        data={
            "csrf_token": token,
            "name": "Исходящие письма",
            "number_template": "И-{seq}",
            "active": "1",
        },
    )
    journal.reload()
    assert journal.name == "Исходящие письма" and journal.number_template == "И-{seq}"


def test_nomenclature_versions_and_cases(sign_in: SignIn) -> None:
    accounts.create_user("clerk", "clerk-password", ["office"])
    client = sign_in("clerk")
    token = csrf_of(client.get("/ui/records/nomenclature").get_data(as_text=True))
    bad_year = client.post("/ui/records/nomenclature", data={"csrf_token": token, "year": "20x6"})
    assert bad_year.status_code == 422 and 'id="f-year-errors"' in bad_year.get_data(as_text=True)
    client.post("/ui/records/nomenclature", data={"csrf_token": token, "year": "2031"})
    (version,) = nomenclature.list_nomenclatures(2031)
    cases_url = f"/ui/records/nomenclature/{version.id}/cases"
    bad = client.post(
        cases_url, data={"csrf_token": token, "index": "", "title": "", "retention_years": "0"}
    )
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    for name in ("index", "title", "retention_years"):
        assert f'id="f-{name}-errors"' in body
    client.post(
        cases_url,
        data={"csrf_token": token, "index": "02-01", "title": "Приказы", "permanent": "1"},
    )
    (case,) = nomenclature.list_cases(version.id)
    assert case.retention_years is None
    assert (
        client.post(cases_url, data={"index": "02-02", "title": "x", "permanent": "1"}).status_code
        == 400
    )
    edit = f"/ui/records/nomenclature/cases/{case.id}/edit"
    assert client.get(edit).status_code == 200
    client.post(
        edit,
        data={
            "csrf_token": token,
            "index": "02-01",
            "title": "Приказы по личному составу",
            "retention_years": "75",
            "retention_article": "19а",
        },
    )
    case.reload()
    assert case.title == "Приказы по личному составу" and case.retention_years == 75
    client.post(f"/ui/records/nomenclature/{version.id}/approve", data={"csrf_token": token})
    version.reload()
    assert version.status == "approved"
    assert sign_in("manager").post(
        f"/ui/records/nomenclature/{version.id}/approve"
    ).status_code in (400, 403)

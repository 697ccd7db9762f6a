"""The linear procedure builder page: preview without deploying, start, field errors,
prototypes started again, CSRF."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from engine import linear_procedures
from engine.actor import Actor
from engine.models import ProcessDefinition
from engine.xml import BPMN_NS, parse_xml

from .conftest import csrf_of

SignIn = Callable[[str], FlaskClient]


def _form(token: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "title": "Согласование служебной записки",
        "subject_type": "organization",
        "subject_id": "org-1",
        "subject_title": "ООО «Ромашка»",
        "steps-0-title": "Подготовить",
        "steps-0-executor": "manager",
        "steps-0-working_days": "2",
        "steps-1-title": "Проверить",
        "steps-1-executor": "group:designers",
        "steps-1-on_reject": "back",
        "steps-1-back_to": "1",
        "steps-2-title": "Утвердить",
        "steps-2-executor": "designer",
        **extra,
    }


def _token(client: FlaskClient) -> str:
    page = client.get("/ui/linear")
    assert page.status_code == 200
    return csrf_of(page.get_data(as_text=True))


def test_preview_generates_the_diagram_without_deploying(sign_in: SignIn) -> None:
    client = sign_in("manager")
    page = client.get("/ui/linear").get_data(as_text=True)
    assert "group:designers" in page and "manager" in page  # the executor picker
    before = ProcessDefinition.objects.count()
    response = client.post("/ui/linear/preview", data=_form(csrf_of(page)))
    assert response.status_code == 200 and response.mimetype == "application/xml"
    root = parse_xml(response.data)
    tasks = [t.get("name") for t in root.iter(f"{{{BPMN_NS}}}userTask")]
    assert tasks == ["Подготовить", "Проверить", "Утвердить"]
    assert ProcessDefinition.objects.count() == before


def test_preview_names_the_bad_fields(sign_in: SignIn) -> None:
    client = sign_in("manager")
    token = _token(client)
    bad = _form(token, **{"steps-2-executor": "nobody", "steps-0-on_reject": "back"})
    response = client.post("/ui/linear/preview", data=bad)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert "steps[2].executor" in errors and "steps[0].back_to" in errors


def test_start_runs_it_and_the_first_executor_gets_the_task(sign_in: SignIn) -> None:
    client = sign_in("designer")
    token = _token(client)
    response = client.post("/ui/linear", data=_form(token, save_as_prototype="1"))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "/ui/monitor/instances/" in response.headers["Location"]
    assert "Подготовить" in sign_in("manager").get("/ui/mailbox").get_data(as_text=True)
    (prototype,) = linear_procedures.list_prototypes(Actor("designer", frozenset({"designers"})))
    assert prototype.subject["id"] == "org-1"
    page = client.get("/ui/linear").get_data(as_text=True)
    assert "Согласование служебной записки" in page
    again = client.post(f"/ui/linear/prototypes/{prototype.id}/start", data={"csrf_token": token})
    assert again.status_code == 302 and "/ui/monitor/instances/" in again.headers["Location"]


def test_start_with_errors_keeps_the_steps(sign_in: SignIn) -> None:
    client = sign_in("manager")
    response = client.post("/ui/linear", data=_form(_token(client), **{"steps-1-title": ""}))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="steps-1-title-errors"' in body and "Утвердить" in body


def test_builder_needs_the_csrf_token_and_a_user(sign_in: SignIn, app) -> None:  # type: ignore[no-untyped-def]
    client = sign_in("manager")
    assert client.post("/ui/linear", data=_form("wrong")).status_code == 400
    assert client.post("/ui/linear/preview", data=_form("wrong")).status_code == 400
    assert app.test_client().get("/ui/linear").status_code == 302

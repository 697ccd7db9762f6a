"""Linear procedures in the web UI: private in the procedure pages, history after removal."""

from __future__ import annotations

from accounts import service as accounts
from engine import instances, jobs, linear, linear_procedures
from engine.actor import Actor


def test_private_in_the_procedure_pages_and_its_history_draws_after_removal(sign_in):
    accounts.create_user("alice", "alice-password", ["sales"])
    run = linear_procedures.create(
        Actor("alice", frozenset({"sales"})),
        "Route the memo",
        {"type": "document", "id": "d-1"},
        [linear.Step("Read", "manager")],
    )
    key, iid = run.procedure.key, str(run.instance["_id"])
    alice, manager = sign_in("alice"), sign_in("manager")
    assert key in alice.get("/ui/procedures").get_data(as_text=True)
    assert key not in manager.get("/ui/procedures").get_data(as_text=True)
    assert manager.get(f"/ui/procedures/bpmn/{key}").status_code == 404

    (task,) = run.instance["open_tasks"]
    instances.complete_task(task["guid"], Actor("manager"), {"decision": "approve"})
    jobs.run_due("test")
    assert alice.get(f"/ui/procedures/bpmn/{key}").status_code == 404  # removed
    page = alice.get(f"/ui/monitor/instances/{iid}")
    assert page.status_code == 200
    xml = alice.get(f"/ui/procedures/bpmn/{key}/1/xml")  # what the page's viewer loads
    assert xml.status_code == 200 and b"BPMNDiagram" in xml.data
    assert manager.get(f"/ui/procedures/bpmn/{key}/1/xml").status_code == 404

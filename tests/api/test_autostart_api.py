"""Auto-start switch and reference documents over HTTP."""

from __future__ import annotations

from typing import Any

from documents import office
from engine import definitions
from engine.actor import Actor
from engine.models import ProcessInstance

BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:crm="urn:bpmcrm:bpmn" id="d" targetNamespace="urn:test">
  <bpmn:process id="on_incoming" isExecutable="true">
    <bpmn:extensionElements>
      <crm:autoStart objectType="document" event="created" condition="kind == 'incoming'"/>
      <crm:reference type="document" code="INSTR-1" title="Instruction"/>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="look"/>
    <bpmn:userTask id="look" name="Look at it">
      <bpmn:extensionElements><crm:form>
        <crm:field id="note" type="text" label="Note" maxLength="200"/>
      </crm:form></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def test_designers_switch_auto_start_and_performers_see_references(
    client: Any, users: dict[str, dict[str, str]]
) -> None:
    definitions.deploy(BPMN, "on_incoming.bpmn", "test")
    url = "/api/v1/definitions/on_incoming/auto-start"
    shown = client.get(url, headers=users["alice"])
    assert shown.status_code == 200
    assert shown.json["enabled"] is True and shown.json["rules"][0]["event"] == "created"
    assert client.put(url, json={"enabled": False}, headers=users["alice"]).status_code == 403
    off = client.put(url, json={"enabled": False}, headers=users["designer"])
    assert off.status_code == 200 and off.json["enabled"] is False
    office.create_document(Actor("alice"), "incoming", "Switched off")
    assert ProcessInstance.objects(process_key="on_incoming").count() == 0
    assert client.put(url, json={"enabled": True}, headers=users["admin"]).json["enabled"]
    office.create_document(Actor("alice"), "incoming", "Switched on")
    assert ProcessInstance.objects(process_key="on_incoming").count() == 1
    missing = client.put(
        "/api/v1/definitions/nope/auto-start", json={"enabled": True}, headers=users["admin"]
    )
    assert missing.status_code == 404
    assert client.put(url, json={}, headers=users["admin"]).status_code == 422
    # The task (the instance's starter's) lists the procedure's reference documents.
    tasks = client.get("/api/v1/tasks", headers=users["alice"]).json["items"]
    task = client.get(f"/api/v1/tasks/{tasks[0]['id']}", headers=users["alice"]).json
    assert task["references"] == [
        {"type": "document", "id": "", "code": "INSTR-1", "title": "Instruction"}
    ]

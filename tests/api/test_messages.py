"""Messages over HTTP: correlation, message start, one effect per id, the buffer."""

from __future__ import annotations

from engine.message_store import BufferedMessage
from engine.models import ProcessEvent, ProcessInstance


def _start_order(client, headers, order_id):
    response = client.post(
        "/api/v1/instances",
        headers=headers,
        json={"process_key": "order_payment", "variables": {"order_id": order_id}},
    )
    assert response.status_code == 201
    return response.get_json()["id"]


def _detail(client, headers, iid):
    return client.get(f"/api/v1/instances/{iid}", headers=headers).get_json()


def _send(client, headers, **body):
    return client.post("/api/v1/messages", headers=headers, json=body)


def test_message_goes_to_the_instance_with_the_matching_correlation_key(client, users, deploy):
    deploy("message_wait.bpmn")
    first = _start_order(client, users["alice"], 1)
    second = _start_order(client, users["alice"], 2)
    assert _detail(client, users["alice"], second)["waiting_messages"] == [
        {"name": "payment_received", "correlation_key": "2"}
    ]
    response = _send(
        client,
        users["robot"],
        name="payment_received",
        correlation_key="2",
        payload={"amount": 100},
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "delivered",
        "instance_id": second,
        "message_id": None,
        "buffer_id": None,
        "duplicate": False,
    }
    moved = _detail(client, users["alice"], second)
    assert moved["variables"]["payment"] == {"amount": 100}
    assert [t["name"] for t in moved["tasks"]] == ["Ship the order"]
    assert moved["waiting_messages"] == []
    assert "message_received" in [e["type"] for e in moved["events"]]
    untouched = _detail(client, users["alice"], first)
    assert untouched["tasks"] == [] and "payment" not in untouched["variables"]
    assert untouched["waiting_messages"] == [{"name": "payment_received", "correlation_key": "1"}]


def test_no_receiver_is_404_with_its_own_code(client, users, deploy):
    deploy("message_wait.bpmn")
    _start_order(client, users["alice"], 1)
    for body in (
        {"name": "payment_received", "correlation_key": "3"},
        {"name": "payment_received"},  # the instance waits with a key
        {"name": "nobody_listens"},
    ):
        response = _send(client, users["robot"], **body)
        assert response.status_code == 404, body
        assert response.get_json()["code"] == "no_receiver"


def test_repeated_message_id_has_exactly_one_effect(client, users, deploy):
    deploy("message_wait.bpmn")
    iid = _start_order(client, users["alice"], 7)
    body = {
        "name": "payment_received",
        "correlation_key": "7",
        "payload": {"amount": 1},
        "message_id": "bank-123",
    }
    first = _send(client, users["robot"], **body)
    assert first.status_code == 200 and first.get_json()["duplicate"] is False
    # The same order waits again (a second instance): the repeat must not reach it.
    other = _start_order(client, users["alice"], 7)
    again = _send(client, users["robot"], **body)
    assert again.status_code == 200
    assert again.get_json() == {**first.get_json(), "duplicate": True}
    assert again.get_json()["instance_id"] == iid
    received = ProcessEvent.objects(type="message_received").count()
    assert received == 1
    assert _detail(client, users["alice"], other)["tasks"] == []


def test_message_start_event_starts_a_process_once_per_message_id(client, users, deploy):
    deploy("message_start.bpmn")
    body = {"name": "lead_received", "payload": {"phone": "+7 900"}, "message_id": "web-1"}
    started = _send(client, users["robot"], **body)
    assert started.status_code == 200
    result = started.get_json()
    assert result["status"] == "started" and result["duplicate"] is False
    instance = _detail(client, users["admin"], result["instance_id"])
    assert instance["process_key"] == "lead_intake" and instance["started_by"] == "robot"
    assert instance["variables"]["lead"] == {"phone": "+7 900"}
    assert [t["name"] for t in instance["tasks"]] == ["Call the lead back"]
    repeat = _send(client, users["robot"], **body)
    assert repeat.get_json()["duplicate"] is True
    assert repeat.get_json()["instance_id"] == result["instance_id"]
    assert ProcessInstance.objects.count() == 1
    # Without an id, every message is a new lead.
    _send(client, users["robot"], name="lead_received", payload={})
    assert ProcessInstance.objects.count() == 2


def test_buffered_message_is_delivered_when_an_instance_starts_waiting(client, users, deploy):
    deploy("message_wait.bpmn")
    early = _send(
        client,
        users["robot"],
        name="payment_received",
        correlation_key="9",
        payload={"amount": 9},
        ttl=60,
        message_id="early-9",
    )
    assert early.status_code == 202
    assert early.get_json()["status"] == "buffered" and early.get_json()["buffer_id"]
    assert BufferedMessage.objects.count() == 1
    _start_order(client, users["alice"], 8)  # waits for another key: takes nothing
    assert BufferedMessage.objects.count() == 1
    iid = _start_order(client, users["alice"], 9)
    moved = _detail(client, users["alice"], iid)
    assert moved["variables"]["payment"] == {"amount": 9}
    assert [t["name"] for t in moved["tasks"]] == ["Ship the order"]
    assert BufferedMessage.objects.count() == 0
    repeat = _send(
        client,
        users["robot"],
        name="payment_received",
        correlation_key="9",
        payload={"amount": 9},
        ttl=60,
        message_id="early-9",
    )
    assert repeat.status_code == 200
    assert repeat.get_json()["status"] == "delivered" and repeat.get_json()["duplicate"]


def test_only_integrations_designers_and_admins_send(client, users, deploy):
    deploy("message_start.bpmn")
    refused = _send(client, users["alice"], name="lead_received")
    assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    assert _send(client, users["designer"], name="lead_received").status_code == 200
    assert _send(client, users["admin"], name="lead_received").status_code == 200
    assert _send(client, {}, name="lead_received").status_code == 401


def test_message_input_is_strict(client, users):
    cases = [
        ({"name": ""}, "name"),
        ({"name": "x", "ttl": 0}, "ttl"),
        ({"name": "x", "ttl": "5"}, "ttl"),
        ({"name": "x", "payload": [1]}, "payload"),
        ({"name": "x", "priority": 1}, "priority"),
        ({}, "name"),
        ({"name": "x", "payload": {"$where": "1"}}, "payload.$where"),
        ({"name": {"$ne": ""}}, "name.$ne"),
    ]
    for body, field in cases:
        response = _send(client, users["robot"], **body)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"], (body, response.get_json())


def test_a_correlation_expression_that_fails_is_422_not_500(client, users, deploy):
    deploy("message_wait.bpmn")
    response = client.post(
        "/api/v1/instances", headers=users["alice"], json={"process_key": "order_payment"}
    )  # no order_id to correlate
    assert response.status_code == 422
    assert response.get_json()["code"] == "process_error"
    assert "order_id" in response.get_json()["message"]

"""Campaigns to a segment's contacts: e-mails as background jobs, or calls as a task list.

E-mail: launching materializes the recipients (one per e-mail address, unique per
campaign) and queues a job each, due at the campaign's time. A job sends only a pending
recipient whose address never unsubscribed; the status goes pending → sent after the SMTP
server accepted the e-mail, so a retried job sends nothing twice (a crash between the two
may, rarely, as in mail.notifications). Unsubscribing is kept per address forever
(`sales_unsubscribes`); bounces are recorded on the recipient.

Calls: launching makes one call task per contact for the responsible manager of the
contact's organization (the launcher when it has none); the manager records the outcome,
which is logged as an action on the organization.

Responses: a reply is reported to `record_response` (an inbound hook or a person) and
logged as an action; deals name the campaign they came from (`Deal.campaign`).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from datetime import datetime
from typing import Any

from bson import ObjectId
from mongoengine import DateTimeField, IntField, ListField, ObjectIdField, StringField
from pymongo.errors import DuplicateKeyError

from accounts.access import read_filter
from engine import jobs
from engine.actor import SYSTEM, Actor
from engine.clock import naive_utc
from engine.errors import Conflict
from engine.models import utcnow
from mail import notifications, smtp
from registry import actions
from registry.common import (
    FieldErrors,
    check_length,
    merge_filters,
    object_id,
    stamp_created,
    text,
)
from registry.errors import (
    ObjectNotFound,
    RegistryForbidden,
    StageTransitionRefused,
)
from registry.models import Contact, Organization, Tracked, to_money

from . import segments
from .models import Deal

SEND_JOB = "sales_campaign_email"
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
FIELDS = ("name", "position", "organization")
CHANNELS = ("email", "call")
CALL_OUTCOMES = ("reached", "interested", "callback", "refused", "no_answer", "wrong_number")
SALES, HEADS = "sales", "sales_admins"
UNSUBSCRIBE_PATH = "/api/v1/campaigns/unsubscribe/"


class CampaignNotFound(ObjectNotFound):
    code = "campaign_not_found"


class CallNotFound(ObjectNotFound):
    code = "call_not_found"


class CallDone(Conflict):
    """A call task's outcome is recorded once."""

    code = "call_done"


class Campaign(Tracked):
    """A message to a segment's contacts, sent at `send_at`."""

    name = StringField(required=True)
    segment = ObjectIdField(required=True)
    channel = StringField(default="email", choices=CHANNELS)
    subject = StringField(default="")  # e-mail only
    # Text with {{ name }}, {{ organization }} …: an e-mail's body or a call's script.
    template = StringField(required=True)
    send_at = DateTimeField(null=True)
    status = StringField(default="draft", choices=("draft", "launched"))
    recipients = IntField(default=0)
    launched_by = StringField(null=True)

    meta = {"collection": "sales_campaigns"}


class Recipient(Tracked):
    """One address of a campaign and what became of its e-mail."""

    campaign = ObjectIdField(required=True)
    contact = ObjectIdField(required=True)
    organization = ObjectIdField(required=True)
    email = StringField(required=True)  # lower case
    status = StringField(default="pending")  # pending | sent | unsubscribed | bounced | skipped
    token = StringField(required=True)  # the unsubscribe link's secret
    sent_at = DateTimeField(null=True)
    error = StringField(null=True)
    unsubscribed_at = DateTimeField(null=True)  # its link was used
    replied_at = DateTimeField(null=True)  # the latest reply recorded
    replies = IntField(default=0)

    meta = {
        "collection": "sales_campaign_recipients",
        "indexes": [
            {"fields": ["campaign", "email"], "unique": True},
            {"fields": ["token"], "unique": True},
            {"fields": ["email"]},
        ],
    }


class Unsubscribe(Tracked):
    """An address that asked for no more campaigns (honoured forever)."""

    email = StringField(required=True)
    campaign = ObjectIdField(null=True)
    at = DateTimeField(required=True)

    meta = {"collection": "sales_unsubscribes", "indexes": [{"fields": ["email"], "unique": True}]}


class Response(Tracked):
    """A reply to a campaign e-mail, logged as an action on the contact's organization."""

    campaign = ObjectIdField(required=True)
    recipient = ObjectIdField(required=True)
    contact = ObjectIdField(required=True)
    organization = ObjectIdField(required=True)
    email = StringField(required=True)
    at = DateTimeField(required=True)
    key = StringField(required=True)  # the reply's Message-ID, or a digest: reports repeat
    action = ObjectIdField(required=True)

    meta = {
        "collection": "sales_campaign_responses",
        "indexes": [{"fields": ["key"], "unique": True}, {"fields": ["campaign", "-at"]}],
    }


class CallTask(Tracked):
    """One contact a manager is to call for a call campaign, and the outcome."""

    campaign = ObjectIdField(required=True)
    contact = ObjectIdField(required=True)
    organization = ObjectIdField(required=True)
    assignee = StringField(required=True)  # the organization's responsible manager
    contact_name = StringField(default="")
    organization_name = StringField(default="")
    phones = ListField(StringField())
    script = StringField(default="")  # the campaign's template, personalized
    status = StringField(default="open", choices=("open", "done"))
    outcome = StringField(null=True)
    note = StringField(default="")
    action = ObjectIdField(null=True)
    done_at = DateTimeField(null=True)
    done_by = StringField(null=True)

    meta = {
        "collection": "sales_campaign_calls",
        "indexes": [
            {"fields": ["campaign", "contact"], "unique": True},
            {"fields": ["assignee", "status"]},
        ],
    }


def may_manage(actor: Actor) -> bool:
    """Sales staff and admins make, launch and follow campaigns."""
    return actor.is_admin or bool({SALES, HEADS} & actor.groups)


def _ensure_manager(actor: Actor) -> None:
    if not may_manage(actor):
        raise RegistryForbidden(f"only admins and members of {SALES} work with campaigns")


def render(template: str, values: dict[str, str]) -> str:
    """The template with `{{ field }}` replaced (unknown fields become empty)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def create(actor: Actor, values: dict[str, Any]) -> Campaign:
    """Make a draft campaign to a saved contacts segment (sales staff and admins)."""
    _ensure_manager(actor)
    errors = FieldErrors()
    channel = text(values.get("channel")) or "email"
    if channel not in CHANNELS:
        errors.add("channel", f"one of: {', '.join(CHANNELS)}")
    name, subject, template = (text(values.get(k)) for k in ("name", "subject", "template"))
    check_length(errors, "name", name, 200)
    check_length(errors, "subject", subject, 300)
    if not name:
        errors.add("name", "is required")
    if channel == "email" and not subject:
        errors.add("subject", "is required")
    if not template:
        errors.add("template", "is required")
    check_length(errors, "template", template, 20000)
    for found in PLACEHOLDER.findall(template):
        if found not in FIELDS:
            errors.add("template", f"unknown field {found}; one of: {', '.join(FIELDS)}")
    segment = None
    try:
        segment = segments.get(actor, values.get("segment"))
    except ObjectNotFound:
        errors.add("segment", "no such segment")
    if segment is not None and segment.target != "contacts":
        errors.add("segment", "a segment of contacts")
    send_at = values.get("send_at")
    if send_at is not None and not isinstance(send_at, datetime):
        errors.add("send_at", "must be a date and time")
    errors.raise_if_any("the campaign has invalid fields")
    assert segment is not None
    campaign = Campaign(
        name=name,
        segment=segment.id,
        channel=channel,
        subject=subject,
        template=template,
        send_at=naive_utc(send_at) if send_at is not None else None,
    )
    stamp_created(campaign, actor)
    campaign.save(force_insert=True)
    return campaign


def find(actor: Actor, limit: int = 200) -> list[Campaign]:
    """Campaigns, newest first (everyone signed in reads them, as segments)."""
    return list(Campaign.objects(archived=False).order_by("-id").limit(limit))


def get(actor: Actor, campaign_id: Any) -> Campaign:
    """A campaign by id."""
    found = Campaign.objects(id=object_id(campaign_id, CampaignNotFound, "campaign")).first()
    if found is None:
        raise CampaignNotFound(f"no campaign {campaign_id}")
    return found


def _contacts(actor: Actor, campaign: Campaign) -> Any:
    segment = segments.get(actor, campaign.segment)
    where = segments.organization_filter(actor, segment.conditions)
    org_ids = list(Organization._get_collection().distinct("_id", where))
    contact_where = merge_filters(
        {"organization": {"$in": org_ids}, "archived": False}, read_filter(actor)
    )
    return Contact._get_collection().find(
        contact_where, {"emails": 1, "organization": 1, "name": 1, "position": 1, "phones": 1}
    )


def launch(actor: Actor, campaign_id: Any) -> Campaign:
    """Take the segment's contacts the actor may read: queue their e-mails, or (a call
    campaign) give each organization's manager a call task per contact."""
    _ensure_manager(actor)
    campaign = get(actor, campaign_id)
    if campaign.status != "draft":
        raise StageTransitionRefused("the campaign was launched already")
    made = (
        _make_calls(actor, campaign)
        if campaign.channel == "call"
        else _make_recipients(actor, campaign)
    )
    Campaign.objects(id=campaign.id, status="draft").update_one(
        set__status="launched", set__recipients=made, set__launched_by=actor.username
    )
    return get(actor, campaign.id)


def _make_recipients(actor: Actor, campaign: Campaign) -> int:
    made = 0
    for contact in _contacts(actor, campaign):
        address = next((e.strip().lower() for e in contact.get("emails") or [] if e), None)
        if not address:
            continue
        recipient = Recipient(
            campaign=campaign.id,
            contact=contact["_id"],
            organization=contact["organization"],
            email=address,
            token=secrets.token_urlsafe(24),
        )
        stamp_created(recipient, actor)
        with contextlib.suppress(DuplicateKeyError):
            Recipient._get_collection().insert_one(recipient.to_mongo().to_dict())
            made += 1
    for row in Recipient._get_collection().find({"campaign": campaign.id}, {"_id": 1}):
        jobs.enqueue(
            SEND_JOB,
            f"{SEND_JOB}:{row['_id']}",
            due_at=campaign.send_at,
            payload={"recipient": str(row["_id"])},
        )
    return made


def _make_calls(actor: Actor, campaign: Campaign) -> int:
    found = list(_contacts(actor, campaign))
    orgs = {
        row["_id"]: row
        for row in Organization._get_collection().find(
            {"_id": {"$in": sorted({c["organization"] for c in found})}},
            {"name": 1, "short_name": 1, "responsible": 1},
        )
    }
    made = 0
    per_manager: dict[str, int] = {}
    for contact in found:
        org = orgs.get(contact["organization"], {})
        assignee = org.get("responsible") or actor.username
        org_name = org.get("short_name") or org.get("name") or ""
        values = {
            "name": contact.get("name", ""),
            "position": contact.get("position", ""),
            "organization": org_name,
        }
        task = CallTask(
            campaign=campaign.id,
            contact=contact["_id"],
            organization=contact["organization"],
            assignee=assignee,
            contact_name=values["name"],
            organization_name=org_name,
            phones=[p for p in contact.get("phones") or [] if p][:10],
            script=render(campaign.template, values),
        )
        stamp_created(task, actor)
        with contextlib.suppress(DuplicateKeyError):
            CallTask._get_collection().insert_one(task.to_mongo().to_dict())
            made += 1
            per_manager[assignee] = per_manager.get(assignee, 0) + 1
    for manager, count in per_manager.items():
        notifications.notify(
            f"campaign:{campaign.id}:calls",
            [manager],
            title=f"Звонки по кампании «{campaign.name}»: {count} / Campaign calls: {count}",
            text=campaign.name,
            link="/ui/sales/calls",
            source={"type": "campaign", "id": str(campaign.id)},
        )
    return made


def send(recipient_id: ObjectId) -> str:
    """Send one recipient's e-mail unless sent, unsubscribed or bounced; its status after."""
    coll = Recipient._get_collection()
    doc = coll.find_one({"_id": recipient_id})
    if doc is None or doc["status"] != "pending":
        return str(doc["status"]) if doc else "missing"
    if Unsubscribe.objects(email=doc["email"]).first() is not None:
        coll.update_one(
            {"_id": doc["_id"], "status": "pending"}, {"$set": {"status": "unsubscribed"}}
        )
        return "unsubscribed"
    if not smtp.enabled():
        coll.update_one(
            {"_id": doc["_id"], "status": "pending"},
            {"$set": {"status": "skipped", "error": "no SMTP server configured"}},
        )
        return "skipped"
    campaign = Campaign.objects(id=doc["campaign"]).get()
    contact = Contact.objects(id=doc["contact"]).first()
    org = Organization.objects(id=doc["organization"]).only("name", "short_name").first()
    values = {
        "name": contact.name if contact else "",
        "position": contact.position if contact else "",
        "organization": org.display_name if org else "",
    }
    link = smtp.absolute(f"{UNSUBSCRIBE_PATH}{doc['token']}")
    body = f"{render(campaign.template, values)}\n\n--\nUnsubscribe / Отписаться: {link}"
    email = smtp.build(f"campaign:{doc['_id']}", doc["email"], campaign.subject, body)
    # The link opens a confirmation page (GET changes nothing: mail scanners fetch links);
    # mail clients unsubscribe with one POST (RFC 8058).
    email["List-Unsubscribe"] = f"<{link}>"
    email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    smtp.send(email)  # raises on failure: the job retries
    coll.update_one(
        {"_id": doc["_id"], "status": "pending"}, {"$set": {"status": "sent", "sent_at": utcnow()}}
    )
    return "sent"


@jobs.handler(SEND_JOB)
def _send_job(job: jobs.Job) -> None:
    send(ObjectId(str(job.payload["recipient"])))


def _recipient_of(token: str) -> Recipient:
    recipient = Recipient.objects(token=text(token)[:100]).first()
    if recipient is None:
        raise CampaignNotFound("no such link")
    return recipient


def unsubscribe_state(token: str) -> dict[str, Any]:
    """What the unsubscribe link's page shows (nothing changes): the address, and
    whether it has unsubscribed already."""
    recipient = _recipient_of(token)
    done = Unsubscribe.objects(email=recipient.email).only("id").first() is not None
    return {"email": recipient.email, "unsubscribed": done}


def unsubscribe(token: str) -> str:
    """Honour an unsubscribe link forever: the address gets no campaign again."""
    recipient = _recipient_of(token)
    with contextlib.suppress(DuplicateKeyError):
        Unsubscribe._get_collection().insert_one(
            {"email": recipient.email, "campaign": recipient.campaign, "at": utcnow()}
        )
    Recipient._get_collection().update_many(
        {"email": recipient.email, "status": "pending"}, {"$set": {"status": "unsubscribed"}}
    )
    Recipient._get_collection().update_one(
        {"_id": recipient.id, "unsubscribed_at": None}, {"$set": {"unsubscribed_at": utcnow()}}
    )
    return recipient.email


def record_bounce(campaign_id: Any, address: str, reason: str = "") -> int:
    """Mark a campaign's e-mail to `address` bounced; how many recipients changed."""
    result = Recipient._get_collection().update_many(
        {
            "campaign": object_id(campaign_id, CampaignNotFound, "campaign"),
            "email": address.lower(),
        },
        {"$set": {"status": "bounced", "error": text(reason)[:1000]}},
    )
    return int(result.modified_count)


def statistics(actor: Actor, campaign_id: Any) -> dict[str, Any]:
    """What became of a campaign: recipients per status, e-mails sent, bounced,
    unsubscribed (before sending, or through its link), recipients who replied, replies,
    call tasks per outcome, and the deals naming it (those the actor may read), won amount."""
    campaign = get(actor, campaign_id)
    recipients = Recipient._get_collection()
    rows = recipients.aggregate(
        [
            {"$match": {"campaign": campaign.id}},
            {
                "$group": {
                    "_id": "$status",
                    "n": {"$sum": 1},
                    "sent": {"$sum": {"$cond": [{"$ne": ["$sent_at", None]}, 1, 0]}},
                    "replied": {"$sum": {"$cond": [{"$ne": ["$replied_at", None]}, 1, 0]}},
                    "unsubscribed": {
                        "$sum": {"$cond": [{"$ne": ["$unsubscribed_at", None]}, 1, 0]}
                    },
                    "replies": {"$sum": "$replies"},
                }
            },
        ]
    )
    statuses: dict[str, int] = {}
    sent = replied = replies = unsubscribed = 0
    for row in rows:
        statuses[row["_id"]] = row["n"]
        sent, replied = sent + row["sent"], replied + row["replied"]
        replies += row["replies"]
        # Not sent for an earlier unsubscribe, or unsubscribed through this campaign's link.
        unsubscribed += row["n"] if row["_id"] == "unsubscribed" else row["unsubscribed"]
    calls: dict[str, int] = {}
    for row in CallTask._get_collection().aggregate(
        [
            {"$match": {"campaign": campaign.id}},
            {"$group": {"_id": {"$ifNull": ["$outcome", "open"]}, "n": {"$sum": 1}}},
        ]
    ):
        calls[row["_id"]] = row["n"]
    deal_rows = Deal._get_collection().aggregate(
        [
            {
                "$match": merge_filters(
                    {"campaign": campaign.id, "archived": False}, read_filter(actor)
                )
            },
            {
                "$group": {
                    "_id": "$stage_kind",
                    "n": {"$sum": 1},
                    "amount_minor": {"$sum": "$amount_minor"},
                }
            },
        ]
    )
    deals = {row["_id"]: row for row in deal_rows}
    won = deals.get("won", {"n": 0, "amount_minor": 0})
    return {
        "statuses": statuses,
        "sent": sent,
        "bounced": statuses.get("bounced", 0),
        "unsubscribed": unsubscribed,
        "replied": replied,
        "replies": replies,
        "calls": calls,
        "deals": sum(row["n"] for row in deals.values()),
        "won_deals": won["n"],
        "won_amount": to_money(won["amount_minor"]),
    }


def recipients(
    actor: Actor, campaign_id: Any, status: str | None = None, limit: int = 500
) -> list[Recipient]:
    """A campaign's recipients (sales staff and admins: they hold contacts' addresses)."""
    _ensure_manager(actor)
    campaign = get(actor, campaign_id)
    where: dict[str, Any] = {"campaign": campaign.id}
    if status:
        where["status"] = text(status)
    return list(Recipient.objects(__raw__=where).order_by("email").limit(limit))


def record_response(actor: Actor, campaign_id: Any, values: dict[str, Any]) -> Response:
    """Attribute a reply to a campaign: log it as an e-mail action on the contact's
    organization (by the caller) and count it on the recipient. A reply reported again
    (same `message_id`, or same address and text) is recorded once."""
    _ensure_manager_or_integration(actor)
    campaign = get(actor, campaign_id)
    errors = FieldErrors()
    address = text(values.get("email")).lower()
    content, message_id = text(values.get("content")), text(values.get("message_id"))
    check_length(errors, "content", content, 20000)
    check_length(errors, "message_id", message_id, 300)
    at = values.get("at") or utcnow()
    if not isinstance(at, datetime):
        errors.add("at", "must be a date and time")
    recipient = Recipient.objects(campaign=campaign.id, email=address).first()
    if recipient is None:
        errors.add("email", "not a recipient of this campaign")
    errors.raise_if_any("the response has invalid fields")
    assert recipient is not None and isinstance(at, datetime)
    at = naive_utc(at)
    digest = message_id or hashlib.sha256(f"{address}\n{content}".encode()).hexdigest()
    key = f"campaign:{campaign.id}:reply:{digest}"
    done = Response.objects(key=key).first()
    if done is not None:
        return done
    # The caller is sales staff or an integration and the address is the campaign's: the
    # action is logged with the system's authority (an inbound hook reads no organization).
    action = actions.create(
        SYSTEM,
        {
            "organization": str(recipient.organization),
            "contact": str(recipient.contact),
            "kind": "email",
            "by": actor.username,
            "at": at,
            "subject": f"Ответ на кампанию «{campaign.name}»"[:300],
            "content": content,
            "result": "reply",
        },
        source_key=key,
    )
    response = Response(
        campaign=campaign.id,
        recipient=recipient.id,
        contact=recipient.contact,
        organization=recipient.organization,
        email=address,
        at=at,
        key=key,
        action=action.id,
    )
    response.id = ObjectId()
    stamp_created(response, actor)
    try:
        Response._get_collection().insert_one(response.to_mongo().to_dict())
    except DuplicateKeyError:
        return Response.objects(key=key).get()
    Recipient._get_collection().update_one(
        {"_id": recipient.id}, {"$inc": {"replies": 1}, "$max": {"replied_at": at}}
    )
    return response


def _ensure_manager_or_integration(actor: Actor) -> None:
    if not (may_manage(actor) or "integrations" in actor.groups):
        raise RegistryForbidden("only sales staff and integrations report campaign replies")


def responses(actor: Actor, campaign_id: Any, limit: int = 200) -> list[Response]:
    """A campaign's recorded replies, newest first (sales staff and admins)."""
    _ensure_manager(actor)
    campaign = get(actor, campaign_id)
    return list(Response.objects(campaign=campaign.id).order_by("-at").limit(limit))


def calls(
    actor: Actor,
    *,
    status: str | None = "open",
    campaign: str | None = None,
    assignee: str | None = None,
    limit: int = 500,
) -> list[CallTask]:
    """Call tasks: the actor's own; sales heads and admins anyone's (`assignee`) or all."""
    where: dict[str, Any] = {}
    if actor.is_admin or HEADS in actor.groups:
        if assignee:
            where["assignee"] = text(assignee)
    else:
        where["assignee"] = actor.username
    if status:
        where["status"] = text(status)
    if campaign:
        where["campaign"] = object_id(campaign, CampaignNotFound, "campaign")
    return list(CallTask.objects(__raw__=where).order_by("organization_name", "id").limit(limit))


def get_call(actor: Actor, task_id: Any) -> CallTask:
    """A call task of the actor's (any, for sales heads and admins)."""
    where: dict[str, Any] = {"_id": object_id(task_id, CallNotFound, "call")}
    if not (actor.is_admin or HEADS in actor.groups):
        where["assignee"] = actor.username
    found = CallTask.objects(__raw__=where).first()
    if found is None:
        raise CallNotFound(f"no call task {task_id}")
    return found


def record_call(actor: Actor, task_id: Any, values: dict[str, Any]) -> CallTask:
    """Record a call's outcome: an outgoing call action on the organization, the task done."""
    task = get_call(actor, task_id)
    if task.status == "done":
        raise CallDone("the call's outcome is recorded already")
    errors = FieldErrors()
    outcome, note = text(values.get("outcome")), text(values.get("note"))
    if outcome not in CALL_OUTCOMES:
        errors.add("outcome", f"one of: {', '.join(CALL_OUTCOMES)}")
    check_length(errors, "note", note, 4000)
    errors.raise_if_any("the call has invalid fields")
    campaign = Campaign.objects(id=task.campaign).only("name").get()
    # The campaign gave the assignee this call: logged with the system's authority, by them.
    action = actions.create(
        SYSTEM,
        {
            "organization": str(task.organization),
            "contact": str(task.contact),
            "kind": "call_out",
            "by": actor.username,
            "subject": f"Кампания «{campaign.name}»"[:300],
            "content": note,
            "result": outcome,
        },
        source_key=f"campaign-call:{task.id}",
    )
    changed = CallTask._get_collection().update_one(
        {"_id": task.id, "status": "open"},
        {
            "$set": {
                "status": "done",
                "outcome": outcome,
                "note": note,
                "action": action.id,
                "done_at": utcnow(),
                "done_by": actor.username,
            }
        },
    )
    if not changed.modified_count:
        raise CallDone("the call's outcome is recorded already")
    return CallTask.objects(id=task.id).get()

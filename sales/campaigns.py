"""E-mail campaigns to a segment's contacts: one background job per recipient.

Launching materializes the recipients (one per e-mail address, unique per campaign) and
queues a job each, due at the campaign's time. A job sends only a pending recipient whose
address never unsubscribed; the status goes pending → sent after the SMTP server accepted
the e-mail, so a retried job sends nothing twice (a crash between the two may, rarely, as
in mail.notifications). Unsubscribing is kept per address forever (`sales_unsubscribes`);
bounces are recorded on the recipient and the address.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from datetime import datetime
from typing import Any

from bson import ObjectId
from mongoengine import DateTimeField, IntField, ObjectIdField, StringField
from pymongo.errors import DuplicateKeyError

from accounts.access import read_filter
from engine import jobs
from engine.actor import Actor
from engine.models import utcnow
from mail import smtp
from registry.common import (
    FieldErrors,
    check_length,
    merge_filters,
    object_id,
    stamp_created,
    text,
)
from registry.errors import ObjectNotFound, StageTransitionRefused
from registry.models import Contact, Organization, Tracked

from . import segments

SEND_JOB = "sales_campaign_email"
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
FIELDS = ("name", "position", "organization")


class CampaignNotFound(ObjectNotFound):
    code = "campaign_not_found"


class Campaign(Tracked):
    """A message to a segment's contacts, sent at `send_at`."""

    name = StringField(required=True)
    segment = ObjectIdField(required=True)
    channel = StringField(default="email", choices=("email",))
    subject = StringField(required=True)
    template = StringField(required=True)  # text with {{ name }}, {{ organization }} …
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


def render(template: str, values: dict[str, str]) -> str:
    """The template with `{{ field }}` replaced (unknown fields become empty)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def create(actor: Actor, values: dict[str, Any]) -> Campaign:
    """Make a draft campaign to a saved contacts segment."""
    errors = FieldErrors()
    name, subject, template = (text(values.get(k)) for k in ("name", "subject", "template"))
    for key, value, limit in (("name", name, 200), ("subject", subject, 300)):
        if not value:
            errors.add(key, "is required")
        check_length(errors, key, value, limit)
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
        name=name, segment=segment.id, subject=subject, template=template, send_at=send_at
    )
    stamp_created(campaign, actor)
    campaign.save(force_insert=True)
    return campaign


def get(actor: Actor, campaign_id: Any) -> Campaign:
    """A campaign by id."""
    found = Campaign.objects(id=object_id(campaign_id, CampaignNotFound, "campaign")).first()
    if found is None:
        raise CampaignNotFound(f"no campaign {campaign_id}")
    return found


def launch(actor: Actor, campaign_id: Any) -> Campaign:
    """Take the segment's contacts the actor may read as recipients and queue their e-mails."""
    campaign = get(actor, campaign_id)
    if campaign.status != "draft":
        raise StageTransitionRefused("the campaign was launched already")
    segment = segments.get(actor, campaign.segment)
    where = segments.organization_filter(actor, segment.conditions)
    org_ids = list(Organization._get_collection().distinct("_id", where))
    contact_where = merge_filters(
        {"organization": {"$in": org_ids}, "archived": False}, read_filter(actor)
    )
    made = 0
    for contact in Contact._get_collection().find(contact_where, {"emails": 1, "organization": 1}):
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
    Campaign.objects(id=campaign.id, status="draft").update_one(
        set__status="launched", set__recipients=made, set__launched_by=actor.username
    )
    return get(actor, campaign.id)


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
    link = smtp.absolute(f"/api/v1/campaigns/unsubscribe/{doc['token']}")
    body = f"{render(campaign.template, values)}\n\n--\nUnsubscribe / Отписаться: {link}"
    email = smtp.build(f"campaign:{doc['_id']}", doc["email"], campaign.subject, body)
    email["List-Unsubscribe"] = f"<{link}>"
    smtp.send(email)  # raises on failure: the job retries
    coll.update_one(
        {"_id": doc["_id"], "status": "pending"}, {"$set": {"status": "sent", "sent_at": utcnow()}}
    )
    return "sent"


@jobs.handler(SEND_JOB)
def _send_job(job: jobs.Job) -> None:
    send(ObjectId(str(job.payload["recipient"])))


def unsubscribe(token: str) -> str:
    """Honour an unsubscribe link forever: the address gets no campaign again."""
    recipient = Recipient.objects(token=text(token)[:100]).first()
    if recipient is None:
        raise CampaignNotFound("no such link")
    with contextlib.suppress(DuplicateKeyError):
        Unsubscribe._get_collection().insert_one(
            {"email": recipient.email, "campaign": recipient.campaign, "at": utcnow()}
        )
    Recipient._get_collection().update_many(
        {"email": recipient.email, "status": "pending"}, {"$set": {"status": "unsubscribed"}}
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


def statistics(actor: Actor, campaign_id: Any) -> dict[str, int]:
    """Recipients per status."""
    campaign = get(actor, campaign_id)
    rows = Recipient._get_collection().aggregate(
        [{"$match": {"campaign": campaign.id}}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}]
    )
    return {row["_id"]: row["n"] for row in rows}

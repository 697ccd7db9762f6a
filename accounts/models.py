"""Users, groups and API tokens."""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    ListField,
    ObjectIdField,
    StringField,
)

from engine.models import utcnow


class User(Document):
    """A person or an API client (machine user) who signs in."""

    username = StringField(required=True, regex=r"^[A-Za-z0-9_.@-]{1,64}$")
    full_name = StringField(default="")
    email = StringField(default="")
    password_hash = StringField(default="")  # argon2; empty for API clients
    groups = ListField(StringField())
    is_admin = BooleanField(default=False)
    is_machine = BooleanField(default=False)
    active = BooleanField(default=True)
    locale = StringField(default="ru", choices=("ru", "en"))
    created_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "users",
        "indexes": [{"fields": ["username"], "unique": True}, {"fields": ["groups"]}],
    }


class Group(Document):
    """A department or a role; a BPMN lane of the same name is its work queue."""

    name = StringField(required=True, regex=r"^[A-Za-z0-9_.-]{1,64}$")
    title = StringField(default="")

    meta = {"collection": "groups", "indexes": [{"fields": ["name"], "unique": True}]}


class ApiToken(Document):
    """A bearer token; only its hash is stored."""

    token_hash = StringField(required=True)
    username = StringField(required=True)
    name = StringField(default="")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(null=True)  # None: until revoked
    revoked = BooleanField(default=False)
    last_used_at = DateTimeField(null=True)

    meta = {
        "collection": "api_tokens",
        "indexes": [{"fields": ["token_hash"], "unique": True}, {"fields": ["username"]}],
    }


class Substitution(Document):
    """`substitute` stands in for `username` from `starts_at` until `ends_at` (UTC)."""

    username = StringField(required=True)
    substitute = StringField(required=True)
    starts_at = DateTimeField(required=True)
    ends_at = DateTimeField(required=True)
    created_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "substitutions",
        # One per absent user (PUT replaces it); looked up by substitute on every request.
        "indexes": [{"fields": ["username"], "unique": True}, {"fields": ["substitute"]}],
    }


class Department(Document):
    """A unit of the org structure: its head, its parent unit and its members."""

    name = StringField(required=True, regex=r"^[A-Za-z0-9_.-]{1,64}$")
    title = StringField(default="")
    head = StringField(null=True)
    parent = StringField(null=True)  # the parent department's name
    members = ListField(StringField())
    # Who holds which position here: [{"user": ..., "position": ...}]; a member may hold one.
    positions = ListField(DictField())

    meta = {
        "collection": "departments",
        "indexes": [
            {"fields": ["name"], "unique": True},
            {"fields": ["members"]},
            {"fields": ["head"]},
            {"fields": ["positions.position"]},
        ],
    }


class Workpage(Document):
    """A user's start page: the widgets they chose, in their order."""

    username = StringField(required=True)
    widgets = ListField(StringField())
    updated_at = DateTimeField(default=utcnow)

    meta = {"collection": "workpages", "indexes": [{"fields": ["username"], "unique": True}]}


class TaskDelegation(Document):
    """A task `delegator` handed to `delegate`; with `return_for_acceptance` the delegate's
    data comes back to the delegator, who accepts (the task completes) or rejects it."""

    task_guid = StringField(required=True)
    instance_id = ObjectIdField(required=True)
    task_name = StringField(default="")
    delegator = StringField(required=True)  # the task's assignee, to whom it returns
    delegate = StringField(required=True)
    return_for_acceptance = BooleanField(default=False)
    # delegated | awaiting_acceptance; accepting and recalling while that step runs
    state = StringField(required=True, default="delegated")
    data = StringField(default="{}")  # the delegate's form data, JSON text (any keys)
    comment = StringField(default="")  # the delegator's note, or why they rejected
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "task_delegations",
        # One per task; looked up by task on every completion, listed per person.
        "indexes": [
            {"fields": ["task_guid"], "unique": True},
            {"fields": ["delegator", "-updated_at"]},
            {"fields": ["delegate", "-updated_at"]},
        ],
    }


ALL_MODELS = (User, Group, ApiToken, Substitution, Department, Workpage, TaskDelegation)

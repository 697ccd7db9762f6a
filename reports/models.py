"""Stored report templates and report runs (the rendered files live in documents' GridFS)."""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from engine.models import utcnow

TEMPLATE_FORMATS = ("docx", "xlsx")
OUTPUT_FORMATS = ("xlsx", "docx", "pdf")
RUN_STATUSES = ("pending", "running", "done", "failed")


class ReportTemplate(Document):
    """A user's DOCX or XLSX layout of a data source, with default parameters."""

    name = StringField(required=True, max_length=200)
    format = StringField(required=True, choices=TEMPLATE_FORMATS)
    source = StringField(required=True)  # a key of reports.sources.SOURCES
    params = DictField()  # default parameter values
    description = StringField(default="", max_length=1000)
    file_id = ObjectIdField(required=True)  # the template file, a documents StoredFile
    placeholders = ListField(StringField())  # the names it uses, found at upload
    uploaded_by = StringField(required=True)
    created_at = DateTimeField(default=utcnow)
    active = BooleanField(default=True)

    meta = {"collection": "report_templates", "indexes": [{"fields": ["active", "name"]}]}


class ReportRun(Document):
    """One rendering of a report: its parameters, progress and the file it produced."""

    source = StringField(required=True)
    template_id = ObjectIdField(null=True)
    params = DictField()  # as given (strings): the job re-checks them
    format = StringField(required=True, choices=OUTPUT_FORMATS)
    status = StringField(required=True, default="pending", choices=RUN_STATUSES)
    progress = IntField(default=0, min_value=0, max_value=100)
    background = BooleanField(default=False)
    requested_by = StringField(required=True)
    requested_groups = ListField(StringField())
    requested_admin = BooleanField(default=False)
    file_id = ObjectIdField(null=True)
    filename = StringField(default="")
    size = IntField(default=0)
    error = StringField(default="")
    errors = DictField()
    rows = IntField(default=0)
    created_at = DateTimeField(default=utcnow)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)

    meta = {
        "collection": "report_runs",
        "indexes": [{"fields": ["requested_by", "-created_at"]}],
    }


ALL_MODELS = (ReportTemplate, ReportRun)

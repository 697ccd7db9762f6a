"""Reports: built-in reports and users' templates, runs (now or in the background),
downloads, and the dashboards' chart series with CSV/XLSX export."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from reports import dashboards, render, service, sources, templates
from reports.errors import ReportTemplateInvalid
from webapi.auth import current_actor
from webapi.records_schemas import Strict, UploadInput, UtcDateTime

from .records_common import allow_uploads, download, max_template_bytes, secured

PREFIX = "/reports"
blp = Blueprint("reports", __name__, description="Reports, report templates and dashboards")
blp.before_request(allow_uploads)
_NAME = validate.Length(min=1, max=200)
_VALUES = fields.Dict(
    keys=fields.String(validate=validate.Length(max=64)),
    values=fields.String(allow_none=True, validate=validate.Length(max=200)),
    load_default=dict,
)

# --------------------------------------------------------------------------- schemas


class ParamSchema(ma.Schema):
    name = fields.String()
    kind = fields.String(metadata={"description": "date | id | text | choice"})
    title = fields.String()
    required = fields.Boolean()
    choices = fields.List(fields.String())


class ColumnSchema(ma.Schema):
    key = fields.String()
    title = fields.String()
    kind = fields.String(metadata={"description": "text | int | money | number | percent"})


class SourceSchema(ma.Schema):
    key = fields.String()
    title = fields.String()
    params = fields.List(fields.Nested(ParamSchema))
    columns = fields.List(fields.Nested(ColumnSchema))
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")


class SourceListSchema(ma.Schema):
    items = fields.List(fields.Nested(SourceSchema))


class TemplateForm(Strict):
    name = fields.String(required=True, validate=_NAME)
    source = fields.String(required=True, validate=_NAME)
    description = fields.String(load_default="", validate=validate.Length(max=1000))
    params = fields.String(
        load_default="{}",
        validate=validate.Length(max=4000),
        metadata={"description": "default parameters, a JSON object"},
    )


class TemplateSchema(ma.Schema):
    id = fields.String()
    name = fields.String()
    format = fields.String()
    source = fields.String()
    params = fields.Dict()
    description = fields.String()
    placeholders = fields.List(fields.String())
    uploaded_by = fields.String()
    created_at = UtcDateTime()


class TemplateListQuery(Strict):
    source = fields.String(validate=_NAME)


class TemplateListSchema(ma.Schema):
    items = fields.List(fields.Nested(TemplateSchema))


class RunInput(Strict):
    source = fields.String(validate=_NAME)
    template_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{24}$"))
    params = _VALUES
    format = fields.String(validate=validate.OneOf(["xlsx", "docx", "pdf"]))
    background = fields.Boolean(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "render as a background job; left out or null: when the report "
            "scans a large collection"
        },
    )

    @ma.validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("source")) == bool(data.get("template_id")):
            raise ma.ValidationError("give a source or a template_id", "source")


class RunSchema(ma.Schema):
    id = fields.String()
    source = fields.String()
    template_id = fields.String(allow_none=True)
    format = fields.String()
    params = fields.Dict()
    status = fields.String(metadata={"description": "pending | running | done | failed"})
    progress = fields.Integer(metadata={"description": "percent"})
    background = fields.Boolean()
    filename = fields.String()
    size = fields.Integer()
    rows = fields.Integer()
    error = fields.String()
    errors = fields.Dict()
    created_at = UtcDateTime()
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)
    file_url = fields.Method("_file_url", allow_none=True)

    def _file_url(self, run: Any) -> str | None:
        if run.status != "done":
            return None
        return url_for("reports.RunFile", run_id=str(run.id))


class RunListSchema(ma.Schema):
    items = fields.List(fields.Nested(RunSchema))


class ChartSchema(ma.Schema):
    key = fields.String()
    title = fields.String()
    kind = fields.String()


class ChartListSchema(ma.Schema):
    items = fields.List(fields.Nested(ChartSchema))


class DatasetSchema(ma.Schema):
    key = fields.String()
    label = fields.String()
    data = fields.List(fields.Float())


class SeriesSchema(ChartSchema):
    labels = fields.List(fields.String())
    datasets = fields.List(fields.Nested(DatasetSchema))


class SeriesQuery(Strict):
    date_from = fields.Date()
    date_to = fields.Date()
    manager = fields.String(validate=validate.Length(max=64))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))


# ---------------------------------------------------------------------------- routes


@blp.route("/sources")
class Sources(MethodView):
    @secured(blp)
    @blp.response(200, SourceListSchema)
    def get(self) -> Any:
        """The built-in reports (data sources) with their parameters and columns."""
        return {"items": list(sources.SOURCES.values())}


@blp.route("/templates")
class Templates(MethodView):
    @secured(blp)
    @blp.arguments(UploadInput, location="files")
    @blp.arguments(TemplateForm, location="form")
    @blp.response(201, TemplateSchema)
    def post(self, upload: dict[str, Any], form: dict[str, Any]) -> Any:
        """Upload a DOCX or XLSX template of a data source (checked against the source)."""
        try:
            defaults = json.loads(form["params"] or "{}")
        except ValueError:
            defaults = None
        if not isinstance(defaults, dict):
            raise ReportTemplateInvalid("params is not a JSON object", {"params": ["JSON object"]})
        part = upload["file"]
        return templates.upload_template(
            current_actor(),
            form["name"],
            part.filename or "",
            part.stream,
            form["source"],
            defaults,
            form["description"],
            max_template_bytes(),
        )

    @secured(blp)
    @blp.arguments(TemplateListQuery, location="query")
    @blp.response(200, TemplateListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Active report templates, by name."""
        return {"items": templates.list_templates(args.get("source", ""))}


@blp.route("/templates/<template_id>")
class Template(MethodView):
    @secured(blp)
    @blp.response(200, TemplateSchema)
    def get(self, template_id: str) -> Any:
        """A report template with the placeholders it uses."""
        return templates.get_template(template_id)


@blp.route("/runs")
class Runs(MethodView):
    @secured(blp)
    @blp.arguments(RunInput)
    @blp.response(201, RunSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Run a report: rendered now, or queued with `background` (poll the run)."""
        return service.start(
            current_actor(),
            args.get("source", ""),
            template_id=args.get("template_id"),
            params=args["params"],
            fmt=args.get("format", ""),
            background=args["background"],
        )

    @secured(blp)
    @blp.response(200, RunListSchema)
    def get(self) -> Any:
        """The caller's latest report runs."""
        return {"items": service.list_runs(current_actor())}


@blp.route("/runs/<run_id>")
class Run(MethodView):
    @secured(blp)
    @blp.response(200, RunSchema)
    def get(self, run_id: str) -> Any:
        """A run's status, progress and (when done) its download link."""
        return service.get_run(current_actor(), run_id)


@blp.route("/runs/<run_id>/file")
class RunFile(MethodView):
    @secured(blp)
    @blp.response(200, description="The rendered report")
    def get(self, run_id: str) -> Any:
        """Download a finished report."""
        chunks, filename, mimetype, size = service.open_file(current_actor(), run_id)
        return download(chunks, filename, mimetype, size)


@blp.route("/dashboards")
class Charts(MethodView):
    @secured(blp)
    @blp.response(200, ChartListSchema)
    def get(self) -> Any:
        """The dashboard's charts."""
        return {"items": list(dashboards.CHARTS.values())}


@blp.route("/dashboards/<key>")
class Chart(MethodView):
    @secured(blp)
    @blp.arguments(SeriesQuery, location="query")
    @blp.response(200, SeriesSchema)
    def get(self, args: dict[str, Any], key: str) -> Any:
        """A chart's series for the period; `format=csv|xlsx` downloads it as a table."""
        fmt = args.pop("format")
        data = dashboards.series(current_actor(), key, args)
        if fmt == "json":
            return data
        content = dashboards.export(data, fmt)
        return download([content], f"{key}.{fmt}", render.FORMATS[fmt], len(content))

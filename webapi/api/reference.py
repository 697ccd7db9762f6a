"""GET /api/v1/docs: a browsable API reference rendered from the OpenAPI document.

Rendered on the server with no scripts and nothing loaded from elsewhere, so it works
offline and under a strict Content-Security-Policy.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template_string

bp = Blueprint("reference", __name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ info.title }} {{ info.version }} — API reference</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
.op{margin:1em 0;padding:.6em .8em;border:1px solid #e3e3e3;border-radius:6px}
.m{display:inline-block;min-width:4.5em;font-weight:600;font-family:monospace}
.path{font-family:monospace} .lock{color:#a60} small{color:#666}
table{border-collapse:collapse;margin:.4em 0} td,th{padding:.15em .6em;text-align:left;
border-bottom:1px solid #eee;font-size:.92em} code{background:#f5f5f5;padding:0 .2em}
</style></head><body>
<h1>{{ info.title }} <small>{{ info.version }}</small></h1>
<p>Machine-readable: <a href="{{ spec_url }}">{{ spec_url }}</a>. Send
<code>Authorization: Bearer &lt;token&gt;</code> (from <code>POST /api/v1/auth/token</code>) to
every endpoint marked <span class="lock">token</span>. Errors always have the body
<code>{"code", "message", "errors"}</code>.</p>
{% for tag, ops in groups %}
<h2>{{ tag }}</h2>
{% for op in ops %}<div class="op">
<div><span class="m">{{ op.method }}</span> <span class="path">{{ op.path }}</span>
{% if op.secured %}<span class="lock">token</span>{% endif %}</div>
<div>{{ op.summary }}</div>
{% if op.params %}<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>
{% for p in op.params %}<tr><td><code>{{ p.name }}</code></td><td>{{ p.in }}</td>
<td>{{ p.type }}</td><td>{{ p.description }}</td></tr>{% endfor %}</table>{% endif %}
{% if op.body %}<div><small>body:</small> <code>{{ op.body }}</code></div>{% endif %}
<div><small>responses: {{ op.responses }}</small></div>
</div>{% endfor %}{% endfor %}
</body></html>"""


def _ref_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else schema.get("type", "")


def _operations(spec: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method == "parameters":
                continue
            params = [
                {
                    "name": p.get("name"),
                    "in": p.get("in"),
                    "type": _ref_name(p.get("schema", {})),
                    "description": p.get("description", ""),
                }
                for p in [*shared, *op.get("parameters", [])]
            ]
            content = op.get("requestBody", {}).get("content", {})
            body = ", ".join(
                f"{ctype}: {_ref_name(c.get('schema', {}))}" for ctype, c in content.items()
            )
            tag = (op.get("tags") or ["other"])[0]
            groups.setdefault(tag, []).append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary") or op.get("description", ""),
                    "secured": bool(op.get("security")),
                    "params": params,
                    "body": body,
                    "responses": ", ".join(sorted(op.get("responses", {}))),
                }
            )
    return sorted(groups.items())


@bp.get("/api/v1/docs")
def reference() -> Response:
    """The API reference as one HTML page."""
    spec = current_app.extensions["crm_api"].spec.to_dict()
    html = render_template_string(
        _PAGE, info=spec.get("info", {}), groups=_operations(spec), spec_url="/api/v1/openapi.json"
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response

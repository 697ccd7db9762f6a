"""What the correspondence blueprints share: attachment downloads."""

from __future__ import annotations

from flask import Response

from mail.config import FileContent

from .records_common import download


def attachment_response(content: FileContent) -> Response:
    """An attached file version as a download that a browser never renders as a page."""
    return download(content.chunks, content.name, content.content_type, content.size, content.etag)

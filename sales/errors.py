"""Domain exceptions of sales; each derives from one of engine's error kinds."""

from __future__ import annotations

from engine.errors import Conflict
from registry.errors import ObjectNotFound


class PipelineNotFound(ObjectNotFound):
    code = "pipeline_not_found"


class DealNotFound(ObjectNotFound):
    code = "deal_not_found"


class DealClosed(Conflict):
    """A won deal is final; it changes no more."""

    code = "deal_closed"


class PipelineInUse(Conflict):
    """A stage that deals stand in cannot be removed."""

    code = "pipeline_in_use"

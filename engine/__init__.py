"""The runtime around SpiffWorkflow: definitions, instances, tasks, timers, jobs."""

from . import background as _background  # noqa: F401 - registers the engine's job handlers

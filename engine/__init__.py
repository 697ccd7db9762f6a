"""The runtime around SpiffWorkflow: definitions, instances, tasks, timers, jobs."""

# Importing these registers the engine's job handlers, in every process that runs jobs.
from . import background as _background  # noqa: F401
from . import linear_procedures as _linear_procedures  # noqa: F401
from . import macros as _macros  # noqa: F401 - registers run_macro
from . import procedure_operators as _procedure_operators  # noqa: F401 - registers them
from . import repair as _repair  # noqa: F401
from . import retention as _retention  # noqa: F401

"""Sales: pipelines of stages, deals moving through them, and the funnel figures."""

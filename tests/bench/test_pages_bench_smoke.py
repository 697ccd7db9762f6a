"""The page-time benchmark crawls the UI on the demo data at a tiny size (no timings)."""

import pytest

from bench import pages_bench

pytestmark = pytest.mark.slow


def test_the_crawler_reaches_the_main_pages_of_each_user() -> None:
    result = pages_bench.pages(repeats=1, per_route=1, limit=15)
    routes = {key.split(" ", 1)[1] for key in result.figures if key.startswith("p50_ms ")}
    assert {"/ui/mailbox", "/ui/organizations", "/ui/records", "/ui/procedures"} <= routes
    assert "/ui/organizations/<id>" in routes  # followed a link to a card
    assert all(result.figures[f"round_trips {route}"] > 0 for route in routes)

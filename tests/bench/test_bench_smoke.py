"""Every benchmark scenario runs at a tiny size, so the suite cannot rot (no timings)."""

import pytest

from bench import db_memory, scenarios

pytestmark = pytest.mark.slow


def test_lifecycle_counts_round_trips() -> None:
    result = scenarios.lifecycle(3)
    assert result.figures["round_trips_per_lifecycle"] > 0
    assert result.figures["stored_state_bytes_per_instance"] > 0


def test_long_and_wide_finish() -> None:
    result = scenarios.long_and_wide((10, 30), 4)
    assert result.figures["loop_30_state_bytes"] > result.figures["loop_10_state_bytes"]


def test_inbox_walks_pages() -> None:
    assert scenarios.inbox(400, users=5, groups=2, pages=3).figures["pages_walked"] == 3


def test_timers_fire_once() -> None:
    result = scenarios.timers(4)
    assert result.figures["timers"] == 4 and result.figures["jobs_run_twice"] == 0


def test_http_round_without_errors() -> None:
    assert scenarios.http(2, (2,)).figures["errors_2_clients"] == 0


def test_timeline_rows() -> None:
    assert scenarios.timeline(12).figures["rows"] == 12


def test_db_memory_reads_the_server_memory() -> None:
    figures = db_memory.db_memory(300, 20, 0).figures
    assert isinstance(figures["rss_bytes_per_document_6_indexes"], int)
    kinds = ("update", "insert_then_delete", "read", "session", "transaction")
    assert {f"rss_bytes_per_{k}_when_warm" for k in kinds} <= figures.keys()

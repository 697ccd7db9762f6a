"""The reports benchmark runs at a tiny size, so it cannot rot (no timings)."""

import pytest

from bench import reports_bench

pytestmark = pytest.mark.slow


def test_reports_bench_counts_what_the_reader_may_read() -> None:
    result = reports_bench.reports(200, managers=4, repeats=1)
    assert result.figures["counted_actions"] == 180  # every tenth action is not theirs
    assert result.figures["actions_pdf_round_trips"] > 0

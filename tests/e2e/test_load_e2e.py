"""The load harness behind `make load` (2,000 uploads), run here on a smaller burst so that `make test` stays short:
every upload ends complete, nothing is lost, nothing is written twice, every queue is empty."""

from __future__ import annotations

import pytest

from local.load import run_load
from local.moto_cloud import StackAssembly

pytestmark = pytest.mark.slow


def test_a_burst_of_uploads_all_complete_once_and_leave_every_queue_empty(pipeline_assembly: StackAssembly) -> None:
    # GIVEN / WHEN a burst of 150 uploads lands before the function drains the ingest queue
    report = run_load(pipeline_assembly, uploads=150)

    # THEN each was processed once and ends complete, with every variant written exactly once
    assert report.records == 150
    assert report.complete == 150
    assert report.lost == []
    assert report.written_twice == []
    assert set(report.queues_left.values()) == {0}
    assert report.ok

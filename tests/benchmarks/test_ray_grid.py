"""benchmarks.reports.ray_grid's schedule: cells in submission order on free slots, after the cells they wait for."""

import pytest

from benchmarks.reports.ray_grid import Cell, schedule


def test_schedule_runs_ready_cells_in_order_on_free_slots():
    cells = [Cell("sl", 10.0), Cell("pi", 5.0, after="sl"), Cell("eval nn", 5.0), Cell("eval pi", 1.0, after="pi")]
    assert schedule(cells, 1) == 21.0  # one slot: the sum
    # Two slots: sl and the baseline start at once; pi waits for sl (10 s), its evaluation for pi (15 s).
    assert schedule(cells, 2) == 16.0
    assert schedule(cells, 8) == 16.0  # the critical path bounds it
    with pytest.raises(ValueError, match="not in the grid"):
        schedule([Cell("pi", 1.0, after="sl")], 2)
    with pytest.raises(ValueError, match="at least 1"):
        schedule(cells, 0)

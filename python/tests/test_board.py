"""The live load board, Python face: ``Engine.load_board`` rows, typed errors, the DataFrame
helper and the plot (issue 18 part 2)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from typing import Any

import pytest

import haoyuan as hy


def plots_module() -> Any:
    """haoyuan.plots, whose matplotlib is the `plots` extra: the test is skipped without it
    (`make test-python-install` installs the pandas and arrow extras only)."""
    pytest.importorskip("matplotlib")
    from haoyuan import plots

    return plots

DAY = dt.date(2026, 11, 24)


def board_world() -> tuple[hy.Engine, int, int]:
    e = hy.Engine(start=dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    h = e.add_institution("Xiamen Children's Hospital", "tertiary", "Siming")
    c = e.add_institution("Siming Community Clinic", "community", "Siming")
    ped = e.add_department(h, "paediatrics", "Paediatrics")
    e.add_department(c, "paediatrics", "Children's clinic")
    dr = e.add_resource(ped, "doctor", "Dr Xu")
    beds = e.add_resource(ped, "bed", "Ward 3")
    slots = e.publish_slots([(dr, DAY, 480, 510, 6), (dr, DAY, 510, 540, 6), (beds, DAY, 1080, 1440, 10)])
    ids = []
    for _ in range(3):
        p = e.register_patient()
        ids.append(e.book(p, slots[0], "app").id)
    e.advance_to(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    for b in ids[:2]:
        e.check_in(b)
    return e, ped, ids[0]


def test_rows_queue_wait_free_places_and_beds() -> None:
    e, ped, first = board_world()
    rows = e.load_board("paediatrics", "Siming")
    assert [r.tier for r in rows] == ["community", "tertiary"]  # least expected wait first
    r = rows[1]
    assert (r.department, r.department_name, r.date, r.half_day) == (ped, "Paediatrics", DAY, "am")
    assert (r.queue, r.mean_service_interval_s, r.expected_wait_s) == (2, 300.0, 600)
    assert (r.free_today, r.free_beds_tonight) == (6 + 10, 10)
    e.fulfil(first)
    assert e.load_board("paediatrics", "Siming")[1].queue == 1


def test_bad_input_is_a_typed_error() -> None:
    e, _, _ = board_world()
    with pytest.raises(hy.InvalidArgument, match="unknown district"):
        e.load_board("paediatrics", "Atlantis")
    with pytest.raises(hy.InvalidArgument, match="unknown specialty"):
        e.load_board("astrology", "Siming")
    for bad in [(1, "Siming"), ("paediatrics", None), (b"paediatrics", "Siming")]:
        with pytest.raises(TypeError):
            e.load_board(*bad)  # type: ignore[arg-type]


def test_dataframe_and_plot() -> None:
    pytest.importorskip("pandas")
    e, _, _ = board_world()
    df = e.load_board_to_pandas("paediatrics", "Siming")
    assert list(df["queue"]) == [0, 2] and list(df["expected_wait_s"]) == [0, 600]
    assert str(df["date"].dtype).startswith("datetime64")
    plots = plots_module()
    out = tempfile.mkdtemp()
    for source in (df, e.load_board("paediatrics", "Siming")):
        path = plots.load_board(source, os.path.join(out, "board.png"), title="Siming paediatrics")
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    fig = plots._figure_load_board(df)
    assert "minutes" in fig.axes[0].get_xlabel() and "count" in fig.axes[1].get_xlabel()


def test_plot_title_has_units_and_the_legend_is_off_the_bars() -> None:
    plots = plots_module()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    e, _, _ = board_world()
    fig = plots._figure_load_board(e.load_board("paediatrics", "Siming"), title="Siming paediatrics")
    FigureCanvasAgg(fig).draw()  # lays the figure out: extents are final
    title = fig._suptitle.get_text()
    assert title.startswith("Siming paediatrics, 2026-11-24 am") and "(minutes)" in title and "(count)" in title
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["free places today", "free beds tonight"]
    box = legend.get_window_extent()
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent())
    # One bar per department, least expected wait at the top; the queue written on its bar.
    left = fig.axes[0]
    assert [t.get_text().replace("\n", " ") for t in left.get_yticklabels()] == [
        "Siming Community Clinic — Children's clinic", "Xiamen Children's Hospital — Paediatrics"]
    assert [round(p.get_width(), 6) for p in left.patches] == [0.0, 10.0]
    assert [t.get_text() for t in left.texts] == [" 0 waiting", " 2 waiting"]
    # A DataFrame gives the same title (its dates are Timestamps, printed as the day).
    pytest.importorskip("pandas")
    df_fig = plots._figure_load_board(e.load_board_to_pandas("paediatrics", "Siming"), title="Siming paediatrics")
    assert df_fig._suptitle.get_text() == title


def test_dataframe_helper_without_pandas_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    e, _, _ = board_world()
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now raises ImportError
    with pytest.raises(ImportError, match=r"pandas is needed for this call: pip install 'haoyuan\[pandas\]'"):
        e.load_board_to_pandas("paediatrics", "Siming")

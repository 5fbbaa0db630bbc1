"""haoyuan.plots: each chart in one call, written as a real PNG; means over all replications
with 95% CIs, titles in words with units, legends off the data, NaN shown as "not measured"."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, Dict, List

import pytest

pytest.importorskip("matplotlib")  # installed by `make test-sim` (mk/sim.mk)

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

from haoyuan import plots, sim  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
KINDS = ["utilisation_by_tier", "waiting_times", "fairness", "policy_comparison"]


@pytest.fixture(scope="module")
def runs() -> dict:
    d = sim.demand(requests_per_day=500.0, population=6_000)
    return {name: sim.simulate("small", d, name, days=3, seed=4) for name in ("unified", "islands")}


@pytest.fixture(scope="module")
def study() -> Any:
    """A compare frame: 2 policies × 3 replications (its raw runs in attrs["runs"])."""
    return sim.compare({"unified": "unified", "islands": "islands"}, demand=sim.demand(requests_per_day=400.0), days=3, replications=3, seed=1)


def is_png(path: str) -> bool:
    data = Path(path).read_bytes()
    return data.startswith(PNG) and len(data) > 5_000


def title_of(fig: Any) -> List[str]:
    """The figure's title lines: the title, then the subtitle saying n."""
    return fig._suptitle.get_text().split("\n")


def texts_of(fig: Any) -> List[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def has_error_bars(fig: Any) -> bool:
    return any(isinstance(c, ErrorbarContainer) for ax in fig.axes for c in ax.containers)


def has_bands(fig: Any) -> bool:
    return any(isinstance(c, PolyCollection) for ax in fig.axes for c in ax.collections)


class Measured(sim.SimResult):
    """A run whose summary is given: lets a test put NaN into the headline numbers whatever the
    installed native module accepts (the simulator reports unmeasurable metrics as NaN)."""

    def __init__(self, raw: Dict[str, Any], summary: Dict[str, float]):
        super().__init__(raw)
        self._summary = summary

    def summary(self) -> Dict[str, float]:
        return dict(self._summary)


def unmeasured(r: sim.SimResult) -> Measured:
    """``r`` with community clinics, district 2's served rate, tertiary waiting times and the
    median wait not measured (NaN, and None as NaN serialised to null)."""
    raw = copy.deepcopy(r.raw)
    tiers = dict(raw["by_tier"])
    tiers["community"]["utilisation"] = math.nan
    tiers["community"]["booking_rate"] = None
    raw["fairness_districts"]["groups"][1]["served_rate"] = math.nan
    for tier, lead in raw["days_to_appointment_by_tier"]:
        if tier == "tertiary":
            lead["histogram_days"] = [0] * len(lead["histogram_days"])
    raw["warnings"] = ["no tertiary booking: days to appointment not measured"]
    return Measured(raw, dict(r.summary(), days_to_appointment_p50=math.nan, utilisation_community=math.nan))


def test_each_chart_is_one_call_for_every_input_shape(runs: dict, study: Any, tmp_path: Path) -> None:
    for kind in KINDS:
        out = getattr(plots, kind)(study, tmp_path / f"{kind}.png")
        assert out == str(tmp_path / f"{kind}.png") and is_png(out), kind
    assert is_png(plots.policy_comparison(runs, tmp_path / "two.png", metrics=["booking_rate", "utilisation"]))
    assert is_png(plots.waiting_times(runs["unified"], tmp_path / "short.png", max_days=5))
    # Drawing is what costs time: the other shapes are checked on the figures themselves.
    reps = {p: sim.results_of(study, p) for p in ("unified", "islands")}
    shapes = {"replications": (reps, "n = 3"), "runs": (runs, "n = 1"), "one": (runs["unified"], "n = 1")}
    for shape, (results, n) in shapes.items():
        for kind in KINDS:
            assert n in title_of(plots._figure(kind, results))[1], (kind, shape)


def test_titles_are_words_with_units_and_say_n(study: Any) -> None:
    for kind in KINDS:
        fig = plots._figure(kind, study)
        title, subtitle = title_of(fig)
        assert "_" not in title and len(title.split()) >= 3, (kind, title)
        assert subtitle == "mean of n = 3 replications, 95% CI (Student t)", (kind, subtitle)
        for ax in fig.axes:
            assert "_" not in ax.get_title(), (kind, ax.get_title())
        # Every chart's first panel says its unit on the y axis.
        assert fig.axes[0].get_ylabel().startswith(("%", "days")), (kind, fig.axes[0].get_ylabel())
    panels = [ax.get_title().replace("\n", " ") for ax in plots._figure("policy_comparison", study, metrics=["days_to_appointment_p50", "utilisation"]).axes]
    assert panels == ["Median days to appointment", "Places attended (utilisation)"]


def test_means_and_cis_are_over_all_replications(study: Any) -> None:
    for kind in ["utilisation_by_tier", "fairness", "policy_comparison"]:
        assert has_error_bars(plots._figure(kind, study)), kind
    assert has_bands(plots._figure("waiting_times", study))
    # The community bar of unified is the mean of its 3 replications, not replication 0.
    fig = plots._figure("utilisation_by_tier", study)
    values = [dict(r.raw["by_tier"])["community"]["utilisation"] for r in sim.results_of(study, "unified")]
    bar = fig.axes[0].containers[0].patches[0]
    assert bar.get_height() == pytest.approx(100 * sum(values) / 3)
    assert bar.get_height() != pytest.approx(100 * values[0])
    # policy_comparison shows the frame's own mean and interval.
    row = study[(study["metric"] == "utilisation") & (study["policy"] == "islands")].iloc[0]
    ax = plots._figure("policy_comparison", study, metrics=["utilisation"]).axes[0]
    bars = next(c for c in ax.containers if not isinstance(c, ErrorbarContainer))
    assert bars.patches[1].get_height() == pytest.approx(100 * row["mean"])
    (caps_low, caps_high) = next(c for c in ax.containers if isinstance(c, ErrorbarContainer)).lines[1][:2]
    assert sorted([caps_low.get_ydata()[1], caps_high.get_ydata()[1]]) == pytest.approx([100 * row["ci_low"], 100 * row["ci_high"]])


def test_one_run_says_so_and_draws_no_interval(runs: dict) -> None:
    for kind in KINDS:
        fig = plots._figure(kind, runs)
        assert title_of(fig)[1] == "n = 1, no CI", kind
        assert not has_error_bars(fig) and not has_bands(fig), kind


def test_legends_are_outside_the_data(study: Any) -> None:
    for kind in ["utilisation_by_tier", "waiting_times", "fairness"]:
        fig = plots._figure(kind, study)
        FigureCanvasAgg(fig).draw()  # lays the figure out: extents are final
        assert all(ax.get_legend() is None for ax in fig.axes), kind
        (legend,) = fig.legends
        box = legend.get_window_extent()
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent()), kind
        assert [t.get_text().split(":")[0] for t in legend.get_texts()] == ["unified", "islands"]


def test_metric_labels_cover_the_summary(runs: dict) -> None:
    for metric in runs["unified"].summary():
        label, unit = plots.METRIC_LABELS[metric]
        assert "_" not in label and unit, metric
    assert plots.metric_label("some_new_metric") == ("Some new metric", "")
    assert plots.metric_scale("no_show_rate") == 100.0 and plots.metric_scale("jain_districts") == 1.0


def test_unmeasured_values_are_skipped_and_said(study: Any, tmp_path: Path) -> None:
    reps = {p: sim.results_of(study, p) for p in ("unified", "islands")}
    # islands measured nothing of it, unified missed it in replication 0 only.
    reps["islands"] = [unmeasured(r) for r in reps["islands"]]
    reps["unified"] = [unmeasured(reps["unified"][0])] + reps["unified"][1:]
    tiers = plots._figure("utilisation_by_tier", reps)
    assert texts_of(tiers).count("not measured") == 2  # islands' community bars, both panels
    assert texts_of(tiers).count("2 of 3") == 2  # unified's community bars: mean of 2 runs
    unified_community = tiers.axes[0].containers[0].patches[0].get_height()
    expected = [dict(r.raw["by_tier"])["community"]["utilisation"] for r in reps["unified"][1:]]
    assert unified_community == pytest.approx(100 * sum(expected) / 2)
    assert "islands: not measured" in texts_of(plots._figure("waiting_times", reps))
    assert texts_of(plots._figure("fairness", reps)).count("not measured") == 1
    # sim.summarise leaves an unmeasured replication out (n = 2 for unified): only islands is blank.
    assert texts_of(plots._figure("policy_comparison", reps, metrics=["days_to_appointment_p50"])).count("not measured") == 1
    for kind in KINDS:  # and the files are written without a warning (pytest runs with -W error)
        assert is_png(getattr(plots, kind)(reps, tmp_path / f"{kind}.png"))


def test_bad_arguments(runs: dict, study: Any, tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        plots.waiting_times({}, tmp_path / "x.png")
    with pytest.raises(TypeError):
        plots.fairness({"a": 1}, tmp_path / "x.png")  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        plots.utilisation_by_tier({"a": []}, tmp_path / "x.png")
    bare = study.copy()
    bare.attrs = {}  # a summary frame without its raw runs: nothing to draw tiers from
    with pytest.raises(TypeError, match="attrs"):
        plots.fairness(bare, tmp_path / "x.png")
    with pytest.raises(ValueError, match="not in the results"):
        plots.policy_comparison(study, tmp_path / "x.png", metrics=["no_such_metric"])
    assert not (tmp_path / "x.png").exists()

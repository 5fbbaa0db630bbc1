"""haoyuan.plots: each chart in one call, written as a real PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib")  # installed by `make test-sim` (mk/sim.mk)

from haoyuan import plots, sim  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs() -> dict:
    d = sim.demand(requests_per_day=700.0, population=6_000)
    return {name: sim.simulate("small", d, name, days=5, seed=4) for name in ("unified", "islands")}


def is_png(path: str) -> bool:
    data = Path(path).read_bytes()
    return data.startswith(PNG) and len(data) > 5_000


def test_each_chart_is_one_call(runs: dict, tmp_path: Path) -> None:
    assert is_png(plots.utilisation_by_tier(runs, tmp_path / "tiers.png"))
    assert is_png(plots.utilisation_by_tier(runs["unified"], tmp_path / "one.png"))
    assert is_png(plots.waiting_times(runs, tmp_path / "waits.png"))
    assert is_png(plots.fairness(runs, tmp_path / "fairness.png"))
    df = sim.compare({"unified": "unified", "islands": "islands"}, demand=sim.demand(requests_per_day=500.0, population=5_000), days=3, replications=2, seed=1)
    assert is_png(plots.policy_comparison(df, tmp_path / "compare.png"))
    assert is_png(plots.policy_comparison(df, tmp_path / "two.png", metrics=["booking_rate", "utilisation"]))


def test_bad_arguments(runs: dict, tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        plots.waiting_times({}, tmp_path / "x.png")
    with pytest.raises(TypeError):
        plots.fairness({"a": 1}, tmp_path / "x.png")  # type: ignore[dict-item]

"""haoyuan.sweep: policy × parameter × replication grids in this process, on a local process
pool and on a local Ray instance — the same frames bit for bit, every cell re-runnable alone
with sim.compare's seed rule, the statistics against a hand computation, and the errors."""

from __future__ import annotations

import doctest
import math
import os
import time
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest

import haoyuan
import haoyuan.sweep as sweep_module
from haoyuan import _native, sim
from haoyuan.sweep import SWEEP_CELLS_MAX, cell, summarise, sweep

DEMAND = sim.demand(requests_per_day=300.0)
POLICIES = {"unified": "unified", "islands": "islands"}
PARAMETERS = {"alternatives": [0, 5]}
SEED = 3
GRID = dict(demand=DEMAND, days=7, seed=SEED, progress=False)
LABELS = ["unified | alternatives=0", "unified | alternatives=5", "islands | alternatives=0", "islands | alternatives=5"]
# A local Ray small enough for a 2-core CI machine.
RAY_INIT = dict(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024 * 1024, log_to_driver=False)


def bare(df: pd.DataFrame) -> pd.DataFrame:
    """The frame without its attrs (the worker pids differ between backends by design)."""
    out = df.copy()
    out.attrs = {}
    return out


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(bare(a), bare(b), check_exact=True)


def assert_row_is(runs: pd.DataFrame, i: int, summary: dict) -> None:
    """Row ``i``'s metrics are ``summary`` (a SimResult.summary()) bit for bit, NaN (a metric
    the run could not measure) included."""
    metrics = list(runs.columns[runs.columns.get_loc("seed") + 1 :])
    assert list(summary) == metrics
    got = runs.loc[i, metrics].to_numpy(dtype=float)
    assert np.array_equal(got, np.array(list(summary.values()), dtype=float), equal_nan=True), (got, summary)


@pytest.fixture(scope="module")
def in_process() -> sweep_module.SweepResult:
    return sweep(POLICIES, PARAMETERS, 2, workers=1, **GRID)


@pytest.fixture(scope="module")
def pool() -> sweep_module.SweepResult:
    return sweep(POLICIES, PARAMETERS, 2, workers=2, **GRID)


@pytest.fixture(scope="module")
def ray_module() -> Iterator[Any]:
    """Ray, not yet initialised (the test lets sweep start it), shut down afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        # Read when ray is imported: keeps the local instance on 127.0.0.1 instead of the
        # machine's outward address (nothing but loopback traffic from a test).
        mp.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        ray = pytest.importorskip("ray")
        assert not ray.is_initialized()
        try:
            yield ray
        finally:
            ray.shutdown()


def test_pool_equals_in_process_and_a_cell_reruns_alone(in_process: Any, pool: Any) -> None:
    runs = in_process.runs
    assert_same(pool.runs, runs)
    assert_same(pool.summary, in_process.summary)
    # The pool really ran elsewhere, on both workers; workers=1 really ran here.
    pool_pids = {pid for _, pid in pool.runs.attrs["workers"]}
    assert os.getpid() not in pool_pids and len(pool_pids) == 2
    assert {pid for _, pid in runs.attrs["workers"]} == {os.getpid()}
    # Grid order: policy, then parameter value, then replication.
    expected = [(p, a, r) for p in POLICIES for a in (0, 5) for r in (0, 1)]
    assert list(runs[["policy", "alternatives", "replication"]].itertuples(index=False, name=None)) == expected
    assert runs["label"].tolist() == [lb for lb in LABELS for _ in range(2)]
    assert runs["seed"].dtype == np.uint64
    # One cell alone, built from the public API only, then from the recorded inputs.
    i = expected.index(("islands", 5, 1))
    alone = sim.simulate("small", DEMAND, sim.policy("islands", alternatives=5), 7, seed=_native.sim_replication_seed(SEED, 1))
    assert_row_is(runs, i, alone.summary())
    assert_row_is(runs, i, sim.simulate(**cell(pool, i)).summary())
    assert int(runs.loc[i, "seed"]) == cell(runs, i)["seed"] == _native.sim_replication_seed(SEED, 1)


def test_cells_are_compare_runs_on_common_random_numbers(in_process: Any) -> None:
    """sim.compare's seed rule: the presets' own alternatives (unified 5, islands 0) are
    compare's runs, bit for bit; and replication r has one seed across the grid."""
    runs = in_process.runs
    assert (runs.groupby("replication")["seed"].nunique() == 1).all()
    assert runs.loc[runs["replication"] == 0, "seed"].iloc[0] != runs.loc[runs["replication"] == 1, "seed"].iloc[0]
    cmp = sim.compare(POLICIES, region="small", demand=DEMAND, days=7, replications=2, seed=SEED, progress=False)
    preset_alternatives = {"unified": 5, "islands": 0}
    for run in cmp.attrs["runs"]:
        sel = runs[
            (runs["policy"] == run["policy"])
            & (runs["alternatives"] == preset_alternatives[run["policy"]])
            & (runs["replication"] == run["replication"])
        ]
        assert len(sel) == 1
        assert int(sel["seed"].iloc[0]) == run["seed"]
        assert_row_is(runs, sel.index[0], dict(run["summary"]))


def test_ray_backend_equals_local_on_two_workers(ray_module: Any, pool: Any) -> None:
    ray = ray_module
    # max_calls=4: a worker retires after 4 cells, so the 8 cells need at least two workers
    # whatever Ray's scheduling (left alone it may keep one warm worker for quick tasks).
    res = sweep(POLICIES, PARAMETERS, 2, backend="ray", ray_init=RAY_INIT, ray_options={"max_calls": 4}, **GRID)
    assert ray.is_initialized()  # sweep started it, with ray_init
    assert_same(res.runs, pool.runs)
    assert_same(res.summary, pool.summary)
    assert res.summary.attrs["backend"] == "ray"
    pids = [pid for _, pid in res.runs.attrs["workers"]]
    assert len(pids) == 8 and len(set(pids)) >= 2 and os.getpid() not in pids
    # A running Ray is used as it is: ray_init only applies when sweep starts Ray.
    one = sweep({"unified": "unified"}, None, 1, backend="ray", ray_init={"num_cpus": 64}, **dict(GRID, days=1))
    assert ray.cluster_resources()["CPU"] == 2
    assert one.runs.loc[0, "seed"] == _native.sim_replication_seed(SEED, 0)
    # A cell's error comes back typed, not as a hang.
    with pytest.raises(haoyuan.InvalidArgument, match="requests_per_day"):
        sweep({"unified": "unified"}, {"demand.requests_per_day": [-1.0]}, 1, backend="ray", **dict(GRID, days=1))


def test_paired_difference_by_hand(in_process: Any) -> None:
    runs = in_process.runs
    metrics = list(runs.columns[runs.columns.get_loc("seed") + 1 :])
    assert "served_rate" in metrics and len(metrics) > 10

    def by_hand(v: pd.Series) -> tuple:
        """mean, std, n and the 95% interval's half width over the measured (non-NaN) values."""
        x = v.dropna().to_numpy(dtype=float)
        n = len(x)
        mean = x.mean() if n else math.nan
        std = x.std(ddof=1) if n > 1 else math.nan
        return mean, std, n, sim.t_quantile_975(n - 1) * std / math.sqrt(n) if n > 1 else math.nan

    def check(summary: pd.DataFrame, base_label: str) -> None:
        assert summary.attrs["baseline"] == base_label
        assert summary["label"].unique().tolist() == LABELS
        base = runs[runs["label"] == base_label].set_index("replication")
        measured = 0
        for label in LABELS:
            g = runs[runs["label"] == label].set_index("replication")
            s = summary[summary["label"] == label].set_index("metric").loc[metrics]
            assert (s["policy"] == label.split(" | ")[0]).all()
            assert (s["alternatives"] == int(label.rsplit("=", 1)[1])).all()
            for m in metrics:
                mean, std, n, half = by_hand(g[m])
                dmean, _, _, dhalf = by_hand(g[m] - base.loc[g.index, m])  # paired by replication
                want = dict(mean=mean, std=std, n=n, ci_low=mean - half, ci_high=mean + half,
                            diff_mean=dmean, diff_ci_low=dmean - dhalf, diff_ci_high=dmean + dhalf)  # fmt: skip
                got = s.loc[m, list(want)].to_numpy(dtype=float)
                np.testing.assert_allclose(got, list(want.values()), rtol=1e-12, atol=1e-15, equal_nan=True, err_msg=f"{label} {m}")
                measured += n == 2
            if label == base_label:
                assert (s["diff_mean"].dropna() == 0).all()
            elif LABELS[1] in (label, base_label):
                # Same patients, but alternatives offered in a shared pool against none (or
                # none that matter: an island has nowhere else to send a patient): some
                # metric moves.
                assert (s["diff_mean"].abs() > 0).any()
        assert measured > len(LABELS) * len(metrics) // 2  # mostly real numbers, not NaN

    check(in_process.summary, LABELS[0])
    # Another baseline without re-running: a policy name means its first grid point.
    check(summarise(runs, "islands"), "islands | alternatives=0")
    check(summarise(runs, LABELS[3]), LABELS[3])


def test_parameters_reach_the_engine(in_process: Any) -> None:
    runs = in_process.runs
    for i in runs.index:
        assert cell(runs, i)["policy"]["alternatives"] == runs.loc[i, "alternatives"]
        assert cell(runs, i)["policy"]["unified_pool"] == (runs.loc[i, "policy"] == "unified")
    # Same patients (same seed), other rule: the numbers move.
    metrics = list(runs.columns[runs.columns.get_loc("seed") + 1 :])
    a0 = runs[runs["label"] == LABELS[0]][metrics].to_numpy()
    a5 = runs[runs["label"] == LABELS[1]][metrics].to_numpy()
    assert not np.array_equal(a0, a5, equal_nan=True)
    # Demand, region and nested policy paths; a NumPy grid; values kept as given.
    res = sweep(
        {"unified": "unified"},
        {"demand.requests_per_day": np.array([100.0, 200.0]), "region.districts": [2], "engine.overbooking.ratio": (0.1,)},
        1,
        days=1,
        workers=1,
        progress=False,
    )
    r = res.runs
    assert r["demand.requests_per_day"].tolist() == [100.0, 200.0] and r["region.districts"].tolist() == [2, 2]
    c0, c1 = cell(r, 0), cell(r, 1)
    assert (c0["demand"]["requests_per_day"], c1["demand"]["requests_per_day"]) == (100.0, 200.0)
    assert c0["demand"]["no_show"] == sim.demand("default")["no_show"]  # the rest of the preset
    assert c0["region"]["districts"] == c1["region"]["districts"] == 2
    assert c0["policy"]["engine"]["overbooking"]["ratio"] == 0.1
    assert r.attrs["cells"][0]["region"] is r.attrs["cells"][1]["region"]  # not copied per cell
    assert r.loc[0, "served_rate"] != r.loc[1, "served_rate"] or r.loc[0, "utilisation"] != r.loc[1, "utilisation"]
    assert_row_is(r, 1, sim.simulate(**c1).summary())


class Fickle(sim.CustomPolicy):
    """Takes the last offer (a load-spreading alternative) for its first 200 choices, then the
    first: a hook with state, which must not carry over from one cell to the next."""

    def __init__(self) -> None:
        self.calls = 0

    def choose(self, ctx: Any, offers: Any) -> Any:
        self.calls += 1
        return (len(offers) - 1 if self.calls <= 200 else 0) if offers else None


def test_simulate_keywords_progress_and_baseline_argument(capsys: pytest.CaptureFixture[str]) -> None:
    kw = dict(demand=DEMAND, days=1, seed=SEED, workers=1)
    plain = sweep(POLICIES, None, 2, baseline="islands", progress=True, **kw)
    err = capsys.readouterr().err
    assert "sweep" in err and "4/4" in err and "cell" in err
    assert plain.summary.attrs["baseline"] == "islands"
    assert_same(plain.summary, summarise(plain.runs, "islands"))
    # hooks and warmup_days reach every cell, each cell gets its own copy of the hooks (the
    # second replication does not inherit the first one's state), and a cell's arguments
    # carry them: each cell re-runs alone to the same numbers.
    hooks = Fickle()
    other = sweep({"unified": "unified"}, None, 2, hooks=hooks, warmup_days=9, progress=False, **kw)
    assert hooks.calls == 0
    for i in (0, 1):
        c = cell(other, i)
        assert isinstance(c["hooks"], Fickle) and c["hooks"].calls == 0 and c["warmup_days"] == 9
        assert_row_is(other.runs, i, sim.simulate(**c).summary())
    assert cell(other, 0)["hooks"].calls == 0  # the re-runs used copies too
    metrics = list(plain.runs.columns[plain.runs.columns.get_loc("seed") + 1 :])
    a, b = plain.runs.loc[0, metrics].to_numpy(float), other.runs.loc[0, metrics].to_numpy(float)
    assert not np.array_equal(a, b, equal_nan=True)


def test_bad_input_is_a_typed_error_at_once() -> None:
    def bad(exc: type, match: str, *args: Any, **kw: Any) -> None:
        t = time.perf_counter()
        with pytest.raises(exc, match=match):
            sweep(*args, **{"progress": False, **kw})
        assert time.perf_counter() - t < 5, "refused before running anything"

    invalid = (ValueError, haoyuan.InvalidArgument)
    for e in invalid:
        bad(e, "at least one policy", {})
    bad(TypeError, "dict name", ["unified"])
    bad(TypeError, "list of values", POLICIES, {"alternatives": 5})
    bad(TypeError, "list of values", POLICIES, {"alternatives": "05"})
    bad(ValueError, "has no values", POLICIES, {"alternatives": []})
    bad(ValueError, "'local', 'ray'", POLICIES, backend="dask")
    for reps in (0, -1, True, 2.0):
        bad(ValueError, "replications", POLICIES, None, reps)
    bad(ValueError, f"more than SWEEP_CELLS_MAX = {SWEEP_CELLS_MAX:,}", POLICIES, {"alternatives": list(range(1000))}, 51)
    bad(ValueError, "no section 'nope'", POLICIES, {"engine.nope.ratio": [0.1]})
    bad(ValueError, "dotted path", POLICIES, {"engine..ratio": [0.1]})
    bad(ValueError, "names no field", POLICIES, {"demand": [1]})
    bad(ValueError, "clash", POLICIES, {"seed": [1]})
    bad(ValueError, "unified \\| alternatives=-1", POLICIES, {"alternatives": [-1]})  # the engine refuses it
    bad(ValueError, "alternativez", POLICIES, {"alternativez": [1]})
    bad(ValueError, "label 'unified \\| alternatives=1'", POLICIES, {"alternatives": [1, 1]})
    bad(ValueError, "baseline 'nobody'", POLICIES, baseline="nobody")
    bad(ValueError, "workers", POLICIES, workers=0)
    bad(ValueError, "apply to backend='ray'", POLICIES, ray_init={"num_cpus": 1})
    bad(ValueError, "workers applies", POLICIES, backend="ray", workers=2)
    bad(ValueError, "days", POLICIES, days=0)
    bad(ValueError, "seed", POLICIES, seed=-1)
    bad(TypeError, "unexpected keyword", POLICIES, replication=2)
    bad(ValueError, "warmup_days", POLICIES, warmup_days=-1)
    bad(TypeError, "hooks must pickle", POLICIES, hooks=Unpicklable())
    with pytest.raises(ValueError, match="not the index"):
        cell(_fake_runs(), 5)
    with pytest.raises(ValueError, match="no attrs"):
        cell(pd.DataFrame({"x": [1]}), 0)


class Unpicklable(sim.CustomPolicy):
    def __reduce__(self) -> Any:
        raise TypeError("no pickling")


def _fake_runs() -> pd.DataFrame:
    df = pd.DataFrame({"x": [1]})
    df.attrs["cells"] = [dict(region={}, demand={}, policy={}, days=1, seed=0)]
    return df


def test_a_failing_cell_in_the_pool_raises_its_error() -> None:
    # The engine refuses the demand only when the cell runs, in a worker process: the typed
    # error comes back and the queued cells are dropped.
    with pytest.raises(haoyuan.InvalidArgument, match="requests_per_day"):
        sweep({"unified": "unified"}, {"demand.requests_per_day": [-5.0, 100.0, 200.0, 300.0]}, 1, days=1, workers=2, progress=False)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(sweep_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0

"""haoyuan.sweep — policy × parameter × replication grids, on local processes or a Ray cluster.

:func:`sweep` runs every policy of a dict at every combination of parameter values for
``replications`` replications, and returns two tidy DataFrames — one row per cell, and the
means, 95% confidence intervals and paired differences against a baseline per grid point —
the same whatever ran the cells: this process, a pool of local processes, or the tasks of a
Ray cluster.

Seeds (common random numbers). Replication *r* of a sweep seeded with ``seed`` runs every cell
with the simulator seed ``sim.replication_seed(seed, r)`` (that is,
``haoyuan._native.sim_replication_seed``) — the rule :func:`haoyuan.sim.compare` uses — so
every policy and parameter value of replication *r* sees the same patients and the same dice,
and the differences between cells are the policies', not the noise's. Each raw row carries its ``seed``; :func:`cell` gives the exact ``sim.simulate``
arguments of any row, so one cell can be re-run alone and gives the same numbers bit for bit.

    >>> import numpy as np
    >>> from haoyuan import sim
    >>> from haoyuan.sweep import sweep, cell
    >>> summary, runs = sweep({"unified": "unified", "islands": "islands"}, {"alternatives": [0, 5]},
    ...                       replications=2, demand=sim.demand(requests_per_day=100.0), days=2,
    ...                       seed=1, workers=1, progress=False)
    >>> len(runs)  # policy × alternatives × replication
    8
    >>> print(*runs.loc[5, ["policy", "alternatives", "replication", "label"]], sep=" / ")
    islands / 0 / 1 / islands | alternatives=0
    >>> int(runs.loc[5, "seed"]) == sim.replication_seed(1, 1) == int(runs.loc[1, "seed"])
    True
    >>> again = sim.simulate(**cell(runs, 5)).summary()  # that one cell alone: every metric, bit for bit
    >>> np.array_equal(list(again.values()), runs.loc[5, list(again)].astype(float), equal_nan=True)
    True
    >>> summary.attrs["baseline"]
    'unified | alternatives=0'
    >>> row = summary[(summary["label"] == "islands | alternatives=5") & (summary["metric"] == "served_rate")]
    >>> int(row["n"].iloc[0]), bool(row["ci_low"].iloc[0] <= row["mean"].iloc[0] <= row["ci_high"].iloc[0])
    (2, True)

On a Ray cluster, the same call with ``backend="ray"``: see :func:`sweep` and the README.
"""

from __future__ import annotations

import collections
import copy
import itertools
import math
import numbers
import os
import pickle
import socket
import sys
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from . import _native

__all__ = ["BACKENDS", "SWEEP_CELLS_MAX", "InvalidSweep", "SweepResult", "cell", "summarise", "sweep"]


def _sim() -> Any:
    """haoyuan.sim, imported at call time: sim.py imports this module to re-export ``sweep``,
    and an import of sim up here would leave one of the two half-initialised whichever the user
    imports first. (A worker process, too, then imports only what a cell needs.)"""
    from . import sim

    return sim


#: The backends :func:`sweep` accepts.
BACKENDS: Tuple[str, ...] = ("local", "ray")

#: The largest grid (policies × parameter combinations × replications) one sweep runs: beyond
#: it the bookkeeping alone (a row, a seed and the inputs of every cell) grows past what a
#: notebook holds comfortably, and a typo such as ``list(range(10**6))`` fails at once instead
#: of queueing a week of work. Split a larger study into several sweeps.
SWEEP_CELLS_MAX: int = 100_000

# Columns of the raw frame besides the parameters and the metrics (a parameter may not be
# named like one of them).
_RESERVED = ("policy", "label", "replication", "seed", "metric")


class InvalidSweep(_native.InvalidArgument, ValueError):
    """A bad argument of :func:`sweep`: a ``haoyuan.InvalidArgument`` (code 10, like every
    argument the engine refuses) that is also a ``ValueError``."""


def _bad(msg: str) -> InvalidSweep:
    from . import _invalid

    # Shaped exactly like the package's own InvalidArgument (message, code, detail, fields).
    proto = _invalid(msg)
    e = InvalidSweep(*proto.args)
    e.__dict__.update(proto.__dict__)
    return e


def _check_int(value: Any, lo: int, hi: int, name: str) -> int:
    # As haoyuan._int: a bool or a float is refused, a NumPy integer is an integer.
    if isinstance(value, bool) or type(value).__name__ == "bool_" or not isinstance(value, numbers.Integral):
        raise _bad(f"{name} must be an integer in {lo} ..= {hi}, got {type(value).__name__} {value!r}")
    if not lo <= int(value) <= hi:
        raise _bad(f"{name} {value} is out of range {lo} ..= {hi}")
    return int(value)


def _plain(v: Any) -> Any:
    """NumPy scalars as Python ones: they cross into the engine's JSON and into labels."""
    item = getattr(v, "item", None)
    if item is not None and type(v).__module__ == "numpy":
        return item()
    return v


def _column(values: List[Any]) -> Any:
    """A parameter's column: pandas infers the dtype of scalars, and a value that is itself a
    list or dict (``engine.no_show.ladder_days``) stays one object per row."""
    import pandas as pd

    if any(isinstance(v, (list, tuple, dict)) for v in values):
        out = pd.Series([None] * len(values), dtype=object)
        for i, v in enumerate(values):
            out.iat[i] = v
        return out
    return pd.Series(values)


def _fmt(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


_TARGETS = ("policy", "demand", "region")


def _split_path(name: Any) -> Tuple[str, List[str]]:
    """``"engine.overbooking.ratio"`` → ``("policy", ["engine", "overbooking", "ratio"])``;
    a ``demand.`` / ``region.`` (or ``policy.``) prefix names the dict it applies to."""
    if not isinstance(name, str):
        raise TypeError(f"parameter names are dotted paths (str), got {type(name).__name__} {name!r}")
    keys = name.split(".")
    if any(not k for k in keys):
        raise _bad(f"parameter {name!r} is not a dotted path such as 'engine.overbooking.ratio'")
    if keys[0] in _TARGETS and len(keys) > 1:
        return keys[0], keys[1:]
    if keys[0] in ("demand", "region"):
        raise _bad(f"parameter {name!r} names no field of the {keys[0]} (e.g. 'demand.requests_per_day')")
    return "policy", keys


def _set_path(base: Mapping[str, Any], target: str, keys: Sequence[str], value: Any, name: str) -> Dict[str, Any]:
    """A deep copy of ``base`` with the nested key ``keys`` set to ``value``. Every key on the
    way must exist (a typo is an error here, not a silently ignored new key); the last may be
    new, for the maps such as ``engine.overbooking.by_department`` — a misspelt field there is
    refused by the engine's own parsing, which knows every field."""
    out = copy.deepcopy(dict(base))
    node: Any = out
    for depth, k in enumerate(keys[:-1]):
        if not isinstance(node, dict) or k not in node or not isinstance(node[k], dict):
            where = ".".join(keys[:depth]) or "the top level"
            have = sorted(node) if isinstance(node, dict) else []
            raise _bad(f"parameter {name!r}: the {target} has no section {k!r} at {where} (it has {have})")
        node = node[k]
    node[keys[-1]] = copy.deepcopy(value)
    return out


def _resolve(spec: Any, what: str) -> Dict[str, Any]:
    """A region or demand argument as a full dict (a preset name through ``sim.region`` /
    ``sim.demand``, called positionally), so every cell's inputs can be recorded."""
    if isinstance(spec, str):
        return dict(getattr(_sim(), what)(spec))
    if isinstance(spec, Mapping):
        return copy.deepcopy(dict(spec))
    raise TypeError(f"{what} must be a preset name or a dict, got {type(spec).__name__}")


class _Progress:
    """A tqdm bar over cells. (``sim._progress_bar`` draws days of one run, with a day unit and
    a (done, total) callback; a sweep counts whole cells.)"""

    def __init__(self, enabled: Optional[bool], total: int):
        if enabled is None:
            # As sim's own bars: a terminal, or a notebook (whose stderr is no terminal).
            interactive = getattr(_sim(), "_interactive", None)
            enabled = interactive() if interactive is not None else sys.stderr.isatty()
        self.bar: Any = None
        self.plain = False
        self.done, self.total = 0, total
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - depends on the environment
            self.plain = True
            return
        self.bar = tqdm(total=total, desc="sweep", unit="cell")

    def step(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.plain:  # pragma: no cover - depends on the environment
            sys.stderr.write(f"\rsweep {self.done}/{self.total} cells")
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.plain:  # pragma: no cover - depends on the environment
            sys.stderr.write("\n")


# One cell's work, in whatever process runs it: (region, demand, policy, days, seed, the other
# simulate keywords: hooks, warmup_days) → (the summary's (metric, value) pairs in the engine's
# fixed order, (host, pid) of the worker).
Task = Tuple[Dict[str, Any], Dict[str, Any], Dict[str, Any], int, int, Dict[str, Any]]
Outcome = Tuple[List[Tuple[str, float]], Tuple[str, int]]


def _run_cell(task: Task) -> Outcome:
    region, demand, policy, days, seed, extra = task
    if "hooks" in extra:
        # A private copy of the hooks for each cell, on every backend: the cells that share a
        # process (in-process, a pool's chunk, a reused Ray worker) would otherwise share a
        # stateful hook, and the numbers would depend on how the cells were scheduled.
        extra = dict(extra, hooks=pickle.loads(pickle.dumps(extra["hooks"])))
    raw = _native.sim_simulate(region, demand, policy, days, seed, None, **extra)
    return list(_native.sim_summary(raw).items()), (socket.gethostname(), os.getpid())


def _ray_cell(region: Any, demand: Any, policy: Any, days: int, seed: int, extra: Any) -> Outcome:
    # Runs inside a Ray worker: haoyuan is imported there (it must be installed on every node).
    return _run_cell((region, demand, policy, days, seed, extra))


def _run_inprocess(tasks: List[Task], progress: _Progress) -> Iterator[Outcome]:
    for task in tasks:
        yield _run_cell(task)
        progress.step()


def _run_local(tasks: List[Task], workers: int, progress: _Progress) -> Iterator[Outcome]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # "spawn": fresh interpreters. Forking this process is unsafe — the engine's rayon pool, a
    # progress bar or the caller's own threads may be running — and spawn exists everywhere.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        # map yields in submission order whatever the completion order; chunks cut the
        # round trips of a large grid of short cells.
        chunk = max(1, min(32, len(tasks) // (workers * 8)))
        for out in pool.map(_run_cell, tasks, chunksize=chunk):
            yield out
            progress.step()
    except BrokenProcessPool as e:
        raise RuntimeError(
            "a sweep worker process died; in a script, a sweep with workers > 1 must run under "
            "`if __name__ == '__main__':` (each worker imports the main module anew)"
        ) from e
    finally:
        # On an error (or Ctrl-C) drop the queued cells instead of running them all first.
        pool.shutdown(wait=True, cancel_futures=True)


def _run_ray(tasks: List[Task], init: Mapping[str, Any], options: Mapping[str, Any], progress: _Progress) -> Iterator[Outcome]:
    # Ray reports usage statistics over the network unless told not to, and the variable is
    # read when ray is imported and when it starts a cluster.
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    try:
        import ray
    except ImportError as e:
        raise ImportError("backend='ray' needs Ray: pip install 'haoyuan[ray]'") from e
    if not ray.is_initialized():
        # With no address this starts a local Ray, or joins the cluster named by RAY_ADDRESS.
        ray.init(**init)
    # Each cell is one task of one CPU (a run is single-threaded); options may override that
    # (num_cpus, resources, runtime_env, max_calls, ...). ray.remote(...) rather than
    # .options(...), which refuses max_calls.
    remote = ray.remote(**{"num_cpus": 1, **options})(_ray_cell)
    # Every distinct input dict goes to the object store once, not once per cell.
    stored: Dict[int, Any] = {}

    def ref(obj: Any) -> Any:
        if obj is None:
            return None
        if id(obj) not in stored:
            stored[id(obj)] = ray.put(obj)
        return stored[id(obj)]

    refs = [remote.remote(ref(r), ref(d), ref(p), days, seed, ref(x)) for r, d, p, days, seed, x in tasks]
    done = 0
    try:
        for done, r in enumerate(refs):
            # In grid order: the rows' order never depends on which task finished first.
            yield ray.get(r)
            progress.step()
        done = len(refs)
    finally:
        # Stop the cells not yet finished (an error or Ctrl-C ends the sweep), never one that
        # has: cancelling a task whose reply is being processed trips a check inside Ray
        # (ray-project/ray#54527: "Check failed: it != submissible_tasks_.end()", which
        # aborted the whole process once in `make test` right after a failing cell).
        rest = refs[done:]
        if rest:
            _, pending = ray.wait(rest, num_returns=len(rest), timeout=0)
            for r in pending:
                try:
                    ray.cancel(r)
                except Exception:  # pragma: no cover - a task that finished meanwhile
                    pass


# What sweep passes on to every cell's simulate, and the Ray backend's own.
_SIMULATE_KWARGS = ("hooks", "warmup_days")
_RUN_KWARGS = _SIMULATE_KWARGS + ("ray_init", "ray_options")


def sweep(
    policies: Mapping[str, Any],
    parameters: Optional[Mapping[str, Any]] = None,
    replications: int = 5,
    *,
    region: Any = "small",
    demand: Any = "default",
    days: int = 7,
    seed: int = 0,
    baseline: Optional[str] = None,
    backend: str = "local",
    workers: Optional[int] = None,
    progress: Optional[bool] = None,
    **run_kwargs: Any,
) -> "SweepResult":
    """Run the grid ``policies × product(parameters' values) × replications`` and summarise it.

    ``policies``: name → policy spec (what ``sim.simulate(policy=...)`` takes: ``"unified"``,
    ``"islands"``, a dict, a ``haoyuan.Policy``). ``parameters``: dotted path → list of values
    (a list, tuple, range or 1-D NumPy array). A path goes into the policy dict
    (``"alternatives"``, ``"engine.overbooking.ratio"``; a ``"policy."`` prefix is allowed), or
    into the demand or region dict with a ``"demand."`` / ``"region."`` prefix
    (``"demand.requests_per_day"``, ``"region.tertiary.institutions"``). Each value replaces
    the key in a deep copy of the full ``sim.policy(spec)`` / ``sim.demand(demand)`` /
    ``sim.region(region)`` dict; every section on the path must exist.

    Cell (policy, values, replication *r*) runs ``sim.simulate(region, demand, policy, days,
    seed=sim.replication_seed(seed, r))`` (``haoyuan._native.sim_replication_seed``): every
    cell of replication *r* gets the same seed (common random numbers, the rule of
    ``sim.compare``).

    ``backend``:

    * ``"local"`` — a pool of ``workers`` fresh processes ("spawn"; default ``os.cpu_count()``,
      at most one per cell); ``workers=1`` runs in this process. A script that sweeps with
      more than one worker needs the usual ``if __name__ == "__main__":`` guard.
    * ``"ray"`` — one Ray task per cell (Ray is imported on first use: ``pip install
      'haoyuan[ray]'``; haoyuan must be installed on every node). Uses the running Ray if
      ``ray.init`` was called, else calls ``ray.init(**ray_init)`` — with no ``address`` it
      joins the cluster of ``RAY_ADDRESS``, or starts a local one — and leaves it running for
      the next sweep (``ray.shutdown()`` ends it). ``ray_options`` are the task's
      ``ray.remote(...)`` options (default ``num_cpus=1``).

    Other keyword arguments: ``warmup_days`` and ``hooks`` go to every cell's
    ``sim.simulate`` (a custom policy: each cell gets its own copy, so it must pickle);
    ``ray_init``, ``ray_options`` (backend ``"ray"`` only). ``progress``: a tqdm.auto bar over
    cells (default: in a terminal or a notebook, as the bars of ``sim.simulate``).

    Returns a :class:`SweepResult`, the pair ``(summary, runs)`` of DataFrames:

    * ``summary`` — :func:`summarise` of ``runs``: :func:`haoyuan.sim.summarise`'s statistics
      per grid point, in grid order:
      ``policy``, one column per parameter, ``label`` (``"unified | alternatives=0"``),
      ``metric``, ``mean, std, n, ci_low, ci_high`` (Student t, 95%) and ``diff_mean,
      diff_ci_low, diff_ci_high``, the paired difference (replication by replication) to
      ``baseline`` — a label, or a policy name (that policy at the first value of every
      parameter); default the first grid point. ``attrs``: ``baseline``, ``seed``, ``backend``.
    * ``runs`` — one row per cell in grid order (policy, then parameter values, then
      replication): ``policy``, the parameters, ``label``, ``replication``, ``seed`` (uint64)
      and every metric of ``SimResult.summary()``; the same frame, bit for bit, whatever the
      backend and whichever cell finished first. ``attrs["cells"]``: each row's inputs
      (``region``, ``demand``, ``policy`` dicts, ``days``, ``seed``; :func:`cell` gives them
      as ``sim.simulate`` arguments); ``attrs["workers"]``: each row's ``(host, pid)``. The
      full ``SimResult`` of a cell is not kept (a large grid would not fit): re-run the cell.

    Raises :class:`InvalidSweep` (a ``haoyuan.InvalidArgument`` and a ``ValueError``) for a
    bad value — no policies, an empty value list, replications < 1, an unknown backend, a
    grid of more than ``SWEEP_CELLS_MAX`` cells, a path that does not exist, a policy the
    engine refuses — and ``TypeError`` for arguments of the wrong kind, before any cell runs.
    An error of a running cell (say, a demand value the engine refuses) is re-raised and the
    cells still queued are dropped.
    """
    import numpy as np
    import pandas as pd

    # -- arguments, cheapest checks first, before anything is built ------------------------
    unknown = sorted(set(run_kwargs) - set(_RUN_KWARGS))
    if unknown:
        raise TypeError(f"sweep() got unexpected keyword argument(s) {unknown}; it takes {list(_RUN_KWARGS)} besides its own")
    if not isinstance(policies, Mapping):
        raise TypeError(f"policies must be a dict name → policy, got {type(policies).__name__}")
    if not policies:
        raise _bad("sweep needs at least one policy")
    for name in policies:
        if not isinstance(name, str):
            raise TypeError(f"policy names must be str, got {type(name).__name__} {name!r}")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, Mapping):
        raise TypeError(f"parameters must be a dict path → list of values, got {type(parameters).__name__}")
    grid: List[Tuple[str, str, List[str], List[Any]]] = []  # (name, target, keys, values)
    for name, values in parameters.items():
        target, keys = _split_path(name)
        if name in _RESERVED:
            raise _bad(f"parameter {name!r} would clash with the column of that name")
        if isinstance(values, np.ndarray) and values.ndim == 1:
            values = values.tolist()
        if not isinstance(values, (list, tuple, range)):
            raise TypeError(f"parameter {name!r} needs a list of values, got {type(values).__name__} {values!r}")
        if len(values) == 0:
            raise _bad(f"parameter {name!r} has no values")
        grid.append((name, target, keys, [_plain(v) for v in values]))
    replications = _check_int(replications, 1, SWEEP_CELLS_MAX, "replications")
    cells_n = len(policies) * math.prod(len(v) for *_, v in grid) * replications
    if cells_n > SWEEP_CELLS_MAX:
        shape = " × ".join([str(len(policies))] + [str(len(v)) for *_, v in grid] + [str(replications)])
        raise _bad(f"the grid has {shape} = {cells_n:,} cells, more than SWEEP_CELLS_MAX = {SWEEP_CELLS_MAX:,}; split the study")
    if backend not in BACKENDS:
        raise _bad(f"unknown backend {backend!r}; expected one of {', '.join(map(repr, BACKENDS))}")
    if backend != "ray":
        given = [k for k in ("ray_init", "ray_options") if k in run_kwargs]
        if given:
            raise _bad(f"{', '.join(given)} apply to backend='ray', not {backend!r}")
    elif workers is not None:
        raise _bad("workers applies to backend='local'; Ray sizes itself (ray_init, ray_options)")
    if workers is not None:
        workers = _check_int(workers, 1, 1 << 16, "workers")
    ray_init = run_kwargs.get("ray_init") or {}
    ray_options = run_kwargs.get("ray_options") or {}
    for key, val in (("ray_init", ray_init), ("ray_options", ray_options)):
        if not isinstance(val, Mapping):
            raise TypeError(f"{key} must be a dict of keyword arguments, got {type(val).__name__}")
    extra = {k: run_kwargs[k] for k in _SIMULATE_KWARGS if run_kwargs.get(k) is not None}
    if "warmup_days" in extra:
        extra["warmup_days"] = _check_int(extra["warmup_days"], 0, _sim().DAYS_MAX, "warmup_days")
    if "hooks" in extra:
        try:
            pickle.dumps(extra["hooks"])
        except Exception as e:
            raise TypeError(f"hooks must pickle (each cell runs with its own copy): {e}") from e
    days = _check_int(days, 1, _sim().DAYS_MAX, "days")
    seed = _check_int(seed, 0, 2**64 - 1, "seed")

    # -- the grid: policies × value combinations, each with its input dicts -----------------
    base_region, base_demand = _resolve(region, "region"), _resolve(demand, "demand")
    base_policy: Dict[str, Dict[str, Any]] = {}
    for name, spec in policies.items():
        try:
            base_policy[name] = _sim().policy(spec)
        except _native.InvalidArgument as e:
            raise _bad(f"policy {name!r}: {getattr(e, 'detail', e)}") from e
    combos = list(itertools.product(*(v for *_, v in grid)))
    # A dict that no parameter varies stays the one base dict; a varied one is built once per
    # combination of its own parameters' values (a region varied alone: once per region value,
    # shared by every policy and replication), not once per cell.
    built: Dict[Tuple[str, Tuple[str, ...]], Dict[str, Any]] = {}

    def varied(target: str, base: Dict[str, Any], combo: Tuple[Any, ...], tag: str = "") -> Dict[str, Any]:
        mine = [(g, v) for g, v in zip(grid, combo) if g[1] == target]
        key = (f"{target}:{tag}", tuple(repr(v) for _, v in mine))
        if key not in built:
            out = base
            for (pname, _, keys, _), value in mine:
                out = _set_path(out, target, keys, value, pname)
            if target == "policy" and mine:
                try:
                    # The engine's own parsing: a bad value or a misspelt field, found here
                    # rather than in a worker. (Regions and demands are parsed when they run.)
                    out = _native.sim_policy(out)
                except _native.InvalidArgument as e:
                    where = tag + " | " + ", ".join(f"{g[0]}={_fmt(v)}" for g, v in mine)
                    raise _bad(f"{where}: {getattr(e, 'detail', e)}") from e
            built[key] = out
        return built[key]

    points = []  # (policy, values, label, {"region", "demand", "policy": dict})
    for name in policies:
        for combo in combos:
            dicts = {
                "region": varied("region", base_region, combo),
                "demand": varied("demand", base_demand, combo),
                "policy": varied("policy", base_policy[name], combo, name),
            }
            label = name if not grid else name + " | " + ", ".join(f"{g[0]}={_fmt(v)}" for g, v in zip(grid, combo))
            points.append((name, combo, label, dicts))
    labels = [p[2] for p in points]
    if len(set(labels)) != len(labels):
        dup = next(lb for lb, n in collections.Counter(labels).items() if n > 1)
        raise _bad(f"two grid points share the label {dup!r} (a value listed twice?)")
    if baseline is None:
        base_label = labels[0]
    elif baseline in labels:
        base_label = baseline
    elif baseline in policies:
        base_label = next(p[2] for p in points if p[0] == baseline)
    else:
        raise _bad(f"baseline {baseline!r} is neither a policy ({list(policies)}) nor a grid label such as {labels[0]!r}")

    seeds = [int(_native.sim_replication_seed(seed, r)) for r in range(replications)]
    tasks: List[Task] = []
    for _, _, _, d in points:
        tasks.extend((d["region"], d["demand"], d["policy"], days, s, extra) for s in seeds)

    # -- run -------------------------------------------------------------------------------
    bar = _Progress(progress, len(tasks))
    try:
        if backend == "ray":
            runner: Iterator[Outcome] = _run_ray(tasks, ray_init, ray_options, bar)
        else:
            n = min(workers or os.cpu_count() or 1, len(tasks))
            runner = _run_inprocess(tasks, bar) if n == 1 else _run_local(tasks, n, bar)
        outcomes = list(runner)
    finally:
        bar.close()

    # -- the raw frame -----------------------------------------------------------------------
    metrics = [k for k, _ in outcomes[0][0]]
    for i, (pairs, _) in enumerate(outcomes):
        if [k for k, _ in pairs] != metrics:
            raise RuntimeError(
                f"cell {i} returned the metrics {[k for k, _ in pairs]}, cell 0 {metrics}: "
                "are different versions of haoyuan installed on the workers?"
            )
    rep = replications
    cols: Dict[str, Any] = {"policy": [p[0] for p in points for _ in range(rep)]}
    for j, (pname, *_rest) in enumerate(grid):
        cols[pname] = _column([p[1][j] for p in points for _ in range(rep)])
    cols["label"] = [p[2] for p in points for _ in range(rep)]
    cols["replication"] = np.tile(np.arange(rep, dtype=np.int64), len(points))
    cols["seed"] = np.tile(np.array(seeds, dtype=np.uint64), len(points))
    values = np.array([[v for _, v in pairs] for pairs, _ in outcomes], dtype=np.float64)
    for j, m in enumerate(metrics):
        cols[m] = values[:, j]
    runs = pd.DataFrame(cols)
    cells = _sim()._Runs(
        dict(region=d["region"], demand=d["demand"], policy=d["policy"], days=days, seed=s, **extra)
        for _, _, _, d in points
        for s in seeds
    )
    workers_of = _sim()._Runs(w for _, w in outcomes)
    runs.attrs.update(cells=cells, workers=workers_of)

    summary = summarise(runs, base_label)
    summary.attrs.update(seed=seed, backend=backend)
    return SweepResult(summary, runs)


def summarise(runs: Any, baseline: Optional[str] = None) -> Any:
    """The summary of a sweep's raw frame (``runs``, or rows selected from it): for each grid
    point (``label``) and metric, :func:`haoyuan.sim.summarise`'s mean, std, n, 95% interval
    and paired difference to ``baseline`` — a label, or a policy name (its first grid point);
    default the first label. :func:`sweep` returns exactly this; call it again to change the
    baseline without re-running anything."""
    import numpy as np

    cols = list(runs.columns)
    if not all(c in cols for c in _RESERVED if c != "metric") or cols.index("seed") != cols.index("label") + 2:
        raise _bad("not a sweep's raw frame (columns policy, the parameters, label, replication, seed, the metrics)")
    params = cols[cols.index("policy") + 1 : cols.index("label")]
    metrics = cols[cols.index("seed") + 1 :]
    if len(runs) == 0:
        raise _bad("the frame has no rows")
    labels = list(dict.fromkeys(runs["label"]))
    if baseline is None:
        base_label = labels[0]
    elif baseline in labels:
        base_label = baseline
    elif baseline in set(runs["policy"]):
        base_label = runs.loc[runs["policy"] == baseline, "label"].iloc[0]
    else:
        raise _bad(f"baseline {baseline!r} is neither a policy nor a label of the frame (such as {labels[0]!r})")
    values = runs[metrics].to_numpy(dtype=np.float64)
    records = [
        dict(policy=label, replication=int(r), summary=dict(zip(metrics, row.tolist())))
        for label, r, row in zip(runs["label"], runs["replication"], values)
    ]
    # sim.summarise takes its first policy as the baseline, and the labels stand in for
    # policies; the sort is stable, so the others keep their order.
    records.sort(key=lambda rec: rec["policy"] != base_label)
    summary = _sim().summarise(records).rename(columns={"policy": "label"})
    order = {label: i for i, label in enumerate(labels)}
    summary = summary.iloc[np.argsort(summary["label"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)
    first = runs.drop_duplicates("label").set_index("label")[["policy", *params]]
    summary = first.loc[summary["label"]].reset_index(drop=True).join(summary)
    summary.attrs = {"baseline": base_label}
    return summary


class SweepResult(NamedTuple):
    """What :func:`sweep` returns: two DataFrames (``summary, runs = sweep(...)`` unpacks them).

    A pair rather than one frame carrying the other in ``attrs`` (as ``sim.compare`` carries
    its list of runs): pandas deep-copies ``attrs`` on every operation and compares them with
    ``==`` when it concatenates, which a DataFrame inside ``attrs`` turns into an error (even
    printing a wide frame concatenates)."""

    #: Per grid point and metric: ``policy``, one column per parameter, ``label``, ``metric``,
    #: ``mean, std, n, ci_low, ci_high, diff_mean, diff_ci_low, diff_ci_high``; ``attrs``:
    #: ``baseline`` (its label), ``seed``, ``backend``.
    summary: Any
    #: Per cell, in grid order: ``policy``, one column per parameter, ``label``,
    #: ``replication``, ``seed`` (uint64) and every metric of ``SimResult.summary()``;
    #: ``attrs``: ``cells`` (each row's inputs, see :meth:`cell`) and ``workers`` (each row's
    #: ``(host, pid)``), lists indexed by the row's index label.
    runs: Any

    def cell(self, i: int) -> Dict[str, Any]:
        """``cell(self.runs, i)``: the ``sim.simulate`` arguments of raw row ``i``."""
        return cell(self.runs, i)

    def __repr__(self) -> str:
        return (
            f"SweepResult({len(self.runs)} cells, {self.summary['label'].nunique()} grid points, "
            f"baseline {self.summary.attrs.get('baseline')!r}; .summary, .runs, .cell(i))"
        )


# typing.NamedTuple builds ``__new__`` in a namespace of its own, where this module's postponed
# annotations (``from __future__ import annotations``) cannot be resolved: documentation tools
# (``make docs``: pdoc) would fail on ``Any``. Give it the resolved ones.
SweepResult.__new__.__annotations__ = {"summary": Any, "runs": Any, "return": SweepResult}


def cell(runs: Any, i: int) -> Dict[str, Any]:
    """The ``sim.simulate`` keyword arguments (``region``, ``demand``, ``policy`` dicts,
    ``days``, ``seed``, and ``warmup_days`` / ``hooks`` if the sweep had them) of the raw row
    with index label ``i`` — in ``runs``, a sweep's raw frame or any frame selected from it,
    or a :class:`SweepResult`: ``sim.simulate(**cell(runs, i))`` re-runs that one cell alone
    and gives the sweep's numbers. The dicts and the hooks are fresh copies, as each cell got."""
    if isinstance(runs, SweepResult):
        runs = runs.runs
    cells = getattr(runs, "attrs", {}).get("cells")
    if cells is None:
        raise _bad("not a sweep's raw frame (it has no attrs['cells'])")
    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(cells):
        raise _bad(f"row {i!r} is not the index of one of the sweep's {len(cells)} cells")
    out = {k: (copy.deepcopy(v) if isinstance(v, dict) else v) for k, v in cells[i].items()}
    if "hooks" in out:
        out["hooks"] = pickle.loads(pickle.dumps(out["hooks"]))
    return out

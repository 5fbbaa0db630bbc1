"""haoyuan.sim — the policy simulator: the real engine, driven by synthetic patients.

A data scientist asks *what happens to waiting times, fairness and no-shows in our city if we
change the rules?* and answers it on the very engine a hospital runs. Python describes the
region, the demand and the policy (plain dicts) and analyses the result; the loop itself runs
in Rust with the GIL released, so a Dongguan-sized week takes seconds, not hours.

    >>> from haoyuan import sim
    >>> r = sim.simulate(sim.region("small"), sim.demand(requests_per_day=300), "unified", days=7, seed=1)
    >>> 0 < r.utilisation <= 1
    True

Inputs (each a dict; the presets are the place to start, keyword overrides are merged in —
records such as ``no_show={"base": 0.2}`` merge field by field, while maps keyed by names, such
as ``specialty_weights`` or ``channel_mix``, are replaced whole, so a preset's mix can be swapped):

* ``region(preset="small", **overrides)`` — institutions by tier and district, departments,
  doctors with weekly rosters, beds, exam devices. ``region("dongguan")`` holds DOMAIN.md's
  numbers: 2,300 institutions (nearly all community clinics), about 52,000 slots a weekday,
  a 14-day horizon.
* ``demand(preset="default", **overrides)`` — arrivals by hour with the 15:00 release spike,
  the preference for tertiary hospitals, the department mix, referrals with urgencies,
  no-shows growing with lead time and past no-shows (about 15%), cancellations, channels.
* ``policy(base="unified", **overrides)`` — the engine's rules (``engine=``, a dict of
  ``haoyuan.Policy`` fields, or a ``haoyuan.Policy``), whether the city shares one pool
  (``unified_pool``) or runs "information islands", and how many load-spreading alternatives
  a patient is shown.

Running: ``simulate(region, demand, policy, days, seed)`` returns a :class:`SimResult`; the
same inputs and seed give the same result bit for bit. A run is a **warm-up** followed by
``days`` measured days: the engine starts with its whole booking horizon published, patients
ask during the warm-up exactly as later, slots keep being published past the last measured day,
and only the measured days count — so the numbers are those of a city that has been running,
not of its first morning. The default warm-up (``warmup_days=None``) is long enough for every
policy rule to act: the booking windows, plus a first no-show suspension, and at least the
no-show history window (``default_warmup_days``; a shorter one is allowed and noted in
``result.warnings``). A metric a run cannot measure (no release request, nobody served) is NaN,
never 0, with the reason in ``result.warnings``. ``compare({name: policy}, ...,
replications=k)`` runs every policy on common random numbers (replication *r* has the same
patients and the same dice under every policy), in parallel, and returns a DataFrame of means
and 95% confidence intervals. Plots are in :mod:`haoyuan.plots`.

Runs from data: ``simulate(..., arrivals=table)`` and ``compare(..., arrivals=table)`` replay
recorded requests (a table of arrivals, or ``arrivals_from_journal(haoyuan.read_journal(dir),
start)``) instead of the synthetic demand, so a city can replay its own last month under another
policy; ``calibrate_no_show(bookings)`` fits the demand's no-show model to recorded bookings.
The table's columns and what a replay keeps of the demand: :mod:`haoyuan.calibrate`.

Custom policies — the hook
--------------------------
Pass ``hooks=`` an object with either or both of these methods (subclass :class:`CustomPolicy`
for the defaults). They are called from the simulation loop with the GIL taken back, so they
are slower than the built-in rules, but anything goes:

``choose(ctx, offers) -> int | None``
    Which place the patient takes. ``ctx`` is a dict (``patient``, ``day``, ``district``,
    ``specialty``, ``class`` — ``emergency``/``urgent``/``routine``/``follow_up``/``general`` —,
    ``channel``, ``tolerance_days``, ``past_no_shows``); ``offers`` a list of dicts (``slot``,
    ``department``, ``institution``, ``tier``, ``district``, ``days_ahead``, ``start_min``,
    ``free``, ``preferred``), the preferred institution's earliest place first, then the
    engine's load-spreading alternatives. Return an index, or ``None`` to book nothing.

``overbook(ctx, offer, booked, capacity) -> bool``
    Called when the chosen place lies beyond the slot's capacity (inside the policy's
    overbooking allowance): whether to accept it for this patient.

An exception raised by a hook stops the run and is re-raised.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import _native

__all__ = [
    "CustomPolicy",
    "SimResult",
    "compare",
    "default_warmup_days",
    "demand",
    "policy",
    "region",
    "replication_seed",
    "report",
    "simulate",
    "summarise",
    "sweep",
    "t_quantile_975",
    "DAYS_MAX",
]

DAYS_MAX: int = int(_native.SIM_DAYS_MAX)

Spec = Union[str, Mapping[str, Any]]


# Dict-valued fields that are maps keyed by names (a mix, weights per id): an override replaces
# them whole. Every other dict is a record of fixed fields, merged field by field.
_MAPS = frozenset(
    {
        "specialty_weights",
        "channel_mix",
        "engine.overbooking.by_department",
        "engine.overbooking.by_resource",
    }
)


def _merge(base: Dict[str, Any], overrides: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """Merge ``overrides`` into ``base``: records merge recursively, maps and everything else
    are replaced."""
    out = dict(base)
    for k, v in overrides.items():
        path = prefix + k
        if isinstance(v, Mapping) and isinstance(out.get(k), dict) and path not in _MAPS:
            out[k] = _merge(out[k], v, path + ".")
        else:
            out[k] = dict(v) if isinstance(v, Mapping) else v
    return out


def region(preset: str = "small", /, **overrides: Any) -> Dict[str, Any]:
    """A region description: the preset (``"small"`` or ``"dongguan"``) with ``overrides``
    merged in, e.g. ``region("dongguan", districts=10)``, ``region(tertiary={"institutions": 4})``
    or ``region("small", name="Xiamen")`` (the preset is positional, so every field of the
    region, ``name`` included, can be overridden)."""
    return _merge(_native.sim_region(preset), overrides)


def demand(preset: str = "default", /, **overrides: Any) -> Dict[str, Any]:
    """A demand description: the preset (``"default"`` or ``"dongguan"``) with ``overrides``
    merged in, e.g. ``demand(requests_per_day=800, no_show={"base": 0.2})``. A mix replaces the
    preset's whole: ``demand(specialty_weights={"internal_medicine": 1.0},
    other_specialty_weight=0.0)`` asks for internal medicine only."""
    return _merge(_native.sim_demand(preset), overrides)


def policy(base: Any = "unified", /, **overrides: Any) -> Dict[str, Any]:
    """A simulated policy: ``base`` is ``"unified"``, ``"islands"``, a dict or a
    ``haoyuan.Policy``; ``overrides`` are merged in, e.g.
    ``policy("unified", engine={"overbooking": {"ratio": 0.1}})``."""
    return _merge(_native.sim_policy(base), overrides)


def replication_seed(seed: int, replication: int) -> int:
    """The simulator seed of replication ``replication`` of a study seeded ``seed``: what
    :func:`compare` and :func:`sweep` run each replication with, under every policy (common
    random numbers). Any cell of a study can be re-run alone:
    ``simulate(..., seed=replication_seed(seed, r))``."""
    return int(_native.sim_replication_seed(seed, replication))


def default_warmup_days(region: Spec = "small", demand: Spec = "default", policy: Any = "unified") -> int:
    """The default warm-up of a run (days simulated before the first measured day): the longest
    booking window, plus the first no-show suspension, and at least the demand's no-show history
    window — long enough for every policy rule to act before anything is measured."""
    return int(_native.sim_default_warmup_days(region, demand, policy))


def _num(v: Any) -> float:
    """A metric of a raw result: ``None`` (JSON's NaN, a metric the run could not measure) is NaN."""
    return math.nan if v is None else float(v)


class CustomPolicy:
    """Base class of a custom policy hook (see the module documentation). The defaults behave
    like the built-in rules would for a patient without preferences: take the first offer (the
    preferred institution's earliest place) and accept every overbooked place."""

    def choose(self, ctx: Dict[str, Any], offers: List[Dict[str, Any]]) -> Optional[int]:
        return 0

    def overbook(self, ctx: Dict[str, Any], offer: Dict[str, Any], booked: int, capacity: int) -> bool:
        return True


class SimResult:
    """The metrics of one run. ``raw`` is the full result dict; the common numbers are
    attributes, and the tables are DataFrames (pandas is imported on first use)."""

    def __init__(self, raw: Dict[str, Any]):
        self.raw = raw

    def __repr__(self) -> str:
        warn = f", warnings={len(self.warnings)}" if self.warnings else ""
        return (
            f"SimResult(days={self.raw['days']}, warmup_days={self.raw['warmup_days']}, seed={self.raw['seed']}, "
            f"utilisation={self.utilisation:.3f}, booking_rate={self.booking_rate:.3f}, "
            f"no_show_rate={self.no_show_rate:.3f}, elapsed_s={self.elapsed_s:.2f}{warn})"
        )

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    @property
    def utilisation(self) -> float:
        return _num(self.raw["total"]["utilisation"])

    @property
    def booking_rate(self) -> float:
        """Share of released places that were booked (the seeds' "10%" problem)."""
        return _num(self.raw["total"]["booking_rate"])

    @property
    def no_show_rate(self) -> float:
        return _num(self.raw["no_show_rate"])

    @property
    def warnings(self) -> List[str]:
        """Why a metric is NaN, or why the numbers may not be steady (a short warm-up)."""
        return list(self.raw.get("warnings", []))

    @property
    def elapsed_s(self) -> float:
        return float(self.raw["elapsed_s"])

    def summary(self) -> Dict[str, float]:
        """The headline numbers (what :func:`compare` tabulates), in a fixed order; NaN where
        the run could not measure one. Bit for bit what :func:`compare` reports for the run."""
        return dict(_native.sim_summary(self.raw))

    def same_as(self, other: "SimResult") -> bool:
        """Whether two runs gave the same result (everything but the wall-clock time)."""
        a = dict(self.raw, elapsed_s=0.0)
        b = dict(other.raw, elapsed_s=0.0)
        return a == b

    # -- tables ---------------------------------------------------------------------------

    def by_tier(self) -> "Any":
        """Places, bookings, attendance, utilisation and booking rate per tier (DataFrame)."""
        import pandas as pd

        rows = [dict(tier=t, **u) for t, u in self.raw["by_tier"]]
        return pd.DataFrame(rows).set_index("tier")

    def by_day(self) -> "Any":
        """Places, bookings, attendance, utilisation and booking rate of each measured day's
        slots, by visit date (DataFrame indexed by day, 0 = first measured day)."""
        import pandas as pd

        rows = [dict(day=d["day"], **d["usage"]) for d in self.raw["by_day"]]
        return pd.DataFrame(rows).set_index("day").astype({"utilisation": float, "booking_rate": float})

    def by_institution(self) -> "Any":
        import pandas as pd

        return pd.DataFrame(self.raw["by_institution"]).drop(columns=["specialty"])

    def by_department(self) -> "Any":
        import pandas as pd

        return pd.DataFrame(self.raw["by_department"])

    def waiting_times(self) -> "Any":
        """Bookings by whole days from booking to visit (0 ..= 30), per tier (DataFrame)."""
        import pandas as pd

        cols = {t: lead["histogram_days"] for t, lead in self.raw["days_to_appointment_by_tier"]}
        df = pd.DataFrame(cols)
        df.index.name = "days"
        return df

    def fairness(self, over: str = "districts") -> "Any":
        """Requests, served and served rate per district (or ``over="channels"``)."""
        import pandas as pd

        f = self.raw["fairness_districts" if over == "districts" else "fairness_channels"]
        df = pd.DataFrame(f["groups"]).set_index("name")
        df.attrs.update(jain=f["jain"], gini=f["gini"])
        return df

    def release(self) -> "Any":
        """Places won in the daily release by priority class."""
        import pandas as pd

        return pd.DataFrame(self.raw["release"]).set_index("class")


def _interactive() -> bool:
    """Whether someone is watching: a terminal, or a Jupyter/IPython kernel (whose stderr is
    not a terminal, but shows tqdm.auto's widget)."""
    if "ipykernel" in sys.modules or os.environ.get("JPY_PARENT_PID"):
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def _progress_bar(enabled: Optional[bool], desc: str) -> "tuple[Optional[Callable[[int, int], None]], Callable[[], None]]":
    """A ``(callback, close)`` pair drawing a tqdm.auto bar (a notebook widget in Jupyter, text
    in a terminal), or a plain one without tqdm. Default: when :func:`_interactive`."""
    if enabled is None:
        enabled = _interactive()
    if not enabled:
        return None, lambda: None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - depends on the environment
        tqdm = None
    if tqdm is not None:
        bar = tqdm(total=0, desc=desc, unit="day")

        def update(done: int, total: int) -> None:
            if bar.total != total:
                bar.total = total
            bar.n = done
            bar.refresh()

        return update, bar.close
    state = {"last": -1}

    def plain(done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1))
        if pct != state["last"]:
            state["last"] = pct
            filled = pct // 4
            sys.stderr.write(f"\r{desc} [{'#' * filled}{'.' * (25 - filled)}] {done}/{total} days")
            sys.stderr.flush()

    return plain, lambda: sys.stderr.write("\n")


def simulate(
    region: Spec = "small",
    demand: Spec = "default",
    policy: Any = "unified",
    days: int = 7,
    seed: int = 0,
    *,
    warmup_days: Optional[int] = None,
    progress: Optional[bool] = None,
    hooks: Optional[Any] = None,
    arrivals: Optional[Any] = None,
) -> SimResult:
    """Simulate ``days`` measured days after ``warmup_days`` of warm-up (default: long enough
    for every policy rule, see the module documentation) and return the metrics.
    ``region``/``demand``/``policy`` are dicts or preset names. ``progress``: draw a progress
    bar (default: in a terminal or a Jupyter notebook). ``hooks``: a custom policy (see the
    module documentation). Ctrl-C stops the run within a simulated day (KeyboardInterrupt).
    Deterministic: the same inputs and seed give the same result. ``arrivals``: recorded
    requests replayed instead of the synthetic demand — a DataFrame, dict of columns or list of
    row dicts with the columns of :mod:`haoyuan.calibrate` (``day``, ``at_s``, ``patient``,
    ``specialty``, ``kind``, ``channel``, optional ``at_release``); not with ``hooks``."""
    if arrivals is not None:
        from .calibrate import arrival_columns

        if hooks is not None:
            from . import _invalid

            raise _invalid("hooks cannot be combined with arrivals (a recorded run takes the built-in choices)")
        columns = arrival_columns(arrivals)
    callback, close = _progress_bar(progress, "simulate")
    try:
        if arrivals is not None:
            raw = _native.sim_simulate_recorded(columns, region, demand, policy, days, seed, callback, warmup_days)
        else:
            raw = _native.sim_simulate(region, demand, policy, days, seed, callback, hooks, warmup_days)
    finally:
        close()
    return SimResult(raw)


# Two-sided 95% Student t quantiles for 1 ..= 30 degrees of freedom; beyond, the normal 1.96
# is within 2% (and scipy is not a dependency for one table).
_T975 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
]  # fmt: skip


def t_quantile_975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    # Cornish-Fisher expansion around the normal quantile: accurate to 1e-3 for df > 30.
    z = 1.959963984540054
    if df > 1e6:
        return z  # the corrections are below 1e-6 (and df**2 of a float such as 1e308 overflows)
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def summarise(runs: Sequence[Mapping[str, Any]]) -> "Any":
    """Means and 95% confidence intervals (Student t over replications) of every summary
    metric, per policy: a tidy DataFrame with columns ``policy, metric, mean, std, n,
    ci_low, ci_high``. Also the paired difference to the first policy (common random numbers
    make it much tighter than the two intervals suggest): ``diff_mean, diff_ci_low,
    diff_ci_high``. A replication that could not measure a metric (NaN) is left out of it:
    ``n`` counts those that did."""
    import numpy as np
    import pandas as pd

    rows = [dict(policy=r["policy"], replication=r["replication"], **r["summary"]) for r in runs]
    wide = pd.DataFrame(rows)
    metrics = [c for c in wide.columns if c not in ("policy", "replication")]
    long = wide.melt(id_vars=["policy", "replication"], value_vars=metrics, var_name="metric")
    long["value"] = long["value"].astype(float)
    policies = list(dict.fromkeys(wide["policy"]))
    baseline = long[long["policy"] == policies[0]].set_index(["metric", "replication"])["value"]
    out = []
    for (pol, metric), g in long.groupby(["policy", "metric"], sort=False):
        # A replication that could not measure the metric (NaN) is left out: n counts the
        # replications that did; the paired difference uses the pairs measured under both.
        all_v = g["value"].to_numpy(dtype=float)
        v = all_v[~np.isnan(all_v)]
        n = len(v)
        mean = float(v.mean()) if n else math.nan
        std = float(v.std(ddof=1)) if n > 1 else math.nan
        half = t_quantile_975(n - 1) * std / math.sqrt(n) if n > 1 else math.nan
        d = g.set_index("replication")["value"] - baseline.loc[metric].reindex(g["replication"]).to_numpy()
        dn = d.to_numpy(dtype=float)
        dn = dn[~np.isnan(dn)]
        m = len(dn)
        dmean = float(dn.mean()) if m else math.nan
        dhalf = t_quantile_975(m - 1) * float(dn.std(ddof=1)) / math.sqrt(m) if m > 1 else math.nan
        out.append(
            dict(
                policy=pol, metric=metric, mean=mean, std=std, n=n, ci_low=mean - half, ci_high=mean + half,
                diff_mean=dmean, diff_ci_low=dmean - dhalf, diff_ci_high=dmean + dhalf,
            )
        )  # fmt: skip
    return pd.DataFrame(out)


class _Runs(list):
    """The raw runs kept in ``df.attrs["runs"]``: shared, not copied, by every frame derived
    from the comparison (pandas deep-copies ``attrs`` on each operation)."""

    def __deepcopy__(self, memo: Dict[int, Any]) -> "_Runs":
        return self


def compare(
    policies: Mapping[str, Any],
    region: Spec = "small",
    demand: Spec = "default",
    days: int = 7,
    replications: int = 5,
    seed: int = 0,
    *,
    warmup_days: Optional[int] = None,
    progress: Optional[bool] = None,
    arrivals: Optional[Any] = None,
) -> "Any":
    """Run every policy of ``policies`` (name → policy) for ``replications`` replications on
    common random numbers, in parallel, and return :func:`summarise`'s DataFrame. The raw
    runs (``policy``, ``replication``, ``seed``, ``result``, ``summary``) are kept in
    ``df.attrs["runs"]``; replication ``r`` ran with ``seed=replication_seed(seed, r)`` under
    every policy, so any run can be repeated alone with :func:`simulate`. ``arrivals``: recorded
    requests every policy replays (see :func:`simulate`); replications then differ only in
    the patients' dice."""
    if not policies:
        raise ValueError("compare needs at least one policy")
    if isinstance(replications, bool) or not isinstance(replications, int) or not 1 <= replications < 2**32:
        from . import _invalid

        raise _invalid(f"replications must be an integer in 1 ..= {2**32 - 1}, got {replications!r}")
    if arrivals is not None:
        from .calibrate import arrival_columns

        columns = arrival_columns(arrivals)
    callback, close = _progress_bar(progress, "compare")
    try:
        if arrivals is not None:
            runs = _native.sim_compare_recorded(
                dict(policies), columns, region, demand, days, replications, seed, callback, warmup_days
            )
        else:
            runs = _native.sim_compare(dict(policies), region, demand, days, replications, seed, callback, warmup_days)
    finally:
        close()
    df = summarise(runs)
    df.attrs["runs"] = _Runs(runs)
    return df


def results_of(df: "Any", policy: str) -> List[SimResult]:
    """The :class:`SimResult` of every replication of ``policy`` in a :func:`compare` frame."""
    return [SimResult(r["result"]) for r in df.attrs["runs"] if r["policy"] == policy]


__all__.append("results_of")


def sweep(*args: Any, **kwargs: Any) -> "Any":
    """Policies × parameter values × replications, on local processes or a Ray cluster: see
    :func:`haoyuan.sweep.sweep` (imported on first use, as Ray and process pools are)."""
    from .sweep import sweep as _sweep

    return _sweep(*args, **kwargs)


def report(*args: Any, **kwargs: Any) -> "Any":
    """One self-contained HTML page with a study's tables and plots: see
    :func:`haoyuan.report.report` (imported on first use: it needs matplotlib)."""
    from .report import report as _report

    return _report(*args, **kwargs)


def synthetic_arrivals(*args: Any, **kwargs: Any) -> "Any":
    """The requests the synthetic demand makes in a run, as an arrivals DataFrame to inspect,
    edit and replay: see :func:`haoyuan.calibrate.synthetic_arrivals`."""
    from .calibrate import synthetic_arrivals as _synthetic_arrivals

    return _synthetic_arrivals(*args, **kwargs)


def arrivals_from_journal(*args: Any, **kwargs: Any) -> "Any":
    """A journal's requests (``haoyuan.read_journal(dir)``) as an arrivals table to replay, and
    what the journal cannot say: see :func:`haoyuan.calibrate.arrivals_from_journal`."""
    from .calibrate import arrivals_from_journal as _arrivals_from_journal

    return _arrivals_from_journal(*args, **kwargs)


def calibrate_no_show(*args: Any, **kwargs: Any) -> Dict[str, Any]:
    """The demand's no-show model fitted to recorded bookings (``lead_days``, ``past_no_shows``,
    ``no_show``), to pass as ``demand(no_show=...)``: see
    :func:`haoyuan.calibrate.calibrate_no_show`."""
    from .calibrate import calibrate_no_show as _calibrate_no_show

    return _calibrate_no_show(*args, **kwargs)


__all__ += ["arrivals_from_journal", "calibrate_no_show", "synthetic_arrivals"]

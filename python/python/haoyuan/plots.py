"""haoyuan.plots — one call per chart of a simulation study, saved to PNG (matplotlib, Agg backend).

Every function takes the results of a study in any of these shapes, writes ``path`` and
returns it:

* a :func:`haoyuan.sim.compare` DataFrame (its raw runs are in ``df.attrs["runs"]``);
* a dict ``{name: [SimResult, ...]}``: the replications of each policy;
* a dict ``{name: SimResult}`` or a single :class:`~haoyuan.sim.SimResult` (one run each).

With replications, a chart shows the mean over *all* of them with a 95% Student-t confidence
interval (error bars, or a band for the waiting-time curves) and says ``n`` in its subtitle;
with one run per policy it says "n = 1, no CI". A metric a run could not measure (NaN) is left
out of the mean; a bar nobody measured reads "not measured".

    >>> import tempfile, os
    >>> from haoyuan import sim, plots
    >>> df = sim.compare({"unified": "unified", "islands": "islands"}, days=2, replications=2, seed=1)
    >>> out = tempfile.mkdtemp()
    >>> for chart in (plots.utilisation_by_tier, plots.waiting_times, plots.fairness, plots.policy_comparison):
    ...     _ = chart(df, os.path.join(out, chart.__name__ + ".png"))
    >>> sorted(os.listdir(out))
    ['fairness.png', 'policy_comparison.png', 'utilisation_by_tier.png', 'waiting_times.png']

:data:`METRIC_LABELS` maps every metric of :meth:`SimResult.summary` to words and a unit;
:func:`metric_label` also prettifies ids it does not know. :func:`haoyuan.report.report`
puts all of this into one HTML page.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit, safe in threads and CI

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .sim import SimResult, _Runs, summarise, t_quantile_975  # noqa: E402

__all__ = [
    "utilisation_by_tier",
    "waiting_times",
    "fairness",
    "policy_comparison",
    "load_board",
    "METRIC_LABELS",
    "metric_label",
    "metric_scale",
]

#: What the plotting functions accept (see the module documentation).
Results = Union[Any, SimResult, Mapping[str, SimResult], Mapping[str, Sequence[SimResult]]]
PathLike = Union[str, "os.PathLike[str]"]

TIERS = ["community", "secondary", "tertiary"]
_TIER_WORDS = {"community": "community clinics", "secondary": "secondary hospitals", "tertiary": "tertiary hospitals"}
# The simulator's priority classes (sim/src/run.rs CLASSES); referrals use the first three.
_CLASS_WORDS = {"emergency": "emergency", "urgent": "urgent", "routine": "routine", "follow_up": "follow-up", "general": "general"}

_PCT_PLACES = "% of released places"

#: Metric id → (label in words, unit). A unit starting with "%" means the metric is a fraction
#: shown ×100 (see :func:`metric_scale`). Covers every key of :meth:`SimResult.summary`.
METRIC_LABELS: Dict[str, Tuple[str, str]] = {
    "utilisation": ("Places attended (utilisation)", _PCT_PLACES),
    "booking_rate": ("Places booked (booking rate)", _PCT_PLACES),
    "overflow_per_place": ("Overbooked places", _PCT_PLACES),
    "no_show_rate": ("No-shows", "% of bookings"),
    "served_rate": ("Requests served", "% of requests"),
    "days_to_appointment_p50": ("Median days to appointment", "days"),
    "days_to_appointment_p90": ("Days to appointment, 90th percentile", "days"),
    "days_to_appointment_mean": ("Mean days to appointment", "days"),
    "jain_districts": ("Evenness of service across districts (Jain's index)", "index, 1 = even"),
    "gini_districts": ("Inequality of service across districts (Gini)", "index, 0 = even"),
    "jain_channels": ("Evenness of service across booking channels (Jain's index)", "index, 1 = even"),
    "gini_channels": ("Inequality of service across booking channels (Gini)", "index, 0 = even"),
    "suspensions_issued": ("Suspensions issued for no-shows", "suspensions"),
}
for _t in TIERS:
    METRIC_LABELS[f"utilisation_{_t}"] = (f"Places attended, {_TIER_WORDS[_t]}", _PCT_PLACES)
    METRIC_LABELS[f"booking_rate_{_t}"] = (f"Places booked, {_TIER_WORDS[_t]}", _PCT_PLACES)
    METRIC_LABELS[f"overflow_per_place_{_t}"] = (f"Overbooked places, {_TIER_WORDS[_t]}", _PCT_PLACES)
for _c, _w in _CLASS_WORDS.items():
    METRIC_LABELS[f"referral_lead_p50_{_c}"] = (f"Median referral lead time, {_w} referrals", "days")
    METRIC_LABELS[f"release_share_won_{_c}"] = (f"Release places won by {_w} requests", "% of places won at release")
del _t, _c, _w


def metric_label(metric: str) -> Tuple[str, str]:
    """``(label, unit)`` of a metric id; an unknown id is prettified and has no unit.

    >>> metric_label("days_to_appointment_p50")
    ('Median days to appointment', 'days')
    >>> metric_label("new_metric_x")
    ('New metric x', '')
    """
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    return metric.replace("_", " ").strip().capitalize(), ""


def metric_scale(metric: str) -> float:
    """The factor from a metric's value to its displayed unit: 100 for shares shown in %.

    >>> metric_scale("utilisation"), metric_scale("days_to_appointment_p50")
    (100.0, 1.0)
    """
    return 100.0 if metric_label(metric)[1].startswith("%") else 1.0


def metric_title(metric: str) -> str:
    """``"Label (unit)"``, what a chart panel or a table row is headed with."""
    label, unit = metric_label(metric)
    return f"{label} ({unit})" if unit else label


# -- inputs ----------------------------------------------------------------------------------


def _is_frame(x: Any) -> bool:
    # Duck-typed so that importing this module never imports pandas.
    return hasattr(x, "attrs") and hasattr(x, "columns")


def _replications(results: Results) -> Dict[str, List[SimResult]]:
    """Any accepted input as ``{policy: [SimResult of each replication]}``, in policy order."""
    if _is_frame(results):
        runs = getattr(results, "attrs", {}).get("runs")
        if not runs:
            raise TypeError("a DataFrame needs its raw runs in df.attrs['runs'] (as haoyuan.sim.compare returns it)")
        grouped: Dict[str, List[Tuple[int, SimResult]]] = {}
        for r in runs:
            grouped.setdefault(r["policy"], []).append((int(r["replication"]), SimResult(r["result"])))
        # Replication order is the pairing order of common random numbers: keep it stable.
        return {p: [res for _, res in sorted(rs, key=lambda x: x[0])] for p, rs in grouped.items()}
    if isinstance(results, SimResult):
        return {"run": [results]}
    if isinstance(results, Mapping) and results:
        out: Dict[str, List[SimResult]] = {}
        for name, v in results.items():
            if isinstance(v, SimResult):
                out[str(name)] = [v]
            elif isinstance(v, (list, tuple)) and v and all(isinstance(x, SimResult) for x in v):
                out[str(name)] = list(v)
            else:
                break
        else:
            return out
    raise TypeError(
        "expected a compare DataFrame, a SimResult, or a non-empty dict of name -> SimResult "
        "or name -> list of SimResult"
    )


def _runs_of(reps: Mapping[str, Sequence[SimResult]]) -> List[Dict[str, Any]]:
    """The replications as :func:`haoyuan.sim.compare`'s raw runs (what ``summarise`` takes)."""
    return [
        dict(policy=p, replication=i, seed=r.raw.get("seed"), result=r.raw, summary=r.summary())
        for p, rs in reps.items()
        for i, r in enumerate(rs)
    ]


def _summary_frame(results: Results) -> Any:
    """:func:`haoyuan.sim.summarise`'s frame of the results (the compare frame itself if given)."""
    if _is_frame(results) and "metric" in getattr(results, "columns", ()):
        return results
    reps = _replications(results)
    runs = _runs_of(reps)
    df = summarise(runs)
    df.attrs["runs"] = _Runs(runs)  # shared, not deep-copied by every filtered frame
    return df


def _num(x: Any) -> float:
    """A metric value as a float; ``None`` (NaN serialised as null) is NaN."""
    if x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _mean_ci(values: Iterable[Any]) -> Tuple[float, float, int]:
    """Mean, half-width of the 95% Student-t interval, and how many values were measured
    (NaN skipped). The half-width is NaN below two values."""
    v = np.array([_num(x) for x in values], dtype=float)
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(v.sum() / n)
    if n == 1:
        return mean, math.nan, 1
    sd = math.sqrt(float(((v - mean) ** 2).sum()) / (n - 1))
    return mean, t_quantile_975(n - 1) * sd / math.sqrt(n), n


def _n_note(ns: Iterable[int]) -> str:
    """The subtitle saying what a chart averages over."""
    ns = sorted(set(int(n) for n in ns))
    if not ns or ns[-1] <= 1:
        return "n = 1, no CI"
    if len(ns) == 1:
        return f"mean of n = {ns[0]} replications, 95% CI (Student t)"
    return f"mean of n = {ns[0]}–{ns[-1]} replications per policy, 95% CI (Student t)"


# -- drawing helpers --------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Figure:
    # A bare Figure, not pyplot: no global state to leak or close, usable from any thread.
    # Constrained layout keeps titles, tick labels and the outside legend from overlapping.
    return Figure(figsize=(width, height), layout="constrained")


def _titles(fig: Figure, title: str, ns: Iterable[int]) -> None:
    fig.suptitle(f"{title}\n{_n_note(ns)}", fontsize=12)


def _legend(fig: Figure, handles: List[Any], labels: List[str], title: str = "Policy") -> None:
    """Below the panels, outside every axes, so it never covers data."""
    if len(handles) > 1 or (labels and labels[0] != "run"):
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4), title=title, fontsize=8, title_fontsize=8, frameon=False)


def _whiskers(means: np.ndarray, halves: np.ndarray) -> np.ndarray:
    """Error bar lengths (below, above): the t interval, its lower end stopped at 0 — every
    metric drawn is a count, a share, a number of days or an index, none below 0 (with few
    replications the interval would otherwise reach negative shares)."""
    return np.vstack([np.minimum(halves, np.maximum(means, 0.0)), halves])


def _grouped_bars(
    ax: Any,
    k: int,
    npol: int,
    stats: Sequence[Tuple[float, float, int]],
    expected_n: int,
    scale: float,
    name: str,
) -> Any:
    """Policy ``k``'s bars over the groups of a panel, with CI whiskers where measured twice or
    more, and "not measured" (or "k/n measured") where values are missing."""
    width = 0.8 / npol
    xs = np.arange(len(stats)) + (k - (npol - 1) / 2) * width
    means = np.array([m for m, _, _ in stats], dtype=float) * scale
    halves = np.array([h for _, h, _ in stats], dtype=float) * scale
    ok = np.isfinite(means)
    # NaN heights would make matplotlib drop the bar silently: draw 0 and say why instead.
    bars = ax.bar(xs, np.where(ok, means, 0.0), width, color=f"C{k}", label=name)
    err = ok & np.isfinite(halves)
    if err.any():
        ax.errorbar(xs[err], means[err], yerr=_whiskers(means[err], halves[err]), fmt="none", ecolor="black", elinewidth=0.9, capsize=2.5)
    for x, (m, h, n) in zip(xs, stats):
        if n == 0:
            ax.text(x, 0.5, "not measured", rotation=90, ha="center", va="bottom", fontsize=7, color="0.35")
        elif n < expected_n:
            # Above the whisker: the mean is over the runs that measured it, say how many.
            top = (m + (h if math.isfinite(h) else 0.0)) * scale
            ax.annotate(f"{n} of {expected_n}", (x, top), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize=6, color="0.35")
    return bars


def _top(stats_lists: Iterable[Sequence[Tuple[float, float, int]]], scale: float) -> float:
    """The highest mean + half-width drawn (for the y limits)."""
    top = 0.0
    for stats in stats_lists:
        for m, h, _ in stats:
            if math.isfinite(m):
                top = max(top, (m + (h if math.isfinite(h) else 0.0)) * scale)
    return top


# -- figures ----------------------------------------------------------------------------------


def _tier_usage(r: SimResult) -> Dict[str, Dict[str, Any]]:
    return {t: u for t, u in r.raw["by_tier"]}


def _figure_utilisation_by_tier(results: Results) -> Figure:
    reps = _replications(results)
    fig = _new_figure(10, 4.8)
    axes = fig.subplots(1, 2, sharey=True)
    panels = [("utilisation", "Places attended (utilisation)"), ("booking_rate", "Places booked (booking rate)")]
    handles: List[Any] = []
    all_stats = []
    for k, (name, rs) in enumerate(reps.items()):
        usages = [_tier_usage(r) for r in rs]
        for j, (ax, (col, _)) in enumerate(zip(axes, panels)):
            stats = [_mean_ci(u.get(t, {}).get(col) for u in usages) for t in TIERS]
            all_stats.append(stats)
            bars = _grouped_bars(ax, k, len(reps), stats, len(rs), 100.0, name)
            if j == 0:
                handles.append(bars)
    top = max(100.0, _top(all_stats, 100.0))
    for ax, (_, title) in zip(axes, panels):
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(TIERS)), [_TIER_WORDS[t].capitalize().replace(" ", "\n") for t in TIERS])
        ax.set_ylim(0, top * 1.08)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0].set_ylabel(_PCT_PLACES)
    _titles(fig, "Use of released places by tier", [len(rs) for rs in reps.values()])
    _legend(fig, handles, list(reps))
    return fig


def _figure_waiting_times(results: Results, max_days: int = 15) -> Figure:
    reps = _replications(results)
    fig = _new_figure(12, 4.4)
    axes = fig.subplots(1, len(TIERS), sharey=True)
    handles: List[Any] = []
    days = None
    for k, (name, rs) in enumerate(reps.items()):
        shares_by_tier: Dict[str, List[np.ndarray]] = {t: [] for t in TIERS}
        for r in rs:
            for t, lead in r.raw["days_to_appointment_by_tier"]:
                counts = np.array([_num(c) for c in lead["histogram_days"]], dtype=float)[: max_days + 1]
                counts = np.nan_to_num(counts)
                total = counts.sum()
                if t in shares_by_tier and total > 0:  # no booking in this tier: nothing to share out
                    shares_by_tier[t].append(100.0 * counts / total)
        for ax, t in zip(axes, TIERS):
            shares = shares_by_tier[t]
            if not shares:
                ax.text(0.5, 0.9 - 0.08 * k, f"{name}: not measured", transform=ax.transAxes, ha="center", fontsize=8, color=f"C{k}")
                continue
            stack = np.vstack(shares)
            days = np.arange(stack.shape[1])
            stats = [_mean_ci(stack[:, d]) for d in range(stack.shape[1])]
            mean = np.array([s[0] for s in stats])
            half = np.array([s[1] for s in stats])
            (line,) = ax.plot(days, mean, marker="o", markersize=3, linewidth=1.4, color=f"C{k}", label=name)
            if len(shares) >= 2:
                ax.fill_between(days, np.clip(mean - half, 0, None), mean + half, color=f"C{k}", alpha=0.22, linewidth=0)
            if ax is axes[0]:
                handles.append(line)
        if len(handles) <= k:  # the policy has no line in the first panel: legend it anyway
            handles.append(axes[0].plot([], [], marker="o", color=f"C{k}", label=name)[0])
    for ax, t in zip(axes, TIERS):
        ax.set_title(_TIER_WORDS[t].capitalize(), fontsize=10)
        ax.set_xlabel("days from booking to visit")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(-0.5, max_days + 0.5)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("% of bookings")
    _titles(fig, "Days from booking to visit", [len(rs) for rs in reps.values()])
    _legend(fig, handles, list(reps))
    return fig


def _group_rates(r: SimResult, over: str) -> Dict[str, float]:
    f = r.raw["fairness_districts" if over == "districts" else "fairness_channels"]
    return {str(g["name"]): _num(g.get("served_rate")) for g in f["groups"]}


def _figure_fairness(results: Results) -> Figure:
    reps = _replications(results)
    first = next(iter(reps.values()))[0]
    groups = {over: list(_group_rates(first, over)) for over in ("districts", "channels")}
    width = min(22.0, max(12.0, 4.0 + 0.28 * len(groups["districts"]) * max(1, len(reps)) / 2 + 0.28 * len(groups["channels"])))
    fig = _new_figure(width, 4.9)
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [max(3, len(groups["districts"])), max(1, len(groups["channels"]))]}, sharey=True)
    handles: List[Any] = []
    labels: List[str] = []
    all_stats = []
    for k, (name, rs) in enumerate(reps.items()):
        index: Dict[str, Tuple[float, float]] = {}
        for j, (ax, over) in enumerate(zip(axes, ("districts", "channels"))):
            per_run = [_group_rates(r, over) for r in rs]
            stats = [_mean_ci(p.get(g) for p in per_run) for g in groups[over]]
            all_stats.append(stats)
            bars = _grouped_bars(ax, k, len(reps), stats, len(rs), 100.0, name)
            key = "fairness_districts" if over == "districts" else "fairness_channels"
            index[over] = (_mean_ci(r.raw[key]["jain"] for r in rs)[0], _mean_ci(r.raw[key]["gini"] for r in rs)[0])
            if j == 0:
                handles.append(bars)
        (jd, gd), (jc, gc) = index["districts"], index["channels"]
        labels.append(f"{name}: Jain {jd:.3f} / {jc:.3f}, Gini {gd:.3f} / {gc:.3f}")
    top = max(100.0, _top(all_stats, 100.0))
    for ax, over, xlabel in zip(axes, ("districts", "channels"), ("District", "Booking channel")):
        names = [g.replace("district ", "") for g in groups[over]]
        ax.set_xticks(range(len(names)), names, rotation=90 if len(names) > 15 else 0, fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_title(f"By {xlabel.lower()}", fontsize=10)
        ax.set_ylim(0, top * 1.08)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0].set_ylabel("% of requests served")
    _titles(fig, "Share of requests served", [len(rs) for rs in reps.values()])
    # The fairness indices (means over replications) are in the legend, outside the axes.
    _legend(fig, handles, labels, title="Policy: Jain's index (1 = even) and Gini (0 = even), districts / channels")
    return fig


DEFAULT_METRICS = (
    "booking_rate",
    "utilisation",
    "utilisation_community",
    "utilisation_tertiary",
    "days_to_appointment_p50",
    "no_show_rate",
    "served_rate",
    "jain_districts",
)


def _figure_policy_comparison(results: Results, metrics: Optional[Sequence[str]] = None) -> Figure:
    df = _summary_frame(results)
    present = list(dict.fromkeys(df["metric"]))
    metrics = list(metrics or [m for m in DEFAULT_METRICS if m in set(present)])
    if not metrics:
        raise ValueError("no metric to plot")
    missing = [m for m in metrics if m not in set(present)]
    if missing:
        raise ValueError(f"metrics not in the results: {missing}")
    policies = list(dict.fromkeys(df["policy"]))
    cols = min(4, len(metrics))
    rows = (len(metrics) + cols - 1) // cols
    fig = _new_figure(max(3.3 * cols, 2.2 + 0.9 * len(policies) * cols), 3.3 * rows + 0.9)
    axes = fig.subplots(rows, cols, squeeze=False)
    ns: List[int] = []
    for ax, m in zip(axes.flat, metrics):
        d = df[df["metric"] == m].set_index("policy").reindex(policies)
        scale = metric_scale(m)
        means = d["mean"].to_numpy(dtype=float) * scale
        halves = (d["ci_high"] - d["mean"]).to_numpy(dtype=float) * scale
        n = d["n"].to_numpy(dtype=float)
        ns.extend(int(x) for x in n if math.isfinite(x))
        ok = np.isfinite(means)
        xs = np.arange(len(policies))
        ax.bar(xs, np.where(ok, means, 0.0), 0.7, color=[f"C{i}" for i in range(len(policies))])
        err = ok & np.isfinite(halves)
        if err.any():
            ax.errorbar(xs[err], means[err], yerr=_whiskers(means[err], halves[err]), fmt="none", ecolor="black", elinewidth=0.9, capsize=4)
        for x in xs[~ok]:
            ax.text(x, 0.02, "not measured", rotation=90, ha="center", va="bottom", fontsize=7, color="0.35", transform=ax.get_xaxis_transform())
        if not ok.any():
            ax.set_ylim(0, 1)  # nothing measured: an empty, unlabelled scale rather than ±0.05
            ax.set_yticks([])
        ax.set_xlim(-0.75, len(policies) - 0.25)  # one policy: a bar, not a wall
        label, unit = metric_label(m)
        ax.set_title("\n".join(textwrap.wrap(label, 30)), fontsize=9)
        ax.set_ylabel(unit, fontsize=8)
        long = max(len(p) for p in policies) > 8 or len(policies) > 3
        ax.set_xticks(xs, policies, rotation=25 if long else 0, ha="right" if long else "center", rotation_mode="anchor", fontsize=8)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    _titles(fig, "Headline metrics by policy", ns)
    return fig


_FIGURES: Dict[str, Callable[..., Figure]] = {
    "utilisation_by_tier": _figure_utilisation_by_tier,
    "waiting_times": _figure_waiting_times,
    "fairness": _figure_fairness,
    "policy_comparison": _figure_policy_comparison,
}


def _figure(kind: str, results: Results, **kwargs: Any) -> Figure:
    """The Figure a chart function would save (for tests and for :mod:`haoyuan.report`)."""
    return _FIGURES[kind](results, **kwargs)


def _save(fig: Figure, path: Union[PathLike, io.BytesIO]) -> None:
    fig.savefig(path, dpi=110, format="png")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    _save(fig, buf)
    return buf.getvalue()


# -- public charts ----------------------------------------------------------------------------


def utilisation_by_tier(results: Results, path: PathLike) -> str:
    """Grouped bars per tier: places attended and places booked, in % of released places, one
    colour per policy, mean with 95% CI over the replications."""
    _save(_figure_utilisation_by_tier(results), path)
    return os.fspath(path)


def waiting_times(results: Results, path: PathLike, max_days: int = 15) -> str:
    """Distribution of whole days from booking to visit (in % of bookings), one panel per tier,
    one line per policy with a 95% CI band over the replications; days 0 ..= ``max_days``."""
    _save(_figure_waiting_times(results, max_days=max_days), path)
    return os.fspath(path)


def fairness(results: Results, path: PathLike) -> str:
    """Share of requests served per district and per booking channel (mean, 95% CI), with
    Jain's index and the Gini coefficient of each policy in the legend."""
    _save(_figure_fairness(results), path)
    return os.fspath(path)


def policy_comparison(df: Results, path: PathLike, metrics: Optional[Sequence[str]] = None) -> str:
    """One panel per metric (default: :data:`DEFAULT_METRICS` present), one bar per policy:
    the means and 95% confidence intervals of :func:`haoyuan.sim.summarise` (a
    :func:`haoyuan.sim.compare` frame is plotted as it is), titled in words with units."""
    _save(_figure_policy_comparison(df, metrics=metrics), path)
    return os.fspath(path)


def _figure_load_board(board: Any, title: str = "Live load board") -> Figure:
    """Two panels side by side, one bar per institution (least expected wait at the top): the
    expected wait in minutes with the queue written on each bar, and free places today and
    free beds tonight. ``board``: ``Engine.load_board``'s rows or ``load_board_to_pandas``."""
    if hasattr(board, "to_dict"):
        rows = board.to_dict("records")
    else:
        rows = [{k: getattr(r, k) for k in ("institution_name", "department_name", "queue", "expected_wait_s", "free_today", "free_beds_tonight", "date", "half_day")} for r in board]
    fig = Figure(figsize=(10, max(2.5, 0.45 * len(rows) + 1.6)), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    names = ["\n".join(textwrap.wrap(f"{r['institution_name']} — {r['department_name']}", 34)) for r in rows]
    ys = np.arange(len(rows))
    waits = np.array([r["expected_wait_s"] / 60.0 for r in rows], dtype=float)
    left.barh(ys, waits, color="C3", label="expected wait")
    for y, w, r in zip(ys, waits, rows):
        left.text(w, y, f" {r['queue']} waiting", va="center", fontsize=8)
    left.set_xlabel("expected wait of someone checking in now (minutes)", fontsize=8)
    left.set_title("Expected wait (queue on each bar)", fontsize=9)
    left.set_yticks(ys, names, fontsize=8)
    left.invert_yaxis()
    left.set_xlim(0, max(1.0, float(waits.max()) if len(waits) else 1.0) * 1.35)  # room for the labels
    h = 0.38
    right.barh(ys - h / 2, [r["free_today"] for r in rows], h, color="C0", label="free places today")
    right.barh(ys + h / 2, [r["free_beds_tonight"] for r in rows], h, color="C2", label="free beds tonight")
    right.set_xlabel("places (count)", fontsize=8)
    right.set_title("Free places today and beds tonight", fontsize=9)
    # A figure legend below both panels (constrained layout keeps it outside the axes), never
    # over the bars.
    handles, labels = right.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
        ax.tick_params(axis="x", labelsize=8)
    # A DataFrame's date is a Timestamp (its str has a time of day): the calendar day only.
    when = f"{str(rows[0]['date'])[:10]} {rows[0]['half_day']}" if rows else "no department"
    fig.suptitle(f"{title}, {when}: expected wait (minutes), free places (count)", fontsize=11)
    return fig


def load_board(board: Any, path: PathLike, title: str = "Live load board") -> str:
    """The live load board (``Engine.load_board`` rows or ``Engine.load_board_to_pandas``):
    expected wait in minutes with each queue, free places today and free beds tonight."""
    _save(_figure_load_board(board, title=title), path)
    return os.fspath(path)

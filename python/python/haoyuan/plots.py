"""haoyuan.plots — one call per chart of a simulation, saved to PNG (matplotlib, Agg backend).

Every function takes one :class:`haoyuan.sim.SimResult` or a dict ``{name: SimResult}`` (to
put policies side by side), writes ``path`` and returns it::

    from haoyuan import sim, plots
    runs = {"unified": sim.simulate(policy="unified"), "islands": sim.simulate(policy="islands")}
    plots.utilisation_by_tier(runs, "tiers.png")
    plots.waiting_times(runs, "waits.png")
    plots.fairness(runs, "fairness.png")
    plots.policy_comparison(sim.compare({"unified": "unified", "islands": "islands"}), "compare.png")
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit, safe in threads and CI

import matplotlib.pyplot as plt  # noqa: E402

from .sim import SimResult  # noqa: E402

__all__ = ["utilisation_by_tier", "waiting_times", "fairness", "policy_comparison"]

Results = Union[SimResult, Mapping[str, SimResult]]
TIERS = ["community", "secondary", "tertiary"]


def _named(results: Results) -> Dict[str, SimResult]:
    if isinstance(results, SimResult):
        return {"run": results}
    out = dict(results)
    if not out or not all(isinstance(r, SimResult) for r in out.values()):
        raise TypeError("expected a SimResult or a non-empty dict of name -> SimResult")
    return out


def _save(fig: Any, path: Union[str, os.PathLike]) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return os.fspath(path)


def utilisation_by_tier(results: Results, path: Union[str, os.PathLike]) -> str:
    """Grouped bars: utilisation (attended / places) and booking rate per tier, per run."""
    runs = _named(results)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    width = 0.8 / len(runs)
    for k, (name, r) in enumerate(runs.items()):
        t = r.by_tier()
        for ax, col in zip(axes, ["utilisation", "booking_rate"]):
            xs = [i + (k - (len(runs) - 1) / 2) * width for i in range(len(TIERS))]
            ax.bar(xs, [float(t.loc[tier, col]) for tier in TIERS], width, label=name)
    for ax, title in zip(axes, ["Utilisation (attended / places)", "Booking rate of released places"]):
        ax.set_xticks(range(len(TIERS)), TIERS)
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend()
    return _save(fig, path)


def waiting_times(results: Results, path: Union[str, os.PathLike], max_days: int = 15) -> str:
    """Distribution of days from booking to visit, one panel per tier, one line per run."""
    runs = _named(results)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=True)
    for name, r in runs.items():
        w = r.waiting_times()
        for ax, tier in zip(axes, TIERS):
            counts = w[tier].to_numpy(dtype=float)[: max_days + 1]
            total = counts.sum()
            ax.step(range(len(counts)), counts / total if total else counts, where="mid", label=name)
    for ax, tier in zip(axes, TIERS):
        ax.set_title(f"{tier}: days to appointment")
        ax.set_xlabel("days")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of bookings")
    axes[0].legend()
    return _save(fig, path)


def fairness(results: Results, path: Union[str, os.PathLike]) -> str:
    """Served rate per district and per channel, with Jain's index and the Gini coefficient."""
    runs = _named(results)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / len(runs)
    for ax, over in zip(axes, ["districts", "channels"]):
        for k, (name, r) in enumerate(runs.items()):
            f = r.fairness(over)
            xs = [i + (k - (len(runs) - 1) / 2) * width for i in range(len(f))]
            label = f"{name} (Jain {f.attrs['jain']:.3f}, Gini {f.attrs['gini']:.3f})"
            ax.bar(xs, f["served_rate"].to_numpy(dtype=float), width, label=label)
            ax.set_xticks(range(len(f)), [str(n).replace("district ", "") for n in f.index], rotation=90 if len(f) > 12 else 0)
        ax.set_title(f"Served rate by {over[:-1]}")
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


DEFAULT_METRICS = ("booking_rate", "utilisation", "utilisation_community", "utilisation_tertiary", "days_to_appointment_p50", "no_show_rate", "jain_districts")


def policy_comparison(df: Any, path: Union[str, os.PathLike], metrics: Optional[Sequence[str]] = None) -> str:
    """Means with 95% confidence intervals of :func:`haoyuan.sim.compare`'s frame, one panel
    per metric, one bar per policy."""
    metrics = list(metrics or [m for m in DEFAULT_METRICS if m in set(df["metric"])])
    if not metrics:
        raise ValueError("no metric to plot")
    policies = list(dict.fromkeys(df["policy"]))
    cols = min(4, len(metrics))
    rows = (len(metrics) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3 * rows), squeeze=False)
    for ax, m in zip(axes.flat, metrics):
        d = df[df["metric"] == m].set_index("policy").reindex(policies)
        means = d["mean"].to_numpy(dtype=float)
        err = (d["ci_high"] - d["mean"]).fillna(0).to_numpy(dtype=float)
        ax.bar(range(len(policies)), means, yerr=err, capsize=4, color=[f"C{i}" for i in range(len(policies))])
        ax.set_xticks(range(len(policies)), policies, rotation=20)
        ax.set_title(m, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    return _save(fig, path)

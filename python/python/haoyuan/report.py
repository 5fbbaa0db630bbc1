"""haoyuan.report — a policy study as one self-contained HTML page.

:func:`report` takes the results of a study in any shape :mod:`haoyuan.plots` accepts (a
:func:`haoyuan.sim.compare` frame, ``{name: [SimResult, ...]}``, ``{name: SimResult}`` or one
``SimResult``) and writes a single ``.html`` file: the inputs, the summary table (means, 95%
confidence intervals and paired differences to the first policy), usage per tier, the runs'
warnings and every chart, the charts embedded as PNG ``data:`` URIs. It loads no other file,
runs no JavaScript and can be mailed as it is.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from haoyuan import sim
    >>> from haoyuan.report import report
    >>> df = sim.compare({"unified": "unified", "islands": "islands"}, days=2, replications=2, seed=1)
    >>> path = report(df, Path(tempfile.mkdtemp()) / "study.html")
    >>> Path(path).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    True

haoyuan.sim and matplotlib are imported when :func:`report` is called, not on import, so
``haoyuan.sim`` can re-export it without a cycle or a matplotlib import.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple, Union

__all__ = ["report"]

# The page may load nothing but its own inline style and data: images; a script, a font or an
# image from elsewhere is refused by the browser (and is a bug of this module).
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
       margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #1d2330; line-height: 1.4; }
h1 { margin-bottom: 0.2rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #d5d9e0; padding-bottom: 0.2rem; }
.meta, .note { color: #5a6270; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #d5d9e0; padding: 0.25rem 0.55rem; text-align: left; vertical-align: top; }
th { background: #f1f3f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.na { color: #8a919c; font-style: italic; text-align: right; }
td.sig { font-weight: 600; }
tr.total td { border-top: 2px solid #9aa2ad; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e6eb; }
figcaption { color: #5a6270; font-size: 0.9rem; }
ul.warnings li { margin-bottom: 0.3rem; }
"""

NOT_MEASURED = "not measured"


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _decimals(unit: str) -> int:
    """Digits after the point for a unit: enough to compare policies, no false precision."""
    if unit.startswith("%"):
        return 1
    if unit.startswith("index"):
        return 3
    if unit == "days":
        return 2
    return 1


def _fmt(metric: str, value: Any, *, signed: bool = False) -> str:
    """A metric value in its displayed unit (shares ×100), e.g. ``38.8`` or ``+0.5``."""
    from .plots import metric_label, metric_scale

    if not _finite(value):
        return NOT_MEASURED
    v = float(value) * metric_scale(metric)
    d = _decimals(metric_label(metric)[1])
    return f"{v:+.{d}f}" if signed else f"{v:.{d}f}"


def _with_ci(metric: str, mean: Any, low: Any, high: Any, *, signed: bool = False) -> Tuple[str, str]:
    """``(cell text, css class)`` of ``mean [low, high]``; the interval is left out when there
    is none (a single replication)."""
    if not _finite(mean):
        return NOT_MEASURED, "na"
    text = _fmt(metric, mean, signed=signed)
    if _finite(low) and _finite(high):
        text += f" [{_fmt(metric, low, signed=signed)}, {_fmt(metric, high, signed=signed)}]"
    return text, "num"


def _table(table_id: str, headers: Sequence[str], rows: Iterable[Sequence[Tuple[str, str]]], row_classes: Sequence[str] = ()) -> str:
    """An HTML table; each cell is ``(text, css class)``, all text escaped here."""
    out = [f'<table id="{_e(table_id)}">', "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr></thead>", "<tbody>"]
    for i, row in enumerate(rows):
        cls = row_classes[i] if i < len(row_classes) and row_classes[i] else ""
        tr = f'<tr class="{_e(cls)}">' if cls else "<tr>"
        out.append(tr + "".join(f'<td class="{_e(c)}">{_e(t)}</td>' if c else f"<td>{_e(t)}</td>" for t, c in row) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _seeds(runs: Sequence[Mapping[str, Any]]) -> str:
    """The seed of each replication: one list when every policy ran on the same seeds (common
    random numbers, as in ``compare``), else one list per policy."""
    by_rep: Dict[int, set] = {}
    by_policy: Dict[str, List[str]] = {}
    for r in runs:
        by_rep.setdefault(int(r["replication"]), set()).add(r.get("seed"))
        by_policy.setdefault(str(r["policy"]), []).append(str(r.get("seed")))
    if all(len(s) == 1 for s in by_rep.values()):
        return ", ".join(f"r{i}: {next(iter(s))}" for i, s in sorted(by_rep.items()))
    return "; ".join(f"{p}: " + ", ".join(s) for p, s in by_policy.items())


def _inputs(reps: Mapping[str, Sequence[Any]], runs: Sequence[Mapping[str, Any]]) -> str:
    names = list(reps)
    days = sorted({int(r.raw["days"]) for rs in reps.values() for r in rs})
    counts = {p: len(rs) for p, rs in reps.items()}
    n_text = str(next(iter(counts.values()))) if len(set(counts.values())) == 1 else ", ".join(f"{p}: {n}" for p, n in counts.items())
    slots = sorted({int(r.raw.get("slots", 0)) for rs in reps.values() for r in rs})
    elapsed = sum(float(r.raw.get("elapsed_s") or 0.0) for rs in reps.values() for r in rs)
    rows = [
        ("Policies", ", ".join(names) + (f" (differences are against {names[0]})" if len(names) > 1 else "")),
        ("Days simulated", ", ".join(str(d) for d in days)),
        ("Replications per policy", n_text),
        ("Seeds", _seeds(runs)),
        ("Slots in the region", ", ".join(f"{s:,}" for s in slots)),
        ("Runs / compute time", f"{sum(counts.values())} runs, {elapsed:.1f} s in total"),
    ]
    return _table("inputs", ["Input", "Value"], [[(k, ""), (v, "")] for k, v in rows])


def _summary(df: Any) -> str:
    from .plots import metric_label

    policies = list(dict.fromkeys(df["policy"]))
    base = policies[0]
    headers = ["Metric", "Unit"] + [f"{p}: mean [95% CI]" for p in policies]
    headers += [f"{p} − {base}: paired difference [95% CI]" for p in policies[1:]]
    rows = []
    for metric in dict.fromkeys(df["metric"]):
        d = df[df["metric"] == metric].set_index("policy")
        label, unit = metric_label(str(metric))
        row = [(label, ""), (unit, "")]
        for p in policies:
            row.append(_with_ci(metric, *(d.loc[p, c] if p in d.index else math.nan for c in ("mean", "ci_low", "ci_high"))))
        for p in policies[1:]:
            if p not in d.index:
                row.append((NOT_MEASURED, "na"))
                continue
            mean, low, high = (d.loc[p, c] for c in ("diff_mean", "diff_ci_low", "diff_ci_high"))
            text, cls = _with_ci(metric, mean, low, high, signed=True)
            # Bold when the paired interval excludes zero: the policies differ at the 5% level.
            if cls == "num" and _finite(low) and _finite(high) and (float(low) > 0 or float(high) < 0):
                cls = "num sig"
            row.append((text, cls))
        rows.append(row)
    return _table("summary", headers, rows)


def _tier_usage(reps: Mapping[str, Sequence[Any]]) -> str:
    from .plots import _TIER_WORDS, TIERS, _mean_ci

    headers = ["Policy", "Tier", "Places", "Booked", "Attended", "Overflow", "Utilisation (% of places) [95% CI]"]
    rows: List[List[Tuple[str, str]]] = []
    classes: List[str] = []
    for p, rs in reps.items():
        per_run = [dict((t, u) for t, u in r.raw["by_tier"]) for r in rs]
        for i, t in enumerate(TIERS + ["total"]):
            usages = [r.raw["total"] for r in rs] if t == "total" else [u.get(t, {}) for u in per_run]
            row = [(p if i == 0 else "", ""), ("all tiers" if t == "total" else _TIER_WORDS[t], "")]
            for col in ("places", "booked", "attended", "overflow"):
                mean, _, n = _mean_ci(u.get(col) for u in usages)
                # Counts: a whole number when every replication agrees, else the mean to 0.1.
                row.append((NOT_MEASURED, "na") if n == 0 else (f"{mean:,.0f}" if float(mean).is_integer() else f"{mean:,.1f}", "num"))
            mean, half, _ = _mean_ci(u.get("utilisation") for u in usages)
            row.append(_with_ci("utilisation", mean, mean - half, mean + half))
            rows.append(row)
            classes.append("total" if t == "total" else "")
    return _table("tiers", headers, rows, classes)


def _warnings(reps: Mapping[str, Sequence[Any]]) -> str:
    """Every distinct warning of the runs (and engine anomalies), with the runs that gave it."""
    seen: Dict[str, List[str]] = {}
    for p, rs in reps.items():
        for i, r in enumerate(rs):
            msgs = [str(w) for w in (r.raw.get("warnings") or [])]
            msgs += [f"engine anomaly: {n}" for n in (r.raw.get("notes") or [])]
            for m in dict.fromkeys(msgs):
                seen.setdefault(m, []).append(f"{p} r{i}")
    if not seen:
        return '<p class="note">No run reported a warning.</p>'
    items = "".join(f"<li>{_e(m)} <span class=\"note\">({_e(', '.join(where))})</span></li>" for m, where in seen.items())
    return f'<ul class="warnings">{items}</ul>'


def _img(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}"><figcaption>{_e(caption)}</figcaption></figure>'


def report(results: Any, path: Union[str, "os.PathLike[str]"], *, title: str = "haoyuan policy study") -> str:
    """Write the study ``results`` as one self-contained HTML page to ``path`` and return the
    path. ``results``: a :func:`haoyuan.sim.compare` frame, ``{name: [SimResult, ...]}``,
    ``{name: SimResult}`` or a single ``SimResult``. All text is HTML-escaped; the page holds
    its charts as embedded PNGs and needs no network and no JavaScript."""
    from . import __version__, plots

    reps = plots._replications(results)
    df = plots._summary_frame(results)
    runs = list(df.attrs.get("runs") or plots._runs_of(reps))
    ns = [len(rs) for rs in reps.values()]
    n_note = plots._n_note(ns)
    charts = [
        ("policy_comparison", "Headline metrics by policy", "Means over the replications with 95% Student-t confidence intervals."),
        ("utilisation_by_tier", "Use of released places by tier", "Places attended and booked, in % of the places released in each tier."),
        ("waiting_times", "Days from booking to visit", "Share of bookings by whole days from booking to visit; bands: 95% CI."),
        ("fairness", "Share of requests served", "By district and by booking channel; Jain's index and the Gini coefficient in the legend."),
    ]
    figures = []
    for kind, alt, caption in charts:
        fig = plots._figure(kind, df if kind == "policy_comparison" else reps)
        figures.append(_img(plots._png(fig), alt, caption))
    generated = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    paired = len(reps) > 1
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{_e(title)}</h1>
<p class="meta">Generated {_e(generated)} by haoyuan {_e(__version__)}; {_e(n_note)}.</p>

<h2>Inputs</h2>
{_inputs(reps, runs)}

<h2>Summary</h2>
<p class="note">{_e(n_note[:1].upper() + n_note[1:])}. Shares are in % (the unit column says of what).{
    _e(" A paired difference compares each replication with the same replication of the first policy (common random numbers); bold: its 95% CI excludes 0.") if paired else ""
} {_e(NOT_MEASURED.capitalize())}: the metric was NaN in the runs (see Warnings).</p>
{_summary(df)}

<h2>Usage per tier</h2>
<p class="note">Means over the replications; utilisation = attended / places.</p>
{_tier_usage(reps)}

<h2>Warnings</h2>
{_warnings(reps)}

<h2>Charts</h2>
{"".join(figures)}
</body>
</html>
"""
    Path(path).write_text(page, encoding="utf-8")
    return os.fspath(path)

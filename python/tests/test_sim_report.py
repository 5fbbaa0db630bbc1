"""haoyuan.report: one self-contained HTML page per study, checked in a real browser.

The page is opened in headless Chromium from Debian's packages (`make test-sim-python` installs
it with ci/lib/apt-install.sh; without it these tests fail, they do not skip): it must load,
every image must decode, and nothing may reach the console. A small checker script, allowed by
a hash added to the page's own Content-Security-Policy, reports through ``document.title``,
which ``--dump-dom`` prints; everything else stays under the report's policy, so a resource
from outside the page would be refused and reported too.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest

pytest.importorskip("matplotlib")  # installed by `make test-sim` (mk/sim.mk)

from haoyuan import sim  # noqa: E402
from haoyuan.report import report  # noqa: E402

CHECKER = """(function () {
  var errors = [];
  window.addEventListener("error", function (e) {
    var t = e.target;
    errors.push(t && t !== window && t.outerHTML ? "failed to load " + t.outerHTML.slice(0, 80) : String(e.message));
  }, true);
  window.addEventListener("unhandledrejection", function (e) { errors.push("unhandled rejection: " + e.reason); });
  document.addEventListener("securitypolicyviolation", function (e) {
    errors.push("refused " + e.blockedURI + " (" + e.violatedDirective + ")");
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    return consoleError.apply(console, arguments);
  };
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    var cells = function (id, row) {
      var t = document.getElementById(id);
      return t ? Array.prototype.map.call(t.rows[row].cells, function (c) { return c.textContent; }) : null;
    };
    document.title = JSON.stringify({
      images: images.length,
      decoded: images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length,
      widths: images.map(function (i) { return i.naturalWidth; }),
      summary_header: cells("summary", 0),
      summary_first_row: cells("summary", 1),
      errors: errors
    });
  });
})();"""

CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


@pytest.fixture(scope="module")
def study() -> Any:
    return sim.compare({"unified": "unified", "islands": "islands"}, region="small", demand=sim.demand(requests_per_day=300), days=5, replications=3, seed=1)


def chromium() -> str:
    found = shutil.which("chromium")
    assert found, "chromium is missing: `bash ci/lib/apt-install.sh chromium` installs it (make test-sim-python does)"
    return found


def open_in_chromium(page: Path, tmp_path: Path) -> Dict[str, Any]:
    """Load a copy of ``page`` (with the checker) in headless Chromium; the checker's findings."""
    text = page.read_text(encoding="utf-8")
    m = CSP_META.search(text)
    assert m, "the report has no Content-Security-Policy"
    csp = html.unescape(m.group(1))
    assert "default-src 'none'" in csp and "script-src" not in csp
    digest = base64.b64encode(hashlib.sha256(CHECKER.encode()).digest()).decode()
    allowed = html.escape(f"{csp}; script-src 'sha256-{digest}'", quote=True)
    checked = text.replace(m.group(0), f'<meta http-equiv="Content-Security-Policy" content="{allowed}">\n<script>{CHECKER}</script>', 1)
    copy_ = tmp_path / "checked.html"
    copy_.write_text(checked, encoding="utf-8")
    cmd = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--user-data-dir=" + str(tmp_path / "profile"),
        "--virtual-time-budget=5000",  # the page's load event fires before the DOM is dumped
        "--enable-logging=stderr", "--v=0",  # console messages, our checker's or the browser's
        "--dump-dom", copy_.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    title = re.search(r"<title>(.*?)</title>", done.stdout, re.S)
    assert title, done.stdout[:500]
    try:
        return json.loads(html.unescape(title.group(1)))
    except json.JSONDecodeError:
        raise AssertionError(f"the load event did not run the checker: title {title.group(1)!r}") from None


def test_report_loads_in_chromium_with_every_chart(study: Any, tmp_path: Path) -> None:
    out = report(study, tmp_path / "study.html", title="Unified pool vs islands")
    assert out == str(tmp_path / "study.html")
    page = Path(out).read_text(encoding="utf-8")
    # Self-contained: no script, no stylesheet link, nothing fetched from anywhere.
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "<link" not in page
    assert re.findall(r'\b(?:src|href)="(?!data:image/png;base64,)', page) == []
    seen = open_in_chromium(Path(out), tmp_path)
    assert seen["errors"] == []
    assert seen["images"] == 4 and seen["decoded"] == 4, seen
    assert all(w > 500 for w in seen["widths"]), seen["widths"]
    u = study[study["metric"] == "utilisation"].set_index("policy")
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731 - the report's format of a share
    spct = lambda x: f"{100 * x:+.1f}"  # noqa: E731
    assert seen["summary_header"][2:] == ["unified: mean [95% CI]", "islands: mean [95% CI]", "islands − unified: paired difference [95% CI]"]
    assert seen["summary_first_row"] == [
        "Places attended (utilisation)",
        "% of released places",
        f"{pct(u.loc['unified', 'mean'])} [{pct(u.loc['unified', 'ci_low'])}, {pct(u.loc['unified', 'ci_high'])}]",
        f"{pct(u.loc['islands', 'mean'])} [{pct(u.loc['islands', 'ci_low'])}, {pct(u.loc['islands', 'ci_high'])}]",
        f"{spct(u.loc['islands', 'diff_mean'])} [{spct(u.loc['islands', 'diff_ci_low'])}, {spct(u.loc['islands', 'diff_ci_high'])}]",
    ]


def test_report_states_its_inputs_and_every_table(study: Any, tmp_path: Path) -> None:
    page = Path(report(study, tmp_path / "study.html")).read_text(encoding="utf-8")
    assert "<title>haoyuan policy study</title>" in page
    runs = study.attrs["runs"]
    for r in runs:
        assert str(r["seed"]) in page
    assert "<td>Days simulated</td><td>5</td>" in page
    assert "<td>Replications per policy</td><td>3</td>" in page
    assert "mean of n = 3 replications, 95% CI (Student t)" in page
    for metric in runs[0]["summary"]:  # every summary metric has a row, in words
        assert f">{html.escape(sim_label(metric))}<" in page, metric
    # Per-tier usage: tertiary places as the mean over the replications (to 0.1 unless whole),
    # the same under both policies (common random numbers: same region, same rosters).
    places = sum(dict(r["result"]["by_tier"])["tertiary"]["places"] for r in runs if r["policy"] == "islands") / 3
    shown = f"{places:,.0f}" if places.is_integer() else f"{places:,.1f}"
    assert page.count(f'<td>tertiary hospitals</td><td class="num">{shown}</td>') == 2
    assert page.count('<tr class="total">') == 2
    assert "No run reported a warning." in page


def sim_label(metric: str) -> str:
    from haoyuan.plots import metric_label

    return metric_label(metric)[0]


def test_report_escapes_text_and_takes_single_runs(study: Any, tmp_path: Path) -> None:
    one = sim.results_of(study, "unified")[0]
    nasty = '<img src=x onerror="alert(1)">'
    page = Path(report({nasty: one}, tmp_path / "one.html", title="<script>alert(1)</script> & co")).read_text(encoding="utf-8")
    assert "<script>" not in page and nasty not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert html.escape(nasty, quote=True) in page
    assert "n = 1, no CI" in page and "paired difference" not in page
    # A single run has no interval: the mean alone.
    assert f'<td class="num">{100 * one.utilisation:.1f}</td>' in page
    seen = open_in_chromium(tmp_path / "one.html", tmp_path)
    assert seen["errors"] == [] and seen["images"] == seen["decoded"] == 4


class Measured(sim.SimResult):
    """A run with a given summary (NaN where the simulator could not measure a metric)."""

    def __init__(self, raw: Dict[str, Any], summary: Dict[str, float]):
        super().__init__(raw)
        self._summary = summary

    def summary(self) -> Dict[str, float]:
        return dict(self._summary)


def test_report_lists_warnings_once_and_says_not_measured(study: Any, tmp_path: Path) -> None:
    reps: Dict[str, Any] = {}
    for policy in ("unified", "islands"):
        reps[policy] = []
        for r in sim.results_of(study, policy):
            raw = copy.deepcopy(r.raw)
            raw["warnings"] = ["no emergency referral: its lead time is not measured", "no emergency referral: its lead time is not measured"]
            raw["notes"] = ["slot 7: <capacity> exceeded"] if policy == "islands" else []
            reps[policy].append(Measured(raw, dict(r.summary(), referral_lead_p50_emergency=math.nan)))
    page = Path(report(reps, tmp_path / "warned.html")).read_text(encoding="utf-8")
    assert page.count("no emergency referral: its lead time is not measured") == 1
    assert "(unified r0, unified r1, unified r2, islands r0, islands r1, islands r2)" in page
    assert page.count("engine anomaly: slot 7: &lt;capacity&gt; exceeded") == 1
    row = re.search(r"<tr><td>Median referral lead time, emergency referrals</td>.*?</tr>", page)
    assert row and row.group(0).count('<td class="na">not measured</td>') == 3

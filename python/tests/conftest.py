"""Shared fixtures: a small region on a manual clock.

The clock starts on Monday 2026-11-23 at 16:00 local time (+08:00): the public window of the
visit dates up to 2026-11-30 is open (7 days ahead at 15:00), and cancelling a visit on
2026-11-26 or later is still free (until 15:00 the day before).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import haoyuan as hy

#: The package's sources (python/python/haoyuan): never imported by the make targets, which test
#: the installed wheel (an editable install, `maturin develop`, would import these).
SOURCE = Path(__file__).resolve().parents[1] / "python" / "haoyuan"
INSTALLED = Path(hy.__file__).resolve().parent


def pytest_report_header(config: pytest.Config) -> str:
    return f"haoyuan {hy.__version__} imported from {INSTALLED}"


def pytest_configure(config: pytest.Config) -> None:
    # mk/python.mk sets HAOYUAN_TEST_INSTALLED=1: the run must test what pip installed.
    if os.environ.get("HAOYUAN_TEST_INSTALLED") == "1" and INSTALLED == SOURCE:
        raise pytest.UsageError(f"haoyuan was imported from the source tree {SOURCE}, not from an installed wheel")

TZ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 23, 16, 0, tzinfo=TZ)
DAY = dt.date(2026, 11, 26)


@dataclass
class Region:
    engine: hy.Engine
    tertiary: int
    secondary: int
    clinic: int
    cardiology: int
    cardiology2: int
    dr_li: int
    dr_wang: int
    slots: range


def make_region(policy: object = None, capacity: int = 10) -> Region:
    e = hy.Engine(policy, start=START)
    t = e.add_institution("Dongguan People's Hospital", "tertiary", "Guancheng")
    s = e.add_institution("Guancheng District Hospital", "secondary", "Guancheng")
    c = e.add_institution("Xinghua Community Clinic", "community", "Guancheng")
    e.add_department(c, "general_practice", "General practice")
    d = e.add_department(t, "cardiology", "Cardiology")
    d2 = e.add_department(s, "cardiology", "Cardiology")
    r = e.add_resource(d, "doctor", "Dr Li")
    r2 = e.add_resource(d2, "doctor", "Dr Wang")
    specs = [(r, DAY, 8 * 60 + 30 * i, 8 * 60 + 30 * (i + 1), capacity) for i in range(4)]
    specs += [(r2, DAY, 8 * 60 + 30 * i, 8 * 60 + 30 * (i + 1), capacity) for i in range(4)]
    slots = e.publish_slots(specs)
    return Region(e, t, s, c, d, d2, r, r2, slots)


@pytest.fixture
def region() -> Region:
    return make_region()


_SAMPLE = re.compile(r"^(haoyuan_[A-Za-z0-9_]+)(?:\{([^}]*)\})? (\S+)$")
_LABEL = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*)="([^"\\]*)"$')
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def prometheus_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parse a Prometheus text exposition (what ``Engine.metrics_prometheus`` returns), failing
    on any line that is not a ``# HELP`` / ``# TYPE`` comment or a ``name{labels} value`` sample
    named ``haoyuan_*`` of a family declared by an earlier ``# TYPE``. Returns each sample's
    value by (name, labels as sorted pairs)."""
    assert text.endswith("\n"), "the exposition ends with a newline"
    types: dict[str, str] = {}
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            parts = line.split(" ", 3)
            assert len(parts) >= 4 and parts[1] in ("HELP", "TYPE") and parts[2].startswith("haoyuan_"), line
            if parts[1] == "TYPE":
                assert parts[3] in ("counter", "gauge", "histogram"), line
                types[parts[2]] = parts[3]
            continue
        m = _SAMPLE.match(line)
        assert m is not None, f"not a `name{{labels}} value` sample: {line!r}"
        name, labels, value = m.groups()
        family = name
        if name not in types:
            family = next((name[: -len(s)] for s in _HISTOGRAM_SUFFIXES if name.endswith(s)), name)
            assert types.get(family) == "histogram", f"{name} has no # TYPE line before it"
        pairs: list[tuple[str, str]] = []
        for label in labels.split(",") if labels else []:
            lm = _LABEL.match(label)
            assert lm is not None, f"bad label {label!r} in {line!r}"
            pairs.append((lm.group(1), lm.group(2)))
        key = (name, tuple(sorted(pairs)))
        assert key not in samples, f"duplicate sample {line!r}"
        samples[key] = float(value)
    return samples

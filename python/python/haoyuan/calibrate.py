"""haoyuan.calibrate — the simulator fitted to a city's own records.

Two things a city knows better than any preset: **who asked for what, when** (replayed by
``sim.simulate(..., arrivals=...)``), and **how often its patients stay away** (the demand's
no-show model). This module reads both from recorded data; :mod:`haoyuan.sim` re-exports its
functions (``sim.arrivals_from_journal``, ``sim.synthetic_arrivals``, ``sim.calibrate_no_show``).

Arrivals
--------
A table of recorded requests, one row per request — a pandas DataFrame, a dict of columns, or
a list of row dicts — with the columns:

==============  =======  ==========================================================================
``day``         int      simulated day: 0 = the first measured day, negative = the warm-up
``at_s``        int      seconds after local midnight, 0 ..= 86,399
``patient``     int      the resident asking: 0 .. the demand's ``population``
``specialty``   str      one of the region's specialties (``region()["specialties"]``, and
                         ``inpatient`` / ``imaging`` where the region has beds / exam devices)
``kind``        str      ``general``, ``follow_up``, ``referral_emergency``, ``referral_urgent``
                         or ``referral_routine``
``channel``     str      ``app``, ``wechat``, ``web``, ``kiosk``, ``phone``, ``clinic``, or a
                         channel of the demand's ``channel_mix``
``at_release``  bool     optional (default False): came for the date released that day, at its
                         release
==============  =======  ==========================================================================

At most ``SIM_ARRIVALS_MAX`` (50 million) rows. Any other column is an error (a misspelt
``at_release`` would otherwise be ignored silently), and so is every row the run cannot place:
the error (``haoyuan.InvalidArgument``) names the row. Recorded arrivals **replace** the
synthetic demand, warm-up included: the demand keeps only its population, its no-show model, its
probabilities (cancel, abandon, waitlist, offer) and the patients' tolerance. So record the
warm-up's days too (``day`` -1, -2, …, back to ``-default_warmup_days(...)``), or the result
warns that its first measured days are not in steady state. What a record cannot say — which
institution the patient prefers, whether they come — is drawn from the seed; the same table and
seed give the same result whatever the order of its rows, and policies compared on it meet the
same patients with the same dice.

    >>> from haoyuan import sim
    >>> month = sim.synthetic_arrivals("small", sim.demand(requests_per_day=300), days=3, seed=1, warmup_days=14)
    >>> list(month.columns)
    ['day', 'at_s', 'patient', 'specialty', 'kind', 'channel', 'at_release']
    >>> r = sim.simulate("small", sim.demand(requests_per_day=300), "islands", days=3, seed=1, warmup_days=14, arrivals=month)
    >>> r["counts"]["requests"] == int((month["day"] >= 0).sum())
    True
"""

from __future__ import annotations

import bisect
import datetime as _dt
import json
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import numpy as np

from . import _native

__all__ = ["ARRIVAL_COLUMNS", "arrival_columns", "arrivals_from_journal", "calibrate_no_show", "synthetic_arrivals"]

#: The columns of an arrivals table, in order (``at_release`` may be left out).
ARRIVAL_COLUMNS = ("day", "at_s", "patient", "specialty", "kind", "channel", "at_release")
_TEXT = ("specialty", "kind", "channel")
_INTS = ("day", "at_s", "patient")
_I64 = np.iinfo(np.int64)

#: The engine's standard channels, ids 1 ..= 6 in this order (core's `STANDARD_CHANNELS`): every
#: engine has them without a `channel_added` event.
_STANDARD_CHANNELS = ("app", "wechat", "web", "kiosk", "phone", "clinic")


def _int_in(name: str, v: Any, lo: int, hi: int) -> None:
    """An integer argument within ``lo ..= hi``, else ``InvalidArgument`` naming it and its value
    (a bool or a float is not an integer here, as in every call of the package)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise _invalid(f"{name} must be an integer in {lo} ..= {hi}, got {type(v).__name__} {v!r}")
    if not lo <= int(v) <= hi:
        raise _invalid(f"{name} {v!r} is out of range {lo} ..= {hi}")


def _invalid(msg: str) -> Exception:
    from . import _invalid as invalid

    return invalid(msg)


def _columns_of(table: Any, what: str) -> Dict[str, Any]:
    """A DataFrame, a mapping of columns or a sequence of row mappings, as a dict of columns."""
    if hasattr(table, "columns") and hasattr(table, "__getitem__") and not isinstance(table, Mapping):
        return {str(c): table[c] for c in table.columns}
    if isinstance(table, Mapping):
        return {str(k): v for k, v in table.items()}
    if isinstance(table, Sequence) and not isinstance(table, (str, bytes)):
        rows = list(table)
        if not all(isinstance(r, Mapping) for r in rows):
            raise TypeError(f"{what}: a list must hold one mapping per row")
        names: Dict[str, None] = {}
        for r in rows:
            names.update(dict.fromkeys(r))
        return {k: [r.get(k) for r in rows] for k in names}
    raise TypeError(f"{what} must be a pandas DataFrame, a dict of columns or a list of row dicts, got {type(table).__name__}")


def _int_column(name: str, values: Any) -> np.ndarray:
    """An integer column as int64, every value checked: NaN, a fraction, a bool or a value past
    int64 is an error naming its row (pandas turns an int column with a gap into floats)."""
    a = np.asarray(values)
    if a.ndim != 1:
        raise _invalid(f"arrivals column {name} must be one-dimensional")
    if a.dtype.kind in "iu":
        if a.dtype.kind == "u" and a.size and int(a.max()) > _I64.max:
            raise _invalid(f"recorded arrival {int(np.argmax(a > _I64.max))}: {name} is out of range")
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.floor(a)) | (np.abs(a) >= 2.0**63)
        if bad.any():
            i = int(np.argmax(bad))
            raise _invalid(f"recorded arrival {i}: {name} {a[i].item()!r} is not an integer")
        return a.astype(np.int64)
    out = np.empty(a.size, dtype=np.int64)
    for i, v in enumerate(a.tolist()):
        if isinstance(v, bool) or not isinstance(v, int) or not _I64.min <= v <= _I64.max:
            raise _invalid(f"recorded arrival {i}: {name} {v!r} is not an integer")
        out[i] = v
    return out


def _bool_column(name: str, values: Any) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind == "b":
        return a.astype(bool, copy=False)
    if a.dtype.kind in "iu" and ((a == 0) | (a == 1)).all():
        return a.astype(bool)
    for i, v in enumerate(a.tolist()):
        if not isinstance(v, bool) and v not in (0, 1):
            raise _invalid(f"recorded arrival {i}: {name} {v!r} is not a bool")
    return a.astype(bool)


def _coded(name: str, values: Any) -> Tuple[np.ndarray, List[str]]:
    """A text column dictionary-encoded: (int64 codes, names), -1 for a missing value. A
    categorical column is taken as it is; others are factorised (by pandas when installed)."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in the sim extra
        pd = None
    if pd is not None and isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        cat = values.cat if isinstance(values, pd.Series) else values
        codes = np.asarray(cat.codes, dtype=np.int64)
        names = list(cat.categories)
    elif pd is not None:
        arr = values if isinstance(values, (pd.Series, pd.Index, np.ndarray)) else np.asarray(values, dtype=object)
        raw_codes, uniques = pd.factorize(arr)
        codes = np.asarray(raw_codes, dtype=np.int64)
        names = list(uniques)
    else:  # pragma: no cover
        index: Dict[Any, int] = {}
        codes = np.empty(len(values), dtype=np.int64)
        for i, v in enumerate(values):
            codes[i] = -1 if v is None or (isinstance(v, float) and math.isnan(v)) else index.setdefault(v, len(index))
        names = list(index)
    for k, v in enumerate(names):
        if not isinstance(v, str):
            row = int(np.argmax(codes == k))
            raise _invalid(f"recorded arrival {row}: {name} {v!r} is not a str")
    return codes, names


def arrival_columns(arrivals: Any) -> Dict[str, Any]:
    """The arrivals table (see the module documentation) as the native simulator takes it: the
    integer columns as int64 arrays, ``at_release`` as a bool array, the text columns
    dictionary-encoded as ``(codes, names)``. Checks the table's shape and each value's type
    (``InvalidArgument`` naming the row); the simulator checks the rest against the run."""
    cols = _columns_of(arrivals, "arrivals")
    unknown = [c for c in cols if c not in ARRIVAL_COLUMNS]
    if unknown:
        raise _invalid(f"arrivals: unknown column {unknown[0]!r}; the columns are {', '.join(ARRIVAL_COLUMNS)}")
    missing = [c for c in ARRIVAL_COLUMNS[:-1] if c not in cols]
    if missing:
        raise _invalid(f"arrivals: no column {missing[0]!r}; the columns are {', '.join(ARRIVAL_COLUMNS)} (at_release optional)")
    lengths = {c: len(v) for c, v in cols.items()}
    n = lengths["day"]
    if any(v != n for v in lengths.values()):
        raise _invalid(f"arrivals: columns of different lengths {lengths}")
    if n > int(_native.SIM_ARRIVALS_MAX):
        raise _invalid(f"arrivals: {n} rows; at most {int(_native.SIM_ARRIVALS_MAX)}")
    out: Dict[str, Any] = {c: _int_column(c, cols[c]) for c in _INTS}
    out["at_release"] = _bool_column("at_release", cols["at_release"]) if "at_release" in cols else np.zeros(n, dtype=bool)
    for c in _TEXT:
        out[c] = _coded(c, cols[c])
    return out


def _arrivals_frame(cols: Mapping[str, Any]) -> Any:
    """Native columns (text dictionary-encoded) as an arrivals DataFrame, text columns
    categorical."""
    import pandas as pd

    data: Dict[str, Any] = {}
    for c in ARRIVAL_COLUMNS:
        v = cols[c]
        if c in _TEXT:
            codes, names = v
            data[c] = pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=list(names))
        else:
            data[c] = np.asarray(v)
    return pd.DataFrame(data)


def synthetic_arrivals(
    region: Any = "small",
    demand: Any = "default",
    policy: Any = "unified",
    days: int = 7,
    seed: int = 0,
    *,
    warmup_days: Optional[int] = None,
) -> Any:
    """The requests the synthetic demand makes in a run (the warm-up's too, with negative
    ``day``) as an arrivals DataFrame: the recording a city would have, to inspect, edit and
    replay with ``simulate(..., arrivals=...)``. A replay makes exactly these requests; its dice
    (choices, no-shows) are drawn anew, so it agrees with ``simulate`` of the same seed
    statistically, not bit for bit.

        >>> from haoyuan import sim
        >>> a = sim.synthetic_arrivals("small", sim.demand(requests_per_day=100), days=2, seed=3, warmup_days=1)
        >>> sorted(set(a["day"]))
        [-1, 0, 1]
    """
    cols = _native.sim_synthetic_arrivals(region, demand, policy, days, seed, warmup_days)
    return _arrivals_frame(cols)


# ------------------------------------------------------------------ arrivals from a journal


class _Shared(list):  # type: ignore[type-arg]
    """A list kept in ``df.attrs``: shared, not copied, by every frame derived from it (pandas
    deep-copies ``attrs`` on each operation, and compares them with ``==`` when concatenating,
    which an array would not survive)."""

    def __deepcopy__(self, memo: Dict[int, Any]) -> "_Shared":
        return self


def _epoch_seconds(at: Any) -> np.ndarray:
    """The ``at`` column of an events table as int64 seconds since the epoch (UTC)."""
    import pandas as pd

    s = pd.Series(at)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        epoch = pd.Timestamp(0, tz="UTC") if getattr(s.dt, "tz", None) is not None else pd.Timestamp(0)
        return np.asarray((s - epoch) // pd.Timedelta(seconds=1), dtype=np.int64)
    return np.asarray(s, dtype=np.int64)


def _day_number(start: Any) -> int:
    if isinstance(start, _dt.datetime):
        raise _invalid("start must be a date, not a datetime (use .date())")
    if isinstance(start, str):
        try:
            start = _dt.date.fromisoformat(start)
        except ValueError:
            raise _invalid(f"start {start!r} is not a date YYYY-MM-DD") from None
    if not isinstance(start, _dt.date):
        raise _invalid(f"start must be a date or YYYY-MM-DD, got {type(start).__name__}")
    return (start - _dt.date(1970, 1, 1)).days


def arrivals_from_journal(
    events: Any,
    start: Any,
    *,
    specialties: Optional[Mapping[int, str]] = None,
    slot_department: Optional[Mapping[int, int]] = None,
    channels: Optional[Mapping[int, str]] = None,
    utc_offset_s: int = 8 * 3600,
    release_at_min: int = 15 * 60,
    release_window_s: int = 120,
    waitlist: bool = False,
) -> Any:
    """The requests of a journal — the DataFrame of ``haoyuan.read_journal(dir)`` (or of
    ``events_to_pandas``) — as an arrivals table to replay with ``simulate(..., arrivals=...)``.

    Each request is one arrival at its event's instant: a ``held`` booking (not the holds the
    engine makes itself for a waitlist offer), a ``booked`` one (not those a lottery draw made:
    the entry is the request) and a ``lottery_entered`` ticket (``at_release`` True); with
    ``waitlist=True`` also each ``waitlist_joined`` entry (a request that found nothing, then
    waited — the only trace the journal keeps of demand that was refused). ``day`` counts local
    days from ``start`` (the date of the first measured day: pass the same as the region's
    ``start_date`` so that weekdays line up; earlier days become the warm-up's negative days),
    ``at_s`` the seconds after local midnight (``utc_offset_s``, default China's +08:00).

    What the journal says, and what it does not:

    * **patients**: engine patient ids, renumbered ``0 .. n`` in id order (the demand's
      ``population`` must be at least ``n``); ``df.attrs["patients"]`` holds the engine id of
      each. Merges (``patients_merged``) are not followed.
    * **specialty**: the journal names a slot, not a specialty. The slot's department comes from
      the ``slots_published`` and ``resource_added`` events, its specialty from
      ``department_added`` (the engine's specialty names: rename them to the simulated region's
      with ``specialties``). A journal compacted into a snapshot has lost the events before it;
      then pass ``slot_department`` (slot id → department id, e.g. from a live engine's
      ``slot_columns()``) and ``specialties`` (department id → the region's specialty name).
      These mappings win over the journal's own events. A request whose specialty cannot be
      resolved is an error naming its event.
    * **kind**: a referral's urgency comes from its ``referral_issued`` event (``referral_routine``
      when that event is gone; ``df.attrs["referrals_without_urgency"]`` counts them). Whether a
      hold or booking was a follow-up is **not** journaled: those are ``general``; lottery
      entries and waitlist entries carry the flag.
    * **channel**: the standard channels by id, others from ``channel_added`` or ``channels``
      (id → name); the simulated demand's ``channel_mix`` must name the others.
    * **at_release**: lottery entries, and requests made within ``release_window_s`` seconds
      after the daily release (``release_at_min``, default 15:00 local). The journal does not
      say which date a patient wanted, only what they got.
    * **demand that found nothing** is not journaled (bar waitlist entries): a replay of a
      crowded month under a policy with more room underestimates what that room would fill.

    Reads the JSON ``data`` of the events it needs (a few µs each: seconds for a city-month).

        >>> import haoyuan as hy, tempfile, datetime as dt
        >>> tz = dt.timezone(dt.timedelta(hours=8))
        >>> d = tempfile.mkdtemp()
        >>> e = hy.DurableEngine.with_manual_clock(d, start=dt.datetime(2026, 1, 5, 9, tzinfo=tz), card_key=bytes(32))
        >>> h = e.add_institution("Dongguan People's Hospital", "tertiary", "Guancheng")
        >>> dep = e.add_department(h, "internal_medicine", "Internal medicine")
        >>> r = e.add_resource(dep, "doctor", "Dr Li")
        >>> s = e.publish_slots([(r, "2026-01-07", 480, 510, 5)])
        >>> b = e.book(e.register_patient(), s[0], "wechat")
        >>> e.close()
        >>> a = arrivals_from_journal(hy.read_journal(d), "2026-01-05")
        >>> a.iloc[0].to_dict()
        {'day': 0, 'at_s': 32400, 'patient': 0, 'specialty': 'internal_medicine', 'kind': 'general', 'channel': 'wechat', 'at_release': False}
    """
    # Checked first, so that a bad number is named whatever the events hold.
    _int_in("utc_offset_s", utc_offset_s, -14 * 3600, 14 * 3600)
    _int_in("release_at_min", release_at_min, 0, 24 * 60 - 1)
    _int_in("release_window_s", release_window_s, 0, 86_400)
    import pandas as pd

    cols = _columns_of(events, "events")
    for c in ("at", "kind", "data"):
        if c not in cols:
            raise _invalid(f"events: no column {c!r} (expected the DataFrame of haoyuan.read_journal)")
    start_day = _day_number(start)
    kinds = np.asarray(pd.Series(cols["kind"]).astype(str))
    data = np.asarray(cols["data"], dtype=object)
    at = _epoch_seconds(cols["at"])
    seq = np.asarray(cols["seq"]) if "seq" in cols else np.arange(len(kinds))

    department_specialty: Dict[int, str] = {}
    resource_department: Dict[int, int] = {}
    batches: List[Tuple[int, List[int]]] = []
    channel_name: Dict[int, str] = {i + 1: n for i, n in enumerate(_STANDARD_CHANNELS)}
    urgency: Dict[int, str] = {}
    drawn: Set[int] = set()
    asked: List[Tuple[int, str, Dict[str, Any]]] = []
    requests = {"held", "booked", "lottery_entered"} | ({"waitlist_joined"} if waitlist else set())
    wanted = requests | {"department_added", "resource_added", "slots_published", "channel_added", "referral_issued", "lottery_won"}
    for j in np.flatnonzero(np.isin(kinds, sorted(wanted))):
        k = kinds[j]
        d = json.loads(data[j])
        if k == "department_added":
            department_specialty[d["department"]] = d["specialty"]
        elif k == "resource_added":
            resource_department[d["resource"]] = d["department"]
        elif k == "slots_published":
            batches.append((d["first"], [s["resource"] for s in d["specs"]]))
        elif k == "channel_added":
            channel_name[d["channel"]] = d["name"]
        elif k == "referral_issued":
            urgency[d["referral"]] = d["urgency"]
        elif k == "lottery_won":
            drawn.add(d["booking"])
        else:
            asked.append((int(j), k, d))
    if specialties is not None:
        department_specialty.update({int(k): str(v) for k, v in specialties.items()})
    if channels is not None:
        channel_name.update({int(k): str(v) for k, v in channels.items()})
    batches.sort()
    firsts = [b[0] for b in batches]

    def department_of_slot(slot: int) -> Optional[int]:
        if slot_department is not None and slot in slot_department:
            return int(slot_department[slot])
        b = bisect.bisect_right(firsts, slot) - 1
        if b < 0 or slot - firsts[b] >= len(batches[b][1]):
            return None
        return resource_department.get(batches[b][1][slot - firsts[b]])

    rows: Dict[str, List[Any]] = {c: [] for c in ARRIVAL_COLUMNS if c != "patient"}
    engine_patient: List[int] = []
    without_urgency = 0
    release_s = release_at_min * 60
    for i, k, d in asked:
        where = f"journal event {int(seq[i])} ({k})"
        if k == "held" and d.get("offer") is not None:
            continue  # the engine's hold for a waitlist offer: that request was the entry
        if k == "booked" and d["booking"] in drawn:
            continue  # placed by a lottery draw: that request was the entry
        if k in ("held", "booked"):
            req, follow_up = d, False
        elif k == "lottery_entered":
            req, follow_up = d["request"], bool(d["request"].get("follow_up", False))
        else:
            req = d["entry"]["request"]
            follow_up = bool(req.get("follow_up", False))
        if k == "waitlist_joined":
            department: Optional[int] = req["department"]
        else:
            department = department_of_slot(req["slot"])
            if department is None:
                raise _invalid(
                    f"{where}: slot {req['slot']} was published before the journal's first kept event "
                    "(compacted into a snapshot?); pass slot_department={slot: department}, e.g. from a "
                    "live engine's slot_columns()"
                )
        if department not in department_specialty:
            raise _invalid(
                f"{where}: department {department} was added before the journal's first kept event; "
                "pass specialties={department: specialty}"
            )
        if req["channel"] not in channel_name:
            raise _invalid(f"{where}: channel {req['channel']} has no name in the journal; pass channels={{id: name}}")
        if req.get("referral") is not None:
            u = urgency.get(req["referral"])
            without_urgency += u is None
            kind = f"referral_{u or 'routine'}"
        else:
            kind = "follow_up" if follow_up else "general"
        local = int(at[i]) + utc_offset_s
        at_s = local % 86_400
        rows["day"].append(local // 86_400 - start_day)
        rows["at_s"].append(at_s)
        engine_patient.append(int(req["patient"]))
        rows["specialty"].append(department_specialty[department])
        rows["kind"].append(kind)
        rows["channel"].append(channel_name[req["channel"]])
        rows["at_release"].append(k == "lottery_entered" or release_s <= at_s < release_s + release_window_s)
    ids, dense = np.unique(np.asarray(engine_patient, dtype=np.int64), return_inverse=True)
    frame = pd.DataFrame(
        {
            "day": np.asarray(rows["day"], dtype=np.int64),
            "at_s": np.asarray(rows["at_s"], dtype=np.int64),
            "patient": dense.reshape(-1).astype(np.int64),
            **{c: pd.Categorical(rows[c]) for c in _TEXT},
            "at_release": np.asarray(rows["at_release"], dtype=bool),
        }
    )
    frame = frame.sort_values(["day", "at_s"], kind="stable").reset_index(drop=True)
    frame.attrs["patients"] = _Shared(ids.tolist())
    frame.attrs["referrals_without_urgency"] = int(without_urgency)
    return frame


# ------------------------------------------------------------------ the no-show model

_NO_SHOW_COLUMNS = ("lead_days", "past_no_shows", "no_show")


def _fit(lead: np.ndarray, past: np.ndarray, y: np.ndarray, what: str) -> Dict[str, float]:
    """Least squares of the linear-probability model ``y ≈ base + a·lead + b·past``, each
    coefficient clipped to 0 ..= 1 (the simulator's bounds)."""
    x = np.column_stack([np.ones(len(y)), lead, past])
    if len(y) < 3 or np.linalg.matrix_rank(x) < 3:
        raise ValueError(
            f"{what}: cannot fit base, per_lead_day and per_past_no_show from {len(y)} bookings: "
            "lead_days and past_no_shows must both vary, and not in step"
        )
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    base, per_lead, per_past = (float(min(max(b, 0.0), 1.0)) for b in beta)
    return {"base": base, "per_lead_day": per_lead, "per_past_no_show": per_past}


def calibrate_no_show(bookings: Any, by: Optional[str] = None) -> Dict[str, Any]:
    """Fit the demand's no-show model to recorded bookings: ``base``, ``per_lead_day`` and
    ``per_past_no_show`` of ``p = base + per_lead_day × lead days + per_past_no_show × past
    no-shows`` (the model the simulator draws from), by least squares of that
    linear-probability model, each clipped to 0 ..= 1.

    ``bookings``: a DataFrame, dict of columns or list of row dicts, one row per booking that
    reached its visit date, with ``lead_days`` (float ≥ 0: days from booking to the visit),
    ``past_no_shows`` (int ≥ 0: the patient's no-shows within the demand's
    ``no_show.history_days`` before the visit — the simulator counts at most 4) and ``no_show``
    (bool). Cancelled bookings do not belong in it. Returns the dict to pass as
    ``demand(no_show=...)`` (merged into the preset's, so ``max`` and ``history_days`` stay);
    with ``by="tier"`` or ``by="specialty"`` (a column of that name), a dict of group → such a
    dict. The simulator takes one model per demand: per-group fits show where the city differs,
    e.g. to run one specialty with its own. Missing columns, an empty table or a NaN raise
    ``ValueError``; so does a group whose lead times or histories do not vary.

    Least squares on 0/1 outcomes is unbiased for a linear model; its standard errors are at
    most ``0.5 / sqrt(n)`` over the spread of each regressor (a Bernoulli's deviation is at most
    0.5): ten thousand bookings pin ``base`` to about a point.

        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> lead = rng.uniform(0, 14, 20_000); past = rng.integers(0, 3, 20_000)
        >>> y = rng.random(20_000) < 0.1 + 0.01 * lead + 0.1 * past
        >>> m = calibrate_no_show({"lead_days": lead, "past_no_shows": past, "no_show": y})
        >>> {k: round(v, 2) for k, v in m.items()}
        {'base': 0.1, 'per_lead_day': 0.01, 'per_past_no_show': 0.1}
    """
    try:
        cols = _columns_of(bookings, "bookings")
    except TypeError as e:
        raise ValueError(str(e)) from None
    for c in _NO_SHOW_COLUMNS:
        if c not in cols:
            raise ValueError(f"bookings: no column {c!r}; needed: {', '.join(_NO_SHOW_COLUMNS)}")
    if by is not None and by not in ("tier", "specialty"):
        raise ValueError(f"by must be None, 'tier' or 'specialty', got {by!r}")
    if by is not None and by not in cols:
        raise ValueError(f"bookings: no column {by!r} to group by")
    n = len(cols["no_show"])
    if n == 0:
        raise ValueError("bookings: the table is empty")
    if any(len(cols[c]) != n for c in _NO_SHOW_COLUMNS + ((by,) if by else ())):
        raise ValueError("bookings: columns of different lengths")

    def numbers(name: str) -> np.ndarray:
        try:
            a = np.asarray(cols[name], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"bookings: column {name} must hold numbers") from None
        bad = ~np.isfinite(a) | (a < 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"bookings row {i}: {name} {a[i].item()!r} must be a finite number >= 0 (NaN is not)")
        return a

    lead = numbers("lead_days")
    past = numbers("past_no_shows")
    if (past != np.floor(past)).any():
        i = int(np.argmax(past != np.floor(past)))
        raise ValueError(f"bookings row {i}: past_no_shows {past[i].item()!r} is not a whole number")
    y = numbers("no_show")
    if ((y != 0) & (y != 1)).any():
        i = int(np.argmax((y != 0) & (y != 1)))
        raise ValueError(f"bookings row {i}: no_show {y[i].item()!r} is not a bool")
    if by is None:
        return _fit(lead, past, y, "bookings")
    groups = np.asarray(cols[by], dtype=object)
    missing = np.array([g is None or (isinstance(g, float) and math.isnan(g)) for g in groups], dtype=bool)
    if missing.any():
        raise ValueError(f"bookings row {int(np.argmax(missing))}: {by} is missing")
    keys: Dict[Any, None] = dict.fromkeys(groups.tolist())
    return {g: _fit(lead[groups == g], past[groups == g], y[groups == g], f"{by} {g!r}") for g in keys}

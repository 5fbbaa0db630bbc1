"""haoyuan — one region-wide pool of hospital appointment slots (号源), from Python.

The engine is the Rust crate ``haoyuan``; this package is a thin layer over its private native
module ``haoyuan._native``. Every engine call releases the GIL, so several Python threads can
drive one engine; the bulk forms (``publish_slots_arrays``, ``book_many``, ``lifecycle_many``,
``find_free_many``) take and return NumPy arrays so that no Python loop sits on a hot path.
Bookings, slots and events convert to pandas DataFrames and Arrow tables.

Durability: ``DurableEngine(dir, ...)`` is an ``Engine`` that journals every acknowledged
operation in a directory and recovers it when opened again (``read_journal`` reads the journal
into a DataFrame). ``with engine.pipeline() as p:`` runs calls without waiting for the journal,
``engine.wait_durable(p.ticket)`` (or ``await engine.durable(p.ticket)``) then waits once for
all of them; the mutating bulk calls do the same by themselves.

Names follow the domain vocabulary: institutions (tier, district), departments, resources,
rosters, slots, pools, patients and cards, channels, holds and bookings, referrals, waitlists,
no-shows and suspensions. Ids are ints, dates ``datetime.date``, instants int seconds since the
Unix epoch (``to_datetime`` turns one into an aware ``datetime``), enums their snake_case names.

Ids of every kind start at 1: 0 is never a valid id (looking it up is ``NotFound``), which is
why the bulk calls can return 0 for a refused row. An integer argument outside its range
(negative, beyond the id's width), a bool or a float where an int belongs is
``InvalidArgument`` — in every call, scalar or array — and changes nothing.

Errors are ``HaoyuanError`` subclasses, one per domain error (``SlotFull``,
``PatientSuspended``, ``NotOpenYet``, ``LimitReached`` …); each carries ``code`` (the stable
number shared with the C ABI), its fields as attributes (``e.slot``, ``e.until`` …) and as the
dict ``e.fields``.

Threads and processes: parallel work runs on a rayon pool owned by this process; a forked child
builds its own, so ``multiprocessing`` with ``fork`` cannot deadlock on the parent's.
``HAOYUAN_PARALLELISM=false`` runs it on one worker, ``HAOYUAN_NUM_THREADS=n`` sizes it.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, Iterable, Sequence, Union

import numpy as np

from . import _native
from ._native import (
    BOOKING_STATES,
    BULK_ROWS_MAX,
    BUNDLED_COMPLAINT_TABLE,
    FSYNC_BUCKETS_S,
    INSTANT_MAX,
    JOURNAL_EVENTS_MAX,
    POOLS,
    PUBLISH_SLOTS_MAX,
    RECOMMEND_LIMIT_MAX,
    GROUP_PLACES_MAX,
    Alternative,
    BoardRow,
    Booking,
    BookingClosed,
    CapacityExceeded,
    Card,
    CardTaken,
    Channel,
    DayAvailability,
    Department,
    Durability,
    EngineStats,
    Event,
    FhirError,
    FreeSlot,
    HaoyuanError,
    HoldExpired,
    Institution,
    InvalidArgument,
    InvalidDate,
    InvalidPolicy,
    LimitReached,
    LotteryWindow,
    NotFound,
    NotManualClock,
    NotOpenYet,
    PatientMerged,
    PatientRecord,
    PatientSuspended,
    Pipeline,
    Policy,
    Recommendation,
    Referral,
    ReferralInvalid,
    Resource,
    ResourceStats,
    Roster,
    SlotClosed,
    SlotFull,
    SlotInfo,
    Submission,
    SuspensionReport,
    WaitlistEntry,
    WrongState,
    num_threads,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import os

    import pandas
    import pyarrow

__version__: str = _native.__version__

#: Exception class of each stable error code (``book_many`` and ``lifecycle_many`` return codes),
#: from the engine's one error table.
ERROR_CLASSES: dict[int, type[HaoyuanError]] = {code: getattr(_native, name) for code, name, _ in _native.ERROR_TABLE}
#: Stable error code of each exception class name; 0 means success in the bulk results.
ERROR_CODES: dict[str, int] = {cls.__name__: code for code, cls in ERROR_CLASSES.items()}

DateLike = Union[_dt.date, str]
_EPOCH = _dt.date(1970, 1, 1)


def _invalid(msg: str) -> InvalidArgument:
    """An ``InvalidArgument`` raised by the Python layer, shaped like the engine's own."""
    e = InvalidArgument(f"invalid argument: {msg}")
    e.code = 10  # type: ignore[attr-defined]
    e.detail = msg  # type: ignore[attr-defined]
    e.fields = {"detail": msg}  # type: ignore[attr-defined]
    return e


def _int(value: Any, lo: int, hi: int, name: str) -> int:
    """An integer argument checked in Python (as the native module checks its own): a bool, a
    float or a value outside ``lo ..= hi`` is ``InvalidArgument`` naming the value."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise _invalid(f"{name} must be an integer in {lo} ..= {hi}, got {type(value).__name__} {value!r}")
    v = int(value)
    if not lo <= v <= hi:
        raise _invalid(f"{name} {v} is out of range {lo} ..= {hi}")
    return v


def error_name(code: int) -> str:
    """The exception name of a bulk error code (``"ok"`` for 0)."""
    code = _int(code, 0, 2**32 - 1, "error code")
    if code == 0:
        return "ok"
    cls = ERROR_CLASSES.get(code)
    return cls.__name__ if cls is not None else f"unknown({code})"


def to_datetime(ts: int) -> _dt.datetime:
    """An engine instant (int seconds since the epoch, ``0 ..= INSTANT_MAX``) as an aware UTC
    ``datetime``."""
    return _dt.datetime.fromtimestamp(_int(ts, 0, INSTANT_MAX, "instant"), tz=_dt.timezone.utc)


def day_number(date: DateLike) -> int:
    """Days since 1970-01-01 of a date (the form the array calls use)."""
    if isinstance(date, str):
        try:
            date = _dt.date.fromisoformat(date)
        except ValueError:
            raise _invalid(f"{date!r} is not a date YYYY-MM-DD") from None
    if isinstance(date, _dt.datetime):
        raise _invalid("expected a datetime.date, got a datetime.datetime (use .date())")
    if not isinstance(date, _dt.date):
        raise _invalid(f"expected a datetime.date or 'YYYY-MM-DD', got {type(date).__name__} {date!r}")
    return (date - _EPOCH).days


_I32 = np.iinfo(np.int32)


def _array(values: Any, name: str) -> np.ndarray:
    try:
        return np.asarray(values)
    except (TypeError, ValueError, OverflowError) as e:
        raise _invalid(f"{name} must be a sequence of one kind of value: {e}") from None


def _in_range(arr: np.ndarray, lo: int, hi: int, name: str) -> None:
    """Every value of an integer array within ``lo ..= hi``, or ``InvalidArgument`` naming the
    first that is not (vectorised: the array calls take millions of rows)."""
    if arr.size and (arr.min() < lo or arr.max() > hi):
        bad = arr.ravel()[(arr.ravel() < lo) | (arr.ravel() > hi)][0]
        raise _invalid(f"{name} has {int(bad)}, outside {lo} ..= {hi}")


def _days(values: Any, name: str = "date") -> np.ndarray:
    """Dates as int32 day numbers: accepts ``datetime64`` arrays, ints, dates or ISO strings
    (the native call checks that each names a day of the engine's calendar)."""
    arr = _array(values, name)
    if np.issubdtype(arr.dtype, np.datetime64):
        if arr.size and np.isnat(arr).any():
            raise _invalid(f"{name} holds NaT")
        arr = arr.astype("datetime64[D]").astype(np.int64)
    if arr.dtype.kind in "iu":
        _in_range(arr, _I32.min, _I32.max, name)
        return arr.astype(np.int32)
    if arr.dtype.kind == "b":
        raise _invalid(f"{name} must hold dates or day numbers, got bool")

    def one(v: Any) -> int:
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            return _int(v, _I32.min, _I32.max, name)
        return day_number(v)

    return np.array([one(v) for v in arr.ravel()], dtype=np.int32).reshape(arr.shape)


def _u(values: Any, dtype: Any, name: str) -> np.ndarray:
    """A one-dimensional integer array of ``dtype``, or ``InvalidArgument`` naming the first
    value outside it (negative, too wide, a bool or a float)."""
    info = np.iinfo(dtype)
    arr = _array(values, name)
    if arr.ndim != 1:
        raise _invalid(f"{name} must be one-dimensional")
    if arr.size == 0:
        return np.zeros(0, dtype=dtype)
    if arr.dtype.kind == "O":
        # Python ints beyond 64 bits (or mixed with other objects): numpy keeps them as objects.
        return np.array([_int(v, int(info.min), int(info.max), name) for v in arr.tolist()], dtype=dtype)
    if arr.dtype.kind not in "iu":
        raise _invalid(f"{name} must hold integers, got {arr.dtype} such as {arr.ravel()[0].item()!r}")
    _in_range(arr, int(info.min), int(info.max), name)
    return np.ascontiguousarray(arr, dtype=dtype)


def _require(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"{module} is needed for this call: pip install 'haoyuan[{extra}]'") from e


def _frame(columns: dict[str, Any]) -> "pandas.DataFrame":
    pd = _require("pandas", "pandas")
    return pd.DataFrame(columns)


def _dates(days: Any) -> np.ndarray:
    """Day numbers as ``datetime64[s]`` (pandas' unit for dates without a time; the same under
    pandas 2 and 3)."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[s]")


def _instants(seconds: Any) -> Any:
    """Engine instants (int seconds) as ``datetime64[s, UTC]`` values. The unit is stated, not
    left to pandas: ``to_datetime(unit="s")`` gives nanoseconds under pandas 2 and microseconds
    under pandas 3, and code that reads the integers (``.astype("int64")``) must not depend on it."""
    pd = _require("pandas", "pandas")
    return pd.to_datetime(np.asarray(seconds, dtype=np.int64), unit="s", utc=True).as_unit("s")


def _booking_frame_columns(cols: dict[str, np.ndarray]) -> dict[str, Any]:
    pd = _require("pandas", "pandas")
    out: dict[str, Any] = dict(cols)
    out["state"] = pd.Categorical.from_codes(cols["state"].astype(np.int8), categories=list(BOOKING_STATES))
    out["pool"] = pd.Categorical.from_codes(cols["pool"].astype(np.int8), categories=list(POOLS))
    out["date"] = _dates(cols["date"])
    for c in ("created_at", "expires_at", "starts_at"):
        out[c] = _instants(cols[c])
    return out


def _arrow_table(cols: dict[str, Any], categorical: dict[str, Sequence[str]], dates: Sequence[str], instants: Sequence[str]) -> "pyarrow.Table":
    pa = _require("pyarrow", "arrow")
    arrays: dict[str, Any] = {}
    for name, values in cols.items():
        if name in categorical:
            arrays[name] = pa.DictionaryArray.from_arrays(pa.array(np.asarray(values, dtype=np.int8)), pa.array(list(categorical[name])))
        elif name in dates:
            arrays[name] = pa.array(np.asarray(values).astype("datetime64[D]"), type=pa.date32())
        elif name in instants:
            arrays[name] = pa.array(np.asarray(values, dtype=np.int64), type=pa.int64()).cast(pa.timestamp("s", tz="UTC"))
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays)


class Subscription:
    """The engine's events from the moment of ``Engine.subscribe()``, polled by the caller.

    Unread events wait in a bounded queue (``capacity`` events): poll regularly. With
    ``overflow="disconnect"`` (the default) a full queue cuts the subscription off — ``cut_off``
    turns true and the missed events show as a gap in ``seq``; with ``overflow="block"`` the
    engine call that emitted the event waits until there is room.
    """

    __slots__ = ("_native",)

    def __init__(self, native: _native.Subscription) -> None:
        self._native = native

    def poll(self, max_events: int = 100_000, timeout_s: float = 0.0) -> list[Event]:
        """Events that have arrived, in sequence order; waits up to ``timeout_s`` for the first."""
        return self._native.poll(max_events, timeout_s)

    def poll_columns(self, max_events: int = 1_000_000) -> dict[str, Any]:
        """Events that have arrived, as columns (see ``to_pandas``)."""
        return self._native.poll_columns(max_events)

    def try_recv(self) -> Event | None:
        """The next event if one is waiting, else None; never waits."""
        return self._native.try_recv()

    def recv(self, timeout_s: float | None = None) -> Event | None:
        """Wait for the next event, at most ``timeout_s`` seconds (None: until one arrives or the
        subscription ends); None on timeout or end."""
        return self._native.recv(timeout_s)

    def pending(self) -> int:
        """Events waiting to be polled."""
        return self._native.pending()

    @property
    def capacity(self) -> int:
        """The queue's size (events)."""
        return self._native.capacity

    @property
    def cut_off(self) -> bool:
        """Whether the engine cut this subscription off because its queue was full."""
        return self._native.cut_off

    def to_pandas(self, max_events: int = 1_000_000) -> "pandas.DataFrame":
        """Drain waiting events into a DataFrame: seq, at (``datetime64[s, UTC]``), kind, booking, slot, patient
        (-1 where the event has none) and data (the event's fields as JSON text)."""
        return events_to_pandas(self.poll_columns(max_events))

    def to_arrow(self, max_events: int = 1_000_000) -> "pyarrow.Table":
        """Drain waiting events into an Arrow table (the columns of ``to_pandas``)."""
        return events_to_arrow(self.poll_columns(max_events))

    def __repr__(self) -> str:
        return f"Subscription(pending={self.pending()}, capacity={self.capacity}, cut_off={self.cut_off})"


def _event_columns(source: Union[Subscription, Iterable[Event], dict[str, Any]]) -> dict[str, Any]:
    import json

    if isinstance(source, Subscription):
        return source.poll_columns()
    if isinstance(source, dict):
        return source
    events = list(source)
    cols: dict[str, Any] = {
        "seq": np.array([e.seq for e in events], dtype=np.uint64),
        "at": np.array([e.at for e in events], dtype=np.int64),
        "kind": [e.kind for e in events],
    }
    for key in ("booking", "slot", "patient"):
        cols[key] = np.array([int(e.data.get(key, -1)) if isinstance(e.data.get(key, -1), int) else -1 for e in events], dtype=np.int64)
    cols["data"] = [json.dumps(e.data) for e in events]
    return cols


def events_to_pandas(source: Union[Subscription, Iterable[Event], dict[str, Any]]) -> "pandas.DataFrame":
    """Events (a subscription, which is drained, or a list of ``Event``) as a DataFrame."""
    pd = _require("pandas", "pandas")
    cols = dict(_event_columns(source))
    cols["at"] = _instants(cols["at"])
    cols["kind"] = pd.Categorical(cols["kind"])
    return pd.DataFrame(cols)


def events_to_arrow(source: Union[Subscription, Iterable[Event], dict[str, Any]]) -> "pyarrow.Table":
    """Events as an Arrow table (the columns of ``events_to_pandas``)."""
    cols = dict(_event_columns(source))
    return _arrow_table(cols, {}, (), ("at",))


class Engine(_native.Engine):
    """The engine: one region-wide pool of slots shared by every channel.

    ``Engine(policy=None, *, start=None, utc_offset_s=28800, card_key=None)``: on the system
    clock, or with ``start`` (int seconds or an aware datetime) on a manual clock that moves only
    through ``advance_clock`` / ``advance_to`` — the form for tests and simulations. ``policy`` is
    a ``Policy``, a dict, or TOML / JSON text; fields not given keep their defaults.

    Card numbers are personal information: the engine keeps a keyed digest and a masked form
    (``4419**********1234``), never the number. ``card_key`` (32 bytes, or 64 hex characters)
    is the deployment's secret for the digest; ``None`` takes ``HAOYUAN_CARD_KEY`` /
    ``HAOYUAN_CARD_KEY_FILE`` from the environment, else a random key for this engine.
    """

    def subscribe(  # type: ignore[override]
        self, capacity: int = 65536, overflow: str = "disconnect", kinds: Sequence[str] | None = None
    ) -> Subscription:
        """Receive every event emitted from now on, through a queue of ``capacity`` events;
        ``overflow`` is ``"disconnect"`` (cut off when full; the engine never waits) or
        ``"block"`` (the emitting call waits for room, outside every lock — never poll such a
        subscription from a thread that also calls the engine).

        ``kinds``, a list of event type names (an event's ``kind``: ``"cancelled"``,
        ``"expired"`` …), receives those alone: the others take no room in the queue and show
        as gaps in ``seq``. A ``"group"`` event comes when it holds a type named. An unknown
        name raises ``InvalidArgument``, naming the known ones.

        >>> e = Engine(start=0)
        >>> sub = e.subscribe(kinds=["cancelled", "expired"])
        >>> _ = e.register_patient()
        >>> sub.poll()
        []
        """
        if isinstance(kinds, str):
            raise TypeError("kinds is a list of names, not one string: kinds=[%r]" % kinds)
        return Subscription(super().subscribe(capacity, overflow, None if kinds is None else list(kinds)))

    # ---------------------------------------------------------------- durability

    async def durable(self, ticket: int) -> None:
        """Wait (asyncio) until everything up to ``ticket`` is on stable storage; raises
        ``Durability`` if the journal failed first. ``await engine.durable(p.ticket)`` after a
        pipeline is the asyncio form of ``wait_durable``: the event loop is never blocked (the
        engine calls back through ``on_durable`` and ``loop.call_soon_threadsafe``). Cancelling
        the awaiting task is safe; the ticket then simply goes unobserved."""
        import asyncio

        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:  # on the event loop
            if future.done():  # cancelled meanwhile
                return
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        def done(error: BaseException | None) -> None:  # on haoyuan's callback thread
            try:
                loop.call_soon_threadsafe(settle, error)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

        self.on_durable(ticket, done)
        await future

    # ---------------------------------------------------------------- bulk with conversions

    def publish_slots_arrays(self, resource: Any, date: Any, start_min: Any, end_min: Any, capacity: Any) -> range:  # type: ignore[override]
        """Publish one slot per row of equal-length arrays (``date`` as ``datetime64``, day
        numbers, dates or ISO strings). All or nothing; returns the new ids as a ``range``."""
        return super().publish_slots_arrays(
            _u(resource, np.uint32, "resource"),
            _days(date),
            _u(start_min, np.uint16, "start_min"),
            _u(end_min, np.uint16, "end_min"),
            _u(capacity, np.uint16, "capacity"),
        )

    def book_many(self, patient: Any, slot: Any, channel: Any, *, hold: bool = False, parallel: bool = False) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        """Book (or hold) one request per row; returns ``(booking_ids, error_codes)`` arrays
        (code 0 = booked; see ``ERROR_CLASSES``): a refused row has booking id 0, which is never
        a valid id. ``channel`` may be one channel id or name for every row."""
        patient = _u(patient, np.uint32, "patient")
        if isinstance(channel, str):
            channel = self.channel_id(channel)
        if np.ndim(channel) == 0:
            channel = np.full(len(patient), _int(channel, 0, 2**16 - 1, "channel"), dtype=np.uint16)
        return super().book_many(patient, _u(slot, np.uint32, "slot"), _u(channel, np.uint16, "channel"), hold=hold, parallel=parallel)

    def hold_many(self, patient: Any, slot: Any, channel: Any, *, parallel: bool = False) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        """Hold one request per row; as ``book_many(..., hold=True)``."""
        return self.book_many(patient, slot, channel, hold=True, parallel=parallel)

    def lifecycle_many(self, action: str, booking: Any) -> np.ndarray:  # type: ignore[override]
        """Apply ``confirm``/``cancel``/``check_in``/``fulfil``/``mark_no_show`` to each id;
        returns the error code per row (0 = done)."""
        return super().lifecycle_many(action, _u(booking, np.uint64, "booking"))

    def find_free_many(self, department: Any, date_from: Any, date_to: Any = None, *, limit: int = 1) -> dict[str, np.ndarray]:  # type: ignore[override]
        """One availability query per row; returns columns ``query`` (row), ``slot``, ``date``,
        ``start_min``, ``free``, ``starts_at``, up to ``limit`` results per query."""
        dep = _u(department, np.uint32, "department")
        f = _days(date_from, "date_from")
        t = f if date_to is None else _days(date_to, "date_to")
        if f.ndim == 0 or f.size == 1 and dep.size > 1:
            f = np.full(dep.size, int(f.ravel()[0]), dtype=np.int32)
        if t.ndim == 0 or t.size == 1 and dep.size > 1:
            t = np.full(dep.size, int(t.ravel()[0]), dtype=np.int32)
        return super().find_free_many(dep, f, t, limit=limit)

    def slot_columns(self, slots: Any = None) -> dict[str, np.ndarray]:  # type: ignore[override]
        """Every slot (or the ids in ``slots``) as a dict of column arrays."""
        return super().slot_columns(None if slots is None else _u(slots, np.uint32, "slots"))

    def booking_columns(self, patients: Any = None) -> dict[str, np.ndarray]:  # type: ignore[override]
        """Every hold and booking (or those of ``patients``) as a dict of column arrays."""
        return super().booking_columns(None if patients is None else _u(patients, np.uint32, "patients"))

    # ---------------------------------------------------------------- tables

    def bookings_to_pandas(self, patients: Any = None) -> "pandas.DataFrame":
        """Every hold and booking (or those of ``patients``) as a DataFrame, one row each:
        id, patient, slot, department, date, channel, state, pool, referral and offer (-1 for
        none), created_at, expires_at, starts_at (``datetime64[s, UTC]``; date ``datetime64[s]``)."""
        return _frame(_booking_frame_columns(self.booking_columns(patients)))

    def bookings_to_arrow(self, patients: Any = None) -> "pyarrow.Table":
        """Every hold and booking as an Arrow table (the columns of ``bookings_to_pandas``)."""
        cols = self.booking_columns(patients)
        return _arrow_table(cols, {"state": BOOKING_STATES, "pool": POOLS}, ("date",), ("created_at", "expires_at", "starts_at"))

    def slots_to_pandas(self, slots: Any = None) -> "pandas.DataFrame":
        """Every slot (or ``slots``) as a DataFrame: places and places taken over all pools."""
        pd = _require("pandas", "pandas")
        cols = dict(self.slot_columns(slots))
        cols["date"] = _dates(cols["date"])
        cols["starts_at"] = _instants(cols["starts_at"])
        return pd.DataFrame(cols)

    def load_board_to_pandas(self, specialty: str, district: str) -> "pandas.DataFrame":
        """The live load board (``load_board``) as a DataFrame, one row per department, least
        expected wait first: institution, institution_name, department, department_name, tier,
        date (``datetime64[s]``), half_day, queue, mean_service_interval_s, expected_wait_s,
        free_today, free_beds_tonight."""
        pd = _require("pandas", "pandas")
        rows = self.load_board(specialty, district)
        names = ("institution", "institution_name", "department", "department_name", "tier", "date",
                 "half_day", "queue", "mean_service_interval_s", "expected_wait_s", "free_today",
                 "free_beds_tonight")
        cols = {n: [getattr(r, n) for r in rows] for n in names}
        cols["date"] = np.array(cols["date"], dtype="datetime64[s]")
        return pd.DataFrame(cols)

    def recommend_to_pandas(self, district: str, date_from: Any, date_to: Any = None, **kw: Any) -> "pandas.DataFrame":
        """Recommendations (``recommend``, same arguments) as a DataFrame, one row per
        recommendation, best first: rank, institution, institution_name, tier, district,
        same_district, department, department_name, specialty, resource, resource_name, slot,
        date (``datetime64[s]``), start_min, free, starts_at (UTC instant), expected_wait_s
        (a nullable ``Int64``: missing when unknown), urgency, reason, reason_text."""
        pd = _require("pandas", "pandas")
        rows = self.recommend(district, date_from, date_to, **kw)
        names = ("rank", "institution", "institution_name", "tier", "district", "same_district",
                 "department", "department_name", "specialty", "resource", "resource_name")
        cols: dict[str, Any] = {n: [getattr(r, n) for r in rows] for n in names}
        cols["slot"] = [r.earliest.slot for r in rows]
        cols["date"] = np.array([r.earliest.date for r in rows], dtype="datetime64[s]")
        cols["start_min"] = [r.earliest.start_min for r in rows]
        cols["free"] = [r.earliest.free for r in rows]
        cols["starts_at"] = _instants([r.earliest.starts_at for r in rows])
        cols["expected_wait_s"] = pd.array([r.expected_wait_s for r in rows], dtype="Int64")
        for n in ("urgency", "reason", "reason_text"):
            cols[n] = [getattr(r, n) for r in rows]
        return pd.DataFrame(cols)

    def slots_to_arrow(self, slots: Any = None) -> "pyarrow.Table":
        """Every slot (or ``slots``) as an Arrow table."""
        cols = self.slot_columns(slots)
        return _arrow_table(cols, {}, ("date",), ("starts_at",))


class DurableEngine(_native.DurableEngine, Engine):
    """An ``Engine`` whose every acknowledged operation is journaled in a directory; opening
    the directory again recovers the state (newest snapshot, then the journal after it).

    ``DurableEngine(dir, policy=None, *, mode="sync", fsync_interval_ms=100, max_unflushed=4096,
    start=None, utc_offset_s=None, card_key=None)`` opens ``dir`` (a str or path), creating it if
    needed. Every ``Engine`` method works unchanged.

    - ``mode``: ``"sync"`` — a call returns only once its events are fsynced (concurrent calls
      share one fsync), so nothing acknowledged is ever lost; ``"buffered"`` — a writer fsyncs
      every ``fsync_interval_ms`` (1 ..= 60000) and a call never runs more than
      ``max_unflushed`` journal records (1 ..= 1000000) ahead of the last fsync, the most a crash
      can lose; ``"none"`` — recover the directory but write nothing more (replays, studies).
    - ``policy`` and ``utc_offset_s`` are stored with a new directory; an existing one is opened
      with its own unless they are given, and then they must be the same (``InvalidArgument``).
    - ``start``: a manual clock that starts at the later of ``start`` and the latest event time
      found in the directory (as ``Engine(start=t)``; ``DurableEngine.with_manual_clock``).
    - ``card_key`` (32 bytes or 64 hex characters): the deployment's secret under which card
      numbers are hashed; without it ``HAOYUAN_CARD_KEY`` / ``HAOYUAN_CARD_KEY_FILE``. A durable
      engine refuses to open without one (``InvalidArgument``), or with another key than the
      directory was written with.

    One engine per directory: a second open, here or in another process, raises ``Durability``.
    ``close()`` (or the end of a ``with DurableEngine(...) as e:`` block) flushes and releases the
    directory; every later call raises ``Durability``. ``snapshot()`` compacts the journal,
    ``flush()`` makes everything durable, ``recovery_report`` tells what opening found,
    ``journal_stats()`` counts fsyncs. ``metrics()`` (a dict) and ``metrics_prometheus()``
    (Prometheus text) are the operator metrics of every ``Engine``; on a durable one they add
    the journal's queue, fsync latencies (histogram over ``FSYNC_BUCKETS_S``) and durable lag.

    Replication to a standby on another machine: ``replicate="0.0.0.0:7400"`` serves the
    journal over TCP to ``Standby.connect`` followers (at most 4; ``"127.0.0.1:0"`` picks a free
    port, read it from ``replication_addr``; ``followers()`` counts them).
    ``replication_mode="async"`` acknowledges once fsynced locally (a follower on another
    machine misses, if this machine dies, what it had not yet received: its ``records_behind``);
    ``"ack_after_follower"`` only once a follower has fsynced it too, so nothing acknowledged is
    lost with the machine. Without a follower such a call waits ``ack_timeout_ms`` (1 ..=
    3600000), then raises ``Durability``: it is applied and durable here but **not acknowledged**
    — do not report it to the patient; a retry with the same request key returns its outcome.

    Pipelining: ``with engine.pipeline() as p:`` — calls on this thread return at once without
    waiting for the fsync; acknowledge them only after ``engine.wait_durable(p.ticket)`` returned
    True (or ``await engine.durable(p.ticket)``). ``book_many``, ``hold_many`` and
    ``lifecycle_many`` pipeline their rows and wait once at the end.
    """


class Standby(_native.Standby):
    """A hot standby: a read-only copy of a ``DurableEngine`` that follows its directory (on
    the same machine), ready to take over when the leader is gone.

    ``Standby(dir, *, card_key=None, start=None, poll_interval_ms=None)`` opens ``dir``
    read-only (it never takes the LOCK and never writes there) and recovers its state as opening
    it would. ``catch_up()`` applies what the leader appended since (a record still being
    written is left for the next call); with ``poll_interval_ms`` (1 ..= 600000) a background
    thread does that until ``close()``. ``lag()`` tells how far behind it is (a dict).

    Read-only: it has queries (``booking``, ``slot``, ``stats``, ``state_digest``,
    ``last_event_seq``) and no call that changes state, so it never diverges from the leader.

    ``promote(mode="sync", ...)`` returns a ``DurableEngine`` on the directory once the leader is
    gone: while the leader holds the LOCK it raises ``Durability`` (and the standby goes on);
    after that check the standby is consumed.

    On another machine: ``Standby.connect(leader, dir)`` (the same as ``Standby(dir,
    leader=leader)``) connects to a leader opened with ``DurableEngine(..., replicate=...)``,
    receives its journal into ``dir`` — this standby's own durable directory, created if needed
    and resumed if it holds records — and applies records as they come. ``streaming`` is False
    once the stream stopped (leader gone, cut off, bad input: ``lag()["last_error"]`` says
    why); connect again to resume. A stream standby has no leader LOCK to look at: promoting it
    while the old leader still runs elsewhere is the operator's decision.
    """

    @classmethod
    def connect(
        cls,
        leader: str,
        dir: Union[str, "os.PathLike[str]"],
        *,
        card_key: Union[bytes, str, None] = None,
        start: Any = None,
    ) -> "Standby":
        """Follow the leader at ``leader`` (``"host:port"``) into ``dir`` (see the class docstring)."""
        return cls(dir, card_key=card_key, start=start, leader=leader)

    def promote(self, *, mode: str = "sync", fsync_interval_ms: int = 100, max_unflushed: int = 4096) -> "DurableEngine":
        """The leader now: a ``DurableEngine`` on the directory (see the class docstring)."""
        return DurableEngine(
            self.dir, mode=mode, fsync_interval_ms=fsync_interval_ms, max_unflushed=max_unflushed, standby=self
        )

    def __enter__(self) -> "Standby":
        return self

    def __exit__(self, *args: object) -> bool:
        self.close()
        return False


def read_journal_columns(dir: Union[str, "os.PathLike[str]"], max_events: int = 1_000_000) -> dict[str, Any]:
    """The journaled events of a durable directory as columns (see ``read_journal``)."""
    return _native.read_journal_columns(dir, max_events)


def read_journal(dir: Union[str, "os.PathLike[str]"], max_events: int = 1_000_000) -> "pandas.DataFrame":
    """Every journaled event still on disk in a durable directory (the journal after the oldest
    kept snapshot: older events were compacted into it), one row per event in sequence order,
    with the columns of ``events_to_pandas``: seq, at (``datetime64[s, UTC]``), kind (the event
    type, categorical), booking, slot, patient (-1 where the event has none) and data (the
    event's fields as JSON text). Safe on a directory that an engine holds open (it ends at the
    last complete record). More than ``max_events`` (at most ``JOURNAL_EVENTS_MAX``) events is
    ``CapacityExceeded``; a damaged journal is ``Durability``.

    The card key is the environment's (``HAOYUAN_CARD_KEY`` / ``HAOYUAN_CARD_KEY_FILE``), if set:
    segments are then checked against it, and segments of the first format (plain card numbers)
    need it to be read at all."""
    return events_to_pandas(read_journal_columns(dir, max_events))


def read_journal_arrow(dir: Union[str, "os.PathLike[str]"], max_events: int = 1_000_000) -> "pyarrow.Table":
    """The journaled events of a durable directory as an Arrow table (the columns of
    ``read_journal``)."""
    return events_to_arrow(read_journal_columns(dir, max_events))


# ------------------------------------------------------------------ deprecated names
# Former names kept for code written against them: each use warns (DeprecationWarning) and
# names its replacement. docs/faces.md lists them with the names of every face.
_DEPRECATED = {"Slot": ("SlotInfo", SlotInfo)}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        import warnings

        new, value = _DEPRECATED[name]
        warnings.warn(f"haoyuan.{name} is deprecated: use haoyuan.{new}", DeprecationWarning, stacklevel=2)
        return value
    raise AttributeError(f"module 'haoyuan' has no attribute {name!r}")


# ------------------------------------------------------------------ FHIR R4 (haoyuan::fhir)
# Thin JSON wrappers: the engine speaks FHIR JSON text; these take and return dicts. A refusal
# raises FhirError, whose `outcome` is the OperationOutcome dict.


def _fhir_json(text: str) -> dict[str, Any]:
    import json

    out: dict[str, Any] = json.loads(text)
    return out


def _fhir_dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def fhir_find(engine: Engine, params: dict[str, Any]) -> dict[str, Any]:
    """`$find`: IHE parameters (a `Parameters` resource or a plain object) -> searchset Bundle."""
    return _fhir_json(_native.fhir_find(engine, _fhir_dumps(params)))


def fhir_hold(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """`$hold`: `{"slot": "Slot/slot-N", "patient": "Patient/patient-N", "channel": ...}` -> pending Appointment."""
    return _fhir_json(_native.fhir_hold(engine, _fhir_dumps(request)))


def fhir_book(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """`$book`: book a slot, or confirm the hold named by `appointment` -> booked Appointment."""
    return _fhir_json(_native.fhir_book(engine, _fhir_dumps(request)))


def fhir_cancel(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """Cancel the hold or booking named by `appointment` -> cancelled Appointment."""
    return _fhir_json(_native.fhir_cancel(engine, _fhir_dumps(request)))


def fhir_export_schedule(engine: Engine, resource: int) -> dict[str, Any]:
    """The Schedule of a resource."""
    return _fhir_json(_native.fhir_export_schedule(engine, resource))


def fhir_export_slot(engine: Engine, slot: int) -> dict[str, Any]:
    """The Slot of a slot."""
    return _fhir_json(_native.fhir_export_slot(engine, slot))


def fhir_export_appointment(engine: Engine, booking: int) -> dict[str, Any]:
    """The Appointment of a hold or booking."""
    return _fhir_json(_native.fhir_export_appointment(engine, booking))


def fhir_export_patient_appointments(engine: Engine, patient: int) -> dict[str, Any]:
    """Every hold and booking of a patient as a collection Bundle of Appointments."""
    return _fhir_json(_native.fhir_export_patient_appointments(engine, patient))


def fhir_export_waitlist(engine: Engine, department: int) -> dict[str, Any]:
    """A department's waitlist, in serving order, as a collection Bundle."""
    return _fhir_json(_native.fhir_export_waitlist(engine, department))


def fhir_export_bundle(engine: Engine, scope: dict[str, Any]) -> dict[str, Any]:
    """Schedules and Slots (and Appointments if asked) for a scope, as a collection Bundle."""
    return _fhir_json(_native.fhir_export_bundle(engine, _fhir_dumps(scope)))


def fhir_import_bundle(engine: Engine, bundle: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Import a Schedule + Slot bundle (all or nothing) -> the import report."""
    return _fhir_json(_native.fhir_import_bundle(engine, _fhir_dumps(bundle), _fhir_dumps(options or {})))


def fhir_import_csv(engine: Engine, csv: str, options: dict[str, Any]) -> dict[str, Any]:
    """Import a CSV roster (all or nothing); options `{"institution", "valid_from", "valid_until"}`."""
    return _fhir_json(_native.fhir_import_csv(engine, csv, _fhir_dumps(options)))


__all__ = [
    "Alternative",
    "BoardRow",
    "BOOKING_STATES",
    "BULK_ROWS_MAX",
    "Booking",
    "BookingClosed",
    "CapacityExceeded",
    "Card",
    "CardTaken",
    "Channel",
    "DayAvailability",
    "Department",
    "Durability",
    "DurableEngine",
    "ERROR_CLASSES",
    "ERROR_CODES",
    "Engine",
    "EngineStats",
    "Event",
    "FSYNC_BUCKETS_S",
    "FhirError",
    "FreeSlot",
    "HaoyuanError",
    "HoldExpired",
    "INSTANT_MAX",
    "Institution",
    "JOURNAL_EVENTS_MAX",
    "InvalidArgument",
    "InvalidDate",
    "InvalidPolicy",
    "LimitReached",
    "LotteryWindow",
    "NotFound",
    "NotManualClock",
    "NotOpenYet",
    "POOLS",
    "PUBLISH_SLOTS_MAX",
    "RECOMMEND_LIMIT_MAX",
    "GROUP_PLACES_MAX",
    "BUNDLED_COMPLAINT_TABLE",
    "Recommendation",
    "PatientMerged",
    "PatientRecord",
    "PatientSuspended",
    "Pipeline",
    "Policy",
    "Referral",
    "ReferralInvalid",
    "Resource",
    "ResourceStats",
    "Roster",
    "SlotClosed",
    "SlotFull",
    "SlotInfo",
    "Standby",
    "Submission",
    "Subscription",
    "SuspensionReport",
    "WaitlistEntry",
    "WrongState",
    "day_number",
    "error_name",
    "events_to_arrow",
    "events_to_pandas",
    "fhir_book",
    "fhir_cancel",
    "fhir_export_appointment",
    "fhir_export_bundle",
    "fhir_export_patient_appointments",
    "fhir_export_schedule",
    "fhir_export_slot",
    "fhir_export_waitlist",
    "fhir_find",
    "fhir_hold",
    "fhir_import_bundle",
    "fhir_import_csv",
    "num_threads",
    "read_journal",
    "read_journal_arrow",
    "read_journal_columns",
    "to_datetime",
]

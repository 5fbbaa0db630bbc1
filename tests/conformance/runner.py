"""The conformance scenarios' Python runner (tests/conformance/README.md has the format).

Plays every scenario file named on the command line one call at a time through the Python face
(the ``haoyuan`` package), checks each call's outcome against the scenario's ``expect`` (and
``check``), and writes one canonical JSON line per call and then one per event to
``OUT/NAME.jsonl``. The Rust runner (``runner.rs``) and the C runner (``runner.c``) do the same
through their faces; ``make test-conformance`` compares the three outputs byte for byte.

    python runner.py --out target/conformance/python tests/conformance/scenarios/*.json

Exit status: 0 when every expectation held, 1 when one did not (each mismatch is printed), 2
when a scenario file is malformed. Standard library only, besides ``haoyuan``.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from typing import Any, Callable

import haoyuan

#: The card key every runner uses unless a scenario names one (bytes 0, 1, … 31).
CARD_KEY_DEFAULT = bytes(range(32)).hex()

#: Integers beyond ±2^53 are written as strings: C's JSON library holds numbers as doubles.
EXACT_MAX = 1 << 53

#: Error-table names by code (the engine's one table, as the package exposes it).
ERROR_NAMES = {code: name for code, name, _ in haoyuan._native.ERROR_TABLE}

TIERS = ("community", "secondary", "tertiary")
KINDS = ("doctor", "bed", "exam", "nursing", "pharmacy", "service")
URGENCIES = ("emergency", "urgent", "routine")


class Bad(Exception):
    """A malformed scenario (not an engine outcome): the run stops with status 2."""


# ---------------------------------------------------------------------- canonical JSON


def canonical(v: Any) -> str:
    """The canonical JSON text every runner writes (README: "Canonical JSON")."""
    out: list[str] = []
    _write(v, out)
    return "".join(out)


def _write(v: Any, out: list[str]) -> None:
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(f'"{v}"' if abs(v) > EXACT_MAX else str(v))
    elif isinstance(v, float):
        out.append(_float_text(v))
    elif isinstance(v, str):
        _write_string(v, out)
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _write(x, out)
        out.append("]")
    elif isinstance(v, dict):
        out.append("{")
        for i, k in enumerate(sorted(v, key=lambda k: k.encode())):
            if i:
                out.append(",")
            _write_string(k, out)
            out.append(":")
            _write(v[k], out)
        out.append("}")
    else:
        raise Bad(f"cannot write {type(v).__name__} {v!r} as JSON")


def _float_text(f: float) -> str:
    if f == int(f) and abs(f) <= EXACT_MAX:
        return str(int(f))
    s = ("%.6f" % f).rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _write_string(s: str, out: list[str]) -> None:
    out.append('"')
    for c in s:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) < 0x20:
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    out.append('"')


def lookup(v: Any, path: str) -> tuple[bool, Any]:
    """The value at a dotted path (``pool_taken.1``), and whether it is there."""
    for key in path.split("."):
        if isinstance(v, dict) and key in v:
            v = v[key]
        elif isinstance(v, list) and key.isdigit() and int(key) < len(v):
            v = v[int(key)]
        else:
            return False, None
    return True, v


# ---------------------------------------------------------------------- scenario values


def minute(s: Any, key: str) -> int:
    """"HH:MM" as minutes after midnight ("24:00" is 1440)."""
    if not isinstance(s, str) or len(s) != 5 or s[2] != ":" or not (s[:2] + s[3:]).isdigit():
        raise Bad(f"{key} {s!r} is not HH:MM")
    h, m = int(s[:2]), int(s[3:])
    if m > 59:
        raise Bad(f"{key} {s!r} is not HH:MM")
    return h * 60 + m


def day_number(d: datetime.date) -> int:
    return (d - datetime.date(1970, 1, 1)).days


def booking_out(b: haoyuan.Booking) -> dict[str, Any]:
    return {
        "id": b.id, "patient": b.patient, "slot": b.slot, "department": b.department,
        "date": day_number(b.date), "channel": b.channel, "state": b.state, "pool": b.pool,
        "referral": b.referral, "offer": b.offer, "created_at": b.created_at,
        "expires_at": b.expires_at, "starts_at": b.starts_at,
    }


def slot_out(s: haoyuan.SlotInfo) -> dict[str, Any]:
    return {
        "id": s.id, "resource": s.resource, "department": s.department,
        "institution": s.institution, "date": day_number(s.date), "start_min": s.start_min,
        "end_min": s.end_min, "capacity": s.capacity, "pool_places": list(s.pool_places),
        "pool_taken": list(s.pool_taken), "closed": s.closed, "starts_at": s.starts_at,
        "ends_at": s.ends_at,
    }


class Run:
    def __init__(self, name: str, scenario: dict[str, Any]) -> None:
        self.name = name
        policy = scenario.get("policy")
        self.utc_offset_s: int = scenario.get("utc_offset_s", 8 * 3600)
        clock = scenario.get("clock")
        if not isinstance(clock, dict):
            raise Bad('no "clock" object')
        start = self.instant(clock)
        try:
            self.engine = haoyuan.Engine(
                None if policy is None else haoyuan.Policy.from_json(json.dumps(policy)),
                start=start,
                utc_offset_s=self.utc_offset_s,
                card_key=scenario.get("card_key", CARD_KEY_DEFAULT),
            )
        except haoyuan.HaoyuanError as e:
            raise Bad(f"engine: {e}") from e
        self.events = self.engine.subscribe()
        #: The subscription of the last `subscribe` op (some types only), read by `poll_events`.
        self.filtered: haoyuan.Subscription | None = None
        self.names: dict[str, Any] = {}
        self.lines: list[str] = []
        self.mismatches = 0

    # -------------------------------------------------------------- arguments

    def instant(self, a: dict[str, Any]) -> int:
        """``{"date": "YYYY-MM-DD", "time": "HH:MM"}`` as an instant in the region's time."""
        days: int = haoyuan.day_number(a["date"])
        return days * 86400 + minute(a.get("time"), "time") * 60 - self.utc_offset_s

    def id(self, a: dict[str, Any], key: str) -> int:
        if key not in a:
            raise Bad(f"missing argument {key}")
        return self.id_value(a[key], key)

    def id_value(self, v: Any, key: str) -> int:
        if isinstance(v, bool):
            raise Bad(f"{key}: an id is a number or a bound name")
        if isinstance(v, int):
            if v < 0:
                raise Bad(f"{key}: not an id ({v})")
            return v
        if isinstance(v, str):
            bound = self.names.get(v)
            if not isinstance(bound, int) or isinstance(bound, bool):
                raise Bad(f"{key}: {v!r} is not bound to an id")
            return bound
        raise Bad(f"{key}: an id is a number or a bound name")

    def opt_id(self, a: dict[str, Any], key: str) -> int | None:
        return None if a.get(key) is None else self.id_value(a[key], key)

    def channel(self, a: dict[str, Any]) -> int | str:
        """A channel: its name (the face resolves it) or its id."""
        c = a.get("channel")
        if isinstance(c, str):
            return c
        return self.id_value(c, "channel")

    def time(self, a: dict[str, Any]) -> tuple[int, int] | None:
        t = a.get("time")
        if t is None:
            return None
        if not isinstance(t, list) or len(t) != 2:
            raise Bad('time is ["HH:MM", "HH:MM"]')
        return minute(t[0], "time"), minute(t[1], "time")

    def body(self, a: dict[str, Any], key: str) -> Any:
        """A JSON body for the FHIR calls, with ``{name}`` in its strings replaced by bound values."""
        if key not in a:
            raise Bad(f"missing argument {key}")
        return self.interpolate(a[key])

    def interpolate(self, v: Any) -> Any:
        """``{name}`` in strings replaced by bound values; a string that is exactly ``{name}``
        becomes the bound value itself."""
        if isinstance(v, str) and len(v) > 2 and v[0] == "{" and v[-1] == "}" and not any(c in v[1:-1] for c in "{}"):
            if v[1:-1] not in self.names:
                raise Bad(f"{v} is not bound")
            return self.names[v[1:-1]]
        if isinstance(v, str):
            out, rest = [], v
            while "{" in rest:
                before, _, after = rest.partition("{")
                if "}" not in after:
                    raise Bad(f"unclosed {{ in {v!r}")
                name, _, rest = after.partition("}")
                bound = self.names.get(name)
                if isinstance(bound, bool) or not isinstance(bound, (int, str)):
                    raise Bad(f"{{{name}}} in {v!r} is not bound to an id or a string")
                out += [before, str(bound)]
            return "".join(out) + rest
        if isinstance(v, list):
            return [self.interpolate(x) for x in v]
        if isinstance(v, dict):
            return {k: self.interpolate(x) for k, x in v.items()}
        return v

    # -------------------------------------------------------------- one operation

    def step(self, i: int, op: dict[str, Any]) -> None:
        name = op.get("op")
        if not isinstance(name, str):
            raise Bad(f'op #{i}: no "op" name')
        args = op.get("args", {})
        expect = op.get("expect")
        if not isinstance(args, dict) or not isinstance(expect, str):
            raise Bad(f'op #{i}: "args" must be an object and "expect" a name')
        try:
            out, result, message = self.call(name, args), "ok", ""
        except haoyuan.HaoyuanError as e:
            out, result, message = None, ERROR_NAMES.get(e.code, f"code{e.code}"), str(e)
        except Bad as e:
            raise Bad(f"op #{i}: {name}: {e}") from e
        except Exception as e:  # noqa: BLE001 - a face raising anything else is a finding
            out, result, message = None, f"Python:{type(e).__name__}", str(e)
        line: dict[str, Any] = {"i": i, "op": name, "result": result}
        if result == "ok":
            line["out"] = out
        self.lines.append(canonical(line))
        if result != expect:
            self.mismatch(i, name, f"expected {expect}, got {result}" + (f" ({message})" if message else ""))
            return
        if result != "ok":
            return
        for path, want in (op.get("check") or {}).items():
            want = self.interpolate(want)
            found, got = lookup(out, path)
            got_text = canonical(got) if found else "(absent)"
            if got_text != canonical(want):
                self.mismatch(i, name, f"{path}: expected {canonical(want)}, got {got_text}")
        binding = op.get("as")
        if isinstance(binding, str):
            if not isinstance(out, dict) or "id" not in out:
                raise Bad(f'op #{i}: "as" on a call without an id')
            self.names[binding] = out["id"]
        elif isinstance(binding, dict):
            for n, path in binding.items():
                found, v = lookup(out, path)
                if not found:
                    raise Bad(f"op #{i}: no {path} to bind")
                self.names[n] = v
        elif binding is not None:
            raise Bad(f'op #{i}: "as" is a name or an object of names')

    def mismatch(self, i: int, op: str, what: str) -> None:
        print(f"conformance (python): {self.name} op #{i} ({op}): {what}", file=sys.stderr)
        self.mismatches += 1

    def finish(self) -> None:
        """After the last operation: every event, in sequence order."""
        events = sorted(self.events.poll(), key=lambda e: e.seq)
        for e in events:
            self.lines.append(canonical({"seq": e.seq, "at": e.at, "event": e.kind, "data": e.data}))

    # -------------------------------------------------------------- the calls

    def call(self, op: str, a: dict[str, Any]) -> Any:
        fn: Callable[[dict[str, Any]], Any] | None = getattr(self, "op_" + op, None)
        if fn is None:
            raise Bad(f"unknown op {op!r}")
        return fn(a)

    def now(self) -> dict[str, Any]:
        return {"now": self.engine.now()}

    def op_advance_clock(self, a: dict[str, Any]) -> Any:
        self.engine.advance_clock(a["seconds"])
        return self.now()

    def op_advance_to(self, a: dict[str, Any]) -> Any:
        self.engine.advance_to(self.instant(a))
        return self.now()

    def op_add_institution(self, a: dict[str, Any]) -> Any:
        if a.get("tier") not in TIERS:
            raise Bad(f"tier {a.get('tier')!r}")
        return {"id": self.engine.add_institution(a["name"], a["tier"], a["district"])}

    def op_add_department(self, a: dict[str, Any]) -> Any:
        return {"id": self.engine.add_department(self.id(a, "institution"), a["specialty"], a["name"])}

    def op_add_resource(self, a: dict[str, Any]) -> Any:
        if a.get("kind") not in KINDS:
            raise Bad(f"kind {a.get('kind')!r}")
        return {"id": self.engine.add_resource(self.id(a, "department"), a["kind"], a["name"], a.get("expert", False))}

    def op_add_channel(self, a: dict[str, Any]) -> Any:
        return {"id": self.engine.add_channel(a["name"])}

    def op_channel_id(self, a: dict[str, Any]) -> Any:
        return {"id": self.engine.channel_id(a["name"])}

    def op_register_patient(self, a: dict[str, Any]) -> Any:
        return {"id": self.engine.register_patient()}

    def op_link_card(self, a: dict[str, Any]) -> Any:
        self.engine.link_card(self.id(a, "patient"), a["card_type"], a["number"])
        return {}

    def op_find_patient_by_card(self, a: dict[str, Any]) -> Any:
        return {"id": self.engine.find_patient_by_card(a["card_type"], a["number"])}

    def op_merge_patients(self, a: dict[str, Any]) -> Any:
        self.engine.merge_patients(self.id(a, "survivor"), self.id(a, "merged"))
        return {}

    def op_patient_record(self, a: dict[str, Any]) -> Any:
        r = self.engine.patient_record(self.id(a, "patient"))
        return {
            "id": r.patient,
            "cards": [{"card_type": c.card_type, "masked": c.masked} for c in r.cards],
            "no_shows_in_window": float(r.no_shows_in_window),
            "suspended_until": r.suspended_until,
            "active_bookings": [b.id for b in r.active_bookings],
            "referrals": [x.id for x in r.referrals],
            "waitlist_entries": r.waitlist_entries,
        }

    def op_publish_slots(self, a: dict[str, Any]) -> Any:
        specs = [
            (self.id(s, "resource"), s["date"], minute(s["start"], "start"), minute(s["end"], "end"), s["capacity"])
            for s in a["slots"]
        ]
        ids = self.engine.publish_slots(specs)
        return {"id": ids.start, "ids": list(ids)}

    def op_add_roster(self, a: dict[str, Any]) -> Any:
        rid = self.engine.add_roster(
            self.id(a, "resource"), a["weekdays"], minute(a["start"], "start"), minute(a["end"], "end"),
            a["segment_min"], a["places"], a["valid_from"], a["valid_until"], a.get("closed_dates", []),
        )
        return {"id": rid}

    def op_publish_rosters_until(self, a: dict[str, Any]) -> Any:
        return {"created": self.engine.publish_rosters_until(a["until"])}

    def op_slot(self, a: dict[str, Any]) -> Any:
        return slot_out(self.engine.slot(self.id(a, "slot")))

    def op_suspend_session(self, a: dict[str, Any]) -> Any:
        report = self.engine.suspend_session(self.id(a, "resource"), a["date"], self.time(a))
        return {"cancelled": len(report.cancelled)}

    def op_find_free_slots(self, a: dict[str, Any]) -> Any:
        if a.get("tier") is not None and a["tier"] not in TIERS:
            raise Bad(f"tier {a['tier']!r}")
        found = self.engine.find_free_slots(
            a["date_from"], a["date_to"], department=self.opt_id(a, "department"),
            resource=self.opt_id(a, "resource"), institution=self.opt_id(a, "institution"),
            specialty=a.get("specialty"), tier=a.get("tier"), district=a.get("district"),
            time=self.time(a), with_referral=a.get("with_referral", False), limit=a.get("limit", 100),
        )
        return {"slots": [{"slot": f.slot, "free": f.free, "starts_at": f.starts_at} for f in found]}

    def op_recommend(self, a: dict[str, Any]) -> Any:
        rows = self.engine.recommend(
            a["district"], a["date_from"], a["date_to"], complaint=a.get("complaint"),
            specialty=a.get("specialty"), patient=self.opt_id(a, "patient"),
            referral=self.opt_id(a, "referral"), limit=a.get("limit", 10),
        )
        return {"rows": [{
            "rank": r.rank, "institution": r.institution, "department": r.department,
            "resource": r.resource, "tier": r.tier, "same_district": r.same_district,
            "slot": r.earliest.slot, "free": r.earliest.free, "starts_at": r.earliest.starts_at,
            "expected_wait_s": r.expected_wait_s, "urgency": r.urgency, "reason": r.reason,
        } for r in rows]}

    def op_set_complaint_table(self, a: dict[str, Any]) -> Any:
        self.engine.set_complaint_table(json.dumps(a["table"], ensure_ascii=False))
        return {}

    def op_alternatives(self, a: dict[str, Any]) -> Any:
        rows = self.engine.alternatives(
            self.id(a, "department"), a["date_from"], a["date_to"], a.get("limit", 10))
        return {"alternatives": [{
            "department": x.department, "institution": x.institution, "tier": x.tier,
            "slot": x.earliest.slot, "free": x.earliest.free, "starts_at": x.earliest.starts_at,
            "load": x.load,
        } for x in rows]}

    def op_load_board(self, a: dict[str, Any]) -> Any:
        rows = self.engine.load_board(a["specialty"], a["district"])
        return {"rows": [{
            "institution": r.institution, "department": r.department, "tier": r.tier,
            "date": day_number(r.date), "half_day": r.half_day, "queue": r.queue,
            "mean_service_interval_s": r.mean_service_interval_s, "expected_wait_s": r.expected_wait_s,
            "free_today": r.free_today, "free_beds_tonight": r.free_beds_tonight,
        } for r in rows]}

    def _request(self, a: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        kw = {"referral": self.opt_id(a, "referral"), "follow_up": a.get("follow_up", False)}
        return [self.id(a, "patient"), self.id(a, "slot"), self.channel(a)], kw

    def op_hold(self, a: dict[str, Any]) -> Any:
        args, kw = self._request(a)
        if "ttl_s" in a:
            return booking_out(self.engine.hold_for(*args, a["ttl_s"], **kw))
        return booking_out(self.engine.hold(*args, **kw))

    def op_book(self, a: dict[str, Any]) -> Any:
        args, kw = self._request(a)
        return booking_out(self.engine.book(*args, **kw))

    def op_submit(self, a: dict[str, Any]) -> Any:
        args, kw = self._request(a)
        s = self.engine.submit(*args, **kw)
        if s.booking is not None:
            return {**booking_out(s.booking), "outcome": s.outcome}
        return {"outcome": s.outcome, "ticket": s.ticket, "draws_at": s.draws_at}

    def op_confirm(self, a: dict[str, Any]) -> Any:
        return booking_out(self.engine.confirm(self.id(a, "booking")))

    def op_cancel(self, a: dict[str, Any]) -> Any:
        return booking_out(self.engine.cancel(self.id(a, "booking")))

    def op_check_in(self, a: dict[str, Any]) -> Any:
        return booking_out(self.engine.check_in(self.id(a, "booking")))

    def op_fulfil(self, a: dict[str, Any]) -> Any:
        return booking_out(self.engine.fulfil(self.id(a, "booking")))

    def op_mark_no_show(self, a: dict[str, Any]) -> Any:
        return booking_out(self.engine.mark_no_show(self.id(a, "booking")))

    def op_booking_group(self, a: dict[str, Any]) -> Any:
        return self.engine.booking_group(self.id(a, "booking"))

    def op_find_stays(self, a: dict[str, Any]) -> Any:
        offers = self.engine.find_stays(
            a["specialty"], a["first_night"], a["nights"], district=a.get("district"),
            flex_days=a.get("flex_days", 0), limit=a.get("limit", 10),
        )
        return {"offers": offers}

    def op_booking(self, a: dict[str, Any]) -> Any:
        return booking_out(self.engine.booking(self.id(a, "booking")))

    def op_issue_referral(self, a: dict[str, Any]) -> Any:
        if a.get("urgency") not in URGENCIES:
            raise Bad(f"urgency {a.get('urgency')!r}")
        r = self.engine.issue_referral(
            self.id(a, "patient"), self.id(a, "from"), a["specialty"], urgency=a["urgency"],
            valid_days=a["valid_days"], institution=self.opt_id(a, "institution"),
        )
        return {
            "id": r.id, "patient": r.patient, "from": r.from_, "institution": r.institution,
            "urgency": r.urgency, "valid_from": r.valid_from, "valid_until": r.valid_until,
            "used_by": r.used_by,
        }

    def op_join_waitlist(self, a: dict[str, Any]) -> Any:
        e = self.engine.join_waitlist(
            self.id(a, "patient"), self.id(a, "department"), a["date_from"], a["date_to"], self.channel(a),
            resource=self.opt_id(a, "resource"), time=self.time(a), referral=self.opt_id(a, "referral"),
            follow_up=a.get("follow_up", False),
        )
        return {"id": e.id}

    def op_execute(self, a: dict[str, Any]) -> Any:
        return self.engine.execute(self.body(a, "command"), request_key=a.get("request_key"))

    def op_set_policy(self, a: dict[str, Any]) -> Any:
        self.engine.set_policy(json.dumps(self.body(a, "policy")))
        return {}

    def op_subscribe(self, a: dict[str, Any]) -> Any:
        self.filtered = self.engine.subscribe(capacity=a["capacity"], kinds=a["kinds"])
        return {}

    def op_poll_events(self, a: dict[str, Any]) -> Any:
        if self.filtered is None:
            raise Bad("poll_events before a subscribe")
        events = sorted(self.filtered.poll(), key=lambda e: e.seq)
        return {"events": [{"seq": e.seq, "event": e.kind} for e in events], "cut_off": self.filtered.cut_off}

    def op_leave_waitlist(self, a: dict[str, Any]) -> Any:
        self.engine.leave_waitlist(self.id(a, "entry"))
        return {}

    def op_fhir_hold(self, a: dict[str, Any]) -> Any:
        return {"resource": haoyuan.fhir_hold(self.engine, self.body(a, "request"))}

    def op_fhir_book(self, a: dict[str, Any]) -> Any:
        return {"resource": haoyuan.fhir_book(self.engine, self.body(a, "request"))}

    def op_fhir_cancel(self, a: dict[str, Any]) -> Any:
        return {"resource": haoyuan.fhir_cancel(self.engine, self.body(a, "request"))}

    def op_fhir_find(self, a: dict[str, Any]) -> Any:
        return {"resource": haoyuan.fhir_find(self.engine, self.body(a, "params"))}

    def op_fhir_export_bundle(self, a: dict[str, Any]) -> Any:
        return {"resource": haoyuan.fhir_export_bundle(self.engine, self.body(a, "scope"))}

    def op_fhir_export_slot(self, a: dict[str, Any]) -> Any:
        return {"resource": haoyuan.fhir_export_slot(self.engine, self.id(a, "slot"))}

    def op_fhir_export_appointment(self, a: dict[str, Any]) -> Any:
        return {"resource": haoyuan.fhir_export_appointment(self.engine, self.id(a, "booking"))}


def play_file(path: str, out_dir: str) -> int:
    """Play one scenario file; returns the number of failed expectations."""
    name = os.path.splitext(os.path.basename(path))[0]
    try:
        with open(path, encoding="utf-8") as f:
            scenario = json.load(f)
    except (OSError, ValueError) as e:
        raise Bad(f"cannot read: {e}") from e
    ops = scenario.get("ops")
    if not isinstance(ops, list):
        raise Bad('no "ops" array')
    run = Run(name, scenario)
    for i, op in enumerate(ops):
        run.step(i, op)
    run.finish()
    with open(os.path.join(out_dir, name + ".jsonl"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(line + "\n" for line in run.lines))
    return run.mismatches


def main(argv: list[str]) -> int:
    out_dir, files = "target/conformance/python", list[str]()
    it = iter(argv)
    for arg in it:
        if arg == "--out":
            out_dir = next(it, "")
        elif arg.startswith("-"):
            files = []
            break
        else:
            files.append(arg)
    if not files or not out_dir:
        print("usage: runner.py [--out DIR] SCENARIO.json...", file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    mismatches = 0
    for path in files:
        try:
            mismatches += play_file(path, out_dir)
        except (Bad, KeyError, TypeError) as e:
            why = str(e) if isinstance(e, Bad) else repr(e)
            print(f"conformance (python): {path}: malformed scenario: {why}", file=sys.stderr)
            return 2
    if mismatches:
        print(f"conformance (python): {mismatches} expectation(s) failed", file=sys.stderr)
        return 1
    print(f"conformance (python): {len(files)} scenario(s) as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

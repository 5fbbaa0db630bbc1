"""Card numbers are personal information (PIPL): the CardTaken exception, the patient record (and
its JSON), events and FHIR exports show the masked form only, never the number or any
8-character piece of it. The card key is passed as ``Engine(..., card_key=...)``."""

from __future__ import annotations

import json
from typing import Any

import pytest

import haoyuan as hy

from conftest import START

NATIONAL_ID = "441900199001011234"
KEY_HEX = "8f0c6a3e2b1d4f5a69788796a5b4c3d2e1f0112233445566778899aabbccddee"


def pieces(number: str) -> list[str]:
    return [number] + [number[i : i + 8] for i in range(len(number) - 7)]


def assert_clean(what: str, text: str, number: str = NATIONAL_ID) -> None:
    for piece in pieces(number):
        assert piece not in text, f"{what} holds {piece!r} of a card number"


def as_json(value: Any) -> str:
    return json.dumps(value, default=lambda o: o.to_dict() if hasattr(o, "to_dict") else str(o))


@pytest.mark.parametrize("card_key", [None, bytes(range(32)), KEY_HEX])
def test_card_taken_and_patient_record_never_show_the_number(card_key: object) -> None:
    e = hy.Engine(start=START, card_key=card_key)
    sub = e.subscribe()
    a, b = e.register_patient(), e.register_patient()
    e.link_card(a, "national_id", NATIONAL_ID)
    with pytest.raises(hy.CardTaken) as taken:
        e.link_card(b, "national_id", NATIONAL_ID)
    err = taken.value
    assert err.owner == a and err.masked == "4419**********1234"
    assert_clean("CardTaken text", str(err))
    assert_clean("CardTaken repr", repr(err))
    assert_clean("CardTaken fields", as_json(err.fields))
    assert e.find_patient_by_card("national_id", NATIONAL_ID) == a
    assert e.find_patient_by_card("social_security", NATIONAL_ID) is None
    rec = e.patient_record(a)
    assert [(c.card_type, c.masked) for c in rec.cards] == [("national_id", "4419**********1234")]
    assert not hasattr(rec.cards[0], "number")
    record_json = as_json(rec.to_dict())
    assert "4419**********1234" in record_json
    assert_clean("patient record JSON", record_json)
    assert_clean("patient record repr", repr(rec))
    events = sub.poll()
    linked = [ev for ev in events if ev.kind == "card_linked"]
    assert len(linked) == 1 and linked[0].data["masked"] == "4419**********1234"
    assert len(linked[0].data["digest"]) == 32
    for ev in events:
        assert_clean("event", as_json(ev.to_dict()) + repr(ev))
    assert_clean("FHIR export", json.dumps(hy.fhir_export_patient_appointments(e, a)))


def test_card_keys() -> None:
    digest = {}
    for key in (KEY_HEX, bytes.fromhex(KEY_HEX), KEY_HEX.upper()):
        e = hy.Engine(start=START, card_key=key)
        sub = e.subscribe()
        e.link_card(e.register_patient(), "national_id", NATIONAL_ID)
        digest[repr(key)] = [ev.data["digest"] for ev in sub.poll() if ev.kind == "card_linked"][0]
    assert len(set(digest.values())) == 1, "one key, however it is spelled, one digest"
    for bad in (b"short", "xyz", KEY_HEX[:-1], 42):
        with pytest.raises(hy.InvalidArgument) as err:
            hy.Engine(start=START, card_key=bad)  # type: ignore[arg-type]
        assert KEY_HEX[:16] not in str(err.value)

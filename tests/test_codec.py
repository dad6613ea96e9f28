"""Codec: every event type round-trips exactly (types included); bad input fails loudly."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import msgpack
import numpy as np
import pytest

from core import codec
from core.events import (
    EVENT_TYPES,
    Act,
    AnalysisLag,
    AudioAnalysed,
    Backchannel,
    Event,
    FaceCue,
    FloorTaken,
    Interruption,
    Overlap,
    PhaseStarted,
    PortraitUpdate,
    ProsodyTurn,
    Reaction,
    ShareUpdate,
    SpeechEnded,
    SpeechHorizon,
    SpeechStarted,
    Turn,
    Utterance,
    VoiceAttributes,
)

# Representative values per type, edge cases included (None, empty containers, unicode,
# large/negative/fractional numbers). A new event class must get an entry here.
SAMPLES: dict[str, list[Event]] = {
    "SpeechStarted": [SpeechStarted("p1", 0.0), SpeechStarted("候选人-3", 1234.5678901234)],
    "SpeechEnded": [SpeechEnded("p1", 1.25, 3.5)],
    "SpeechHorizon": [SpeechHorizon(0.0), SpeechHorizon(42.75)],
    "FloorTaken": [FloorTaken("p2", 4.0, None), FloorTaken("p2", 7.125, "p1")],
    "Turn": [Turn("p1", 0.5, 9.75)],
    "Overlap": [Overlap(1.0, 1.5, ("p1", "p2")), Overlap(2.0, 2.1, ()), Overlap(3.0, 4.0, ("a",))],
    "Interruption": [Interruption("p2", "p1", 5.5, True), Interruption("p3", "p1", 6.0, False)],
    "Backchannel": [Backchannel("p3", 8.0, "p1"), Backchannel("p3", 8.5, None)],
    "ShareUpdate": [
        ShareUpdate(10.0, {"p1": 6.5, "p2": 3.25}, {"p1": 0.6666, "p2": 0.3334}, {"p1": 3}),
        ShareUpdate(0.0, {}, {}, {}),
    ],
    "AnalysisLag": [AnalysisLag("diarize", 12.0, 0.35, 0), AnalysisLag("media", 1e6, -0.0, 2**40)],
    "Utterance": [
        Utterance("p1", 1.0, 2.5, "我同意张三的观点", (("我", 1.0, 1.2), ("同意", 1.2, 1.6)), "zh"),
        Utterance("p2", 3.0, 3.0, "", (), "en"),
    ],
    "Act": [
        Act("support", "p1", "p2", 1.0, "我同意张三的观点", "我同意", 0.9),
        Act("new_idea", "p2", None, 4.0, "what about cost", "novelty 0.71", 0.71),
    ],
    "ProsodyTurn": [
        ProsodyTurn("p1", 1.0, 4.0, {"pitch_hz": 180.5, "rate_sps": 4.0}, {"pitch_hz": 1.5}, True),
        ProsodyTurn("p2", 0.0, 0.5, {}, {}, False),
    ],
    "FaceCue": [
        FaceCue("p1", 2.0, "ok", {"smile": 0.3, "nod": 1.0}),
        FaceCue("p2", 2.0, "camera_off", {}),
    ],
    "Reaction": [
        Reaction("p1", 5.0, "interrupted", "p2", "kept_floor", {"pitch_z": 2.1}, 0.4),
        Reaction("p2", 9.0, "challenged", "p1", "silent", {"spoken_s": 0.0}, None),
    ],
    "PortraitUpdate": [
        PortraitUpdate(
            9.5,
            {"p1": {"participation": 71.5, "rapport": None}},
            {"p1": {"participation": 1, "rapport": None}},
        ),
        PortraitUpdate(0.0, {}, {}),
        PortraitUpdate(
            12.0,
            {"p1": {"rapport": 50.0}},
            {"p1": {"rapport": 1}},
            {"p1": {"dimensions": {"rapport": {"score": 50.0, "evidence": [
                {"at": 1.5, "kind": "basis", "detail": "x"}]}}, "metrics": {"turns": 3}}},
            {"nodes": ["p1"], "edges": [], "measures": {"p1": {"reciprocity": None}}},
            {"p1": {"rapport": {"value": 0.5, "basis": "b", "reason": None, "evidence": []}}},
        ),
    ],
    "AudioAnalysed": [AudioAnalysed(10.0), AudioAnalysed(0.0)],
    "PhaseStarted": [
        PhaseStarted("reading", 0, 0.0, 300.0), PhaseStarted("summary", 3, 1.5, 180.0)],
    "VoiceAttributes": [
        VoiceAttributes("p1", 10.0, -23.5, 181.25),
        VoiceAttributes("p2", 10.0, -30.5, None),
    ],
}


def assert_same(a: Any, b: Any) -> None:
    """Equal *and* of identical types all the way down (1 == 1.0 and (1,) ≈ [1] would hide bugs)."""
    assert type(a) is type(b), f"{a!r} vs {b!r}"
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{a!r} vs {b!r}"
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{a!r} vs {b!r}"
        for k in a:
            assert_same(a[k], b[k])
    else:
        assert a == b


def test_every_event_type_has_samples() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES), "add representative samples for new event types"


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_round_trip(name: str) -> None:
    assert SAMPLES.get(name), f"no samples for {name}"
    for event in SAMPLES[name]:
        assert type(event) is EVENT_TYPES[name]
        data = codec.encode(event)
        assert isinstance(data, bytes)
        back = codec.decode(data)
        assert_same(back, event)
        # JSON (dashboard/report) path: plain JSON types out, the exact event back in.
        as_json = json.loads(json.dumps(codec.to_dict(event), allow_nan=False))
        assert as_json["type"] == name
        assert_same(codec.from_dict(as_json), back)


def test_ints_in_float_fields_come_back_as_floats() -> None:
    back = codec.decode(codec.encode(Turn("p1", 1, 2)))  # type: ignore[arg-type]
    assert_same(back, Turn("p1", 1.0, 2.0))
    share = codec.decode(codec.encode(ShareUpdate(3, {"p1": 2}, {"p1": 1}, {"p1": 4})))  # type: ignore[arg-type]
    assert_same(share, ShareUpdate(3.0, {"p1": 2.0}, {"p1": 1.0}, {"p1": 4}))


def test_numpy_scalars() -> None:
    # float64 subclasses float: accepted and stored as a plain float.
    assert_same(codec.decode(codec.encode(Turn("p", np.float64(1.5), 2.0))), Turn("p", 1.5, 2.0))
    with pytest.raises(ValueError, match=r"Turn\.start: expected float, got float32"):
        codec.encode(Turn("p", np.float32(1.5), 2.0))  # type: ignore[arg-type]


def test_to_dict_is_plain_json() -> None:
    d = codec.to_dict(Overlap(1.0, 2.0, ("p1", "p2")))
    assert d == {"type": "Overlap", "start": 1.0, "end": 2.0, "who": ["p1", "p2"]}
    assert type(d["who"]) is list


LAG = {"type": "AnalysisLag", "stage": "s", "at": 1.0, "behind_s": 0.0, "frames_lost": 0}
SHARE = {"type": "ShareUpdate", "at": 1.0, "speaking_time_s": {}, "speaking_share": {}, "turns": {}}
STARTED = {"type": "SpeechStarted", "who": "p1", "at": 1.0}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"type": "Nope", "who": "p1"}, "unknown event type 'Nope'"),
        ({"who": "p1", "at": 1.0}, "unknown event type None"),
        ({"type": "SpeechStarted", "who": "p1"}, r"missing fields \['at'\]"),
        ({**STARTED, "x": 1}, r"unexpected fields \['x'\]"),
        (["SpeechStarted", "p1", 1.0], "must be a map"),
        (b"\xc1garbage", "not a msgpack event"),
        (b"", "not a msgpack event"),
        ({**STARTED, "at": "1.0"}, "SpeechStarted.at: expected float, got str"),
        ({**STARTED, "who": None}, "SpeechStarted.who: expected str, got NoneType"),
        ({**LAG, "frames_lost": True}, "frames_lost: expected int, got bool"),
        ({**LAG, "frames_lost": 1.5}, "frames_lost: expected int, got float"),
        ({"type": "Overlap", "start": 1.0, "end": 2.0, "who": "p1"}, "who: expected a sequence"),
        (
            {"type": "Overlap", "start": 1.0, "end": 2.0, "who": [1]},
            r"Overlap.who\[0\]: expected str",
        ),
        ({**SHARE, "speaking_time_s": {"p": "x"}}, r"speaking_time_s\['p'\]: expected float"),
        ({**SHARE, "turns": [1]}, "turns: expected a map"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_decode_rejects(payload: Any, message: str) -> None:
    data = payload if isinstance(payload, bytes) else msgpack.packb(payload)
    with pytest.raises(ValueError, match=message):
        codec.decode(data)


def test_encode_rejects_unregistered_types() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Turn:  # same name, different class: must not be mistaken for the real one
        who: str

    with pytest.raises(ValueError, match="not a registered event type"):
        codec.encode(Turn("p1"))  # type: ignore[arg-type]


def test_a_log_written_before_a_field_was_added_still_decodes() -> None:
    """PortraitUpdate gained `portraits`, `graph` and `inputs` (with defaults): an event log
    of an older server still replays."""
    old = {"type": "PortraitUpdate", "at": 1.0, "scores": {}, "ranks": {}}
    assert_same(codec.from_dict(old), PortraitUpdate(1.0, {}, {}))
    with pytest.raises(ValueError, match="missing fields"):
        codec.from_dict({"type": "PortraitUpdate", "at": 1.0, "scores": {}})


def test_report_sections_must_be_plain_data() -> None:
    with pytest.raises(ValueError, match="not plain data"):
        codec.encode(PortraitUpdate(1.0, {}, {}, {"p1": {1, 2}}))  # type: ignore[dict-item]

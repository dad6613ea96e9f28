"""Event ⇄ bytes (msgpack) and event ⇄ JSON-able dict, driven by the events' type hints.

Wire form: a msgpack map ``{"type": ClassName, **fields}``. msgpack has no tuples and
JSON no tuples either, so both directions go through the field annotations: decode turns
arrays back into tuples, ints in float fields into floats, and rejects anything that
does not fit, so a bad or foreign payload fails here rather than deep inside a stage.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, cast

import msgpack

from core.events import EVENT_TYPES, Event

_NoneType = type(None)


def encode(event: Event) -> bytes:
    """Serialize a registered event to msgpack bytes."""
    return cast(bytes, msgpack.packb(_checked(event), use_bin_type=True))


def decode(data: bytes) -> Event:
    """Rebuild the exact event from `encode`'s bytes; ValueError if they are not one."""
    try:
        obj = msgpack.unpackb(data, raw=False)
    except Exception as e:  # msgpack raises several unrelated types for malformed input
        raise ValueError(f"not a msgpack event: {e}") from e
    return from_dict(obj)


def to_dict(event: Event) -> dict[str, Any]:
    """A JSON-able ``{"type": ClassName, **fields}`` (tuples become lists)."""
    return _jsonable(_checked(event))


def from_dict(obj: object) -> Event:
    """Inverse of `to_dict` (also accepts tuples); ValueError on anything that is not an event."""
    if not isinstance(obj, dict):
        raise ValueError(f"event must be a map, got {type(obj).__name__}")
    name = obj.get("type")
    cls = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown event type {name!r}; known: {', '.join(sorted(EVENT_TYPES))}")
    hints = _hints(cls)
    given = set(obj) - {"type"}
    if missing := sorted(set(hints) - given - _defaulted(cls)):
        raise ValueError(f"{name}: missing fields {missing}")
    if extra := sorted(map(str, given - set(hints))):
        raise ValueError(f"{name}: unexpected fields {extra}")
    kwargs = {f: _coerce(obj[f], hint, f"{name}.{f}") for f, hint in hints.items() if f in obj}
    return cast(Event, cls(**kwargs))


def _checked(event: Event) -> dict[str, Any]:
    """The wire map of `event`, validated against its annotations (catches e.g. numpy scalars)."""
    cls: type = type(event)
    name = cls.__name__
    if EVENT_TYPES.get(name) is not cls:
        raise ValueError(f"{cls.__qualname__} is not a registered event type")
    out: dict[str, Any] = {"type": name}
    for f, hint in _hints(cls).items():
        out[f] = _coerce(getattr(event, f), hint, f"{name}.{f}")
    return out


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    # events.py uses `from __future__ import annotations`, so field types are strings
    # until resolved; resolve once per class.
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


@functools.cache
def _defaulted(cls: type) -> frozenset[str]:
    """Fields added to an event later, with a default: older logs decode without them."""
    return frozenset(
        f.name for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    )


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """`value` as the plain Python type `hint` names; ValueError if it does not fit."""
    if hint is Any:  # a report section carried as it is: plain JSON-able data
        return _plain(value, where)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if _NoneType in args:
                return None
            raise ValueError(f"{where}: None is not allowed")
        errors = []
        for option in (a for a in args if a is not _NoneType):
            try:
                return _coerce(value, option, where)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError("; ".join(errors))
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where}: expected a sequence, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        elif len(args) != len(value):
            raise ValueError(f"{where}: expected {len(args)} items, got {len(value)}")
        return tuple(
            _coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected a map, got {type(value).__name__}")
        kt, vt = args
        return {_coerce(k, kt, where): _coerce(v, vt, f"{where}[{k!r}]") for k, v in value.items()}
    # bool is an int subclass: keep True out of int/float fields and 1 out of bool fields.
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)  # also turns numpy.float64 (a float subclass) into a plain float
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
    elif hint is bool or hint is str:
        if isinstance(value, hint):
            return value
    else:  # a field type events.py promised not to use
        raise TypeError(f"{where}: unsupported field type {hint!r}")
    raise ValueError(f"{where}: expected {hint.__name__}, got {type(value).__name__}")


def _plain(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise ValueError(f"{where}: {type(value).__name__} is not plain data")


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value

"""Job profiles: what a role weighs, as YAML files HR edits (`hr/profiles/*.yaml`, or a
directory of its own in `LGD_HR_PROFILES`).

A profile gives a weight per portrait dimension (summing to 1), role keywords whose use in
the transcript counts as evidence, the fit thresholds of its recommendation, and a short
development suggestion per dimension for candidates who score low on it. It carries an id
and a version: a decision records the version it used, so re-weighting a role makes a new
version and leaves old decisions as they were.

`load_profile(path)` validates a file and names the line of every mistake.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from interaction.dimensions import KEYS

BUNDLED = Path(__file__).parent / "profiles"
TOP_KEYS = {"id", "version", "name", "weights", "keywords", "thresholds", "suggestions",
            "low_below"}
REQUIRED = ("id", "version", "weights", "thresholds")


class ProfileError(ValueError):
    """A profile file that cannot be used: the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class JobProfile:
    id: str
    version: int
    name: dict[str, str]  #: language -> display name
    weights: dict[str, float]  #: dimension -> weight; the weights sum to 1
    keywords: tuple[str, ...]  #: role words whose use counts as evidence
    advance: float  #: fit at or above: recommend advancing
    hold: float  #: fit at or above (and below `advance`): hold; below: reject (a person decides)
    suggestions: dict[str, dict[str, str]] = field(default_factory=dict)  #: dim -> lang -> text
    low_below: float = 50.0  #: a dimension scored under this gets its suggestion

    def label(self, language: str) -> str:
        return self.name.get("zh" if language.startswith("zh") else "en", self.id)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "name": dict(self.name),
                "weights": dict(self.weights), "keywords": list(self.keywords),
                "thresholds": {"advance": self.advance, "hold": self.hold},
                "suggestions": {k: dict(v) for k, v in self.suggestions.items()},
                "low_below": self.low_below}


def _fail(path: Path | str, node: yaml.Node | None, message: str) -> ProfileError:
    line = f":{node.start_mark.line + 1}" if node is not None else ""
    return ProfileError(f"{path}{line}: {message}")


@dataclass(frozen=True, slots=True)
class _Entry:
    key: yaml.Node  #: where errors point: the line of the key
    node: yaml.Node  #: the value's node
    value: Any  #: the value as plain data


def _mapping(path: Path | str, node: yaml.Node, what: str) -> dict[str, _Entry]:
    """key -> entry of a YAML mapping; duplicate keys rejected."""
    if not isinstance(node, yaml.MappingNode):
        raise _fail(path, node, f"{what} must be a mapping")
    out: dict[str, _Entry] = {}
    for k, v in node.value:
        key = str(k.value)
        if key in out:
            raise _fail(path, k, f"{what}: {key!r} given twice")
        out[key] = _Entry(k, v, yaml.safe_load(yaml.serialize(v)))
    return out


def _number(path: Path | str, node: yaml.Node, value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(path, node, f"{what} must be a number, got {value!r}")
    return float(value)


def parse_profile(text: str, path: Path | str = "<profile>") -> JobProfile:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        why = getattr(exc, "problem", exc)
        raise ProfileError(f"{path}{line}: not valid YAML ({why})") from None
    if root is None:
        raise ProfileError(f"{path}: empty profile")
    top = _mapping(path, root, "a profile")
    for key, e in top.items():
        if key not in TOP_KEYS:
            raise _fail(path, e.key, f"unknown key {key!r}; known: {', '.join(sorted(TOP_KEYS))}")
    for key in REQUIRED:
        if key not in top:
            raise _fail(path, root, f"missing {key!r}")
    pid = top["id"].value
    if not isinstance(pid, str) or not pid.replace("_", "").replace("-", "").isalnum():
        raise _fail(path, top["id"].key, "id must be a word (letters, digits, _ or -)")
    version = top["version"].value
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _fail(path, top["version"].key, "version must be a whole number >= 1")

    weights: dict[str, float] = {}
    for dim, e in _mapping(path, top["weights"].node, "weights").items():
        if dim not in KEYS:
            raise _fail(path, e.key, f"unknown dimension {dim!r}; known: {', '.join(KEYS)}")
        weights[dim] = _number(path, e.key, e.value, f"weight of {dim}")
        if weights[dim] < 0:
            raise _fail(path, e.key, f"weight of {dim} is negative")
    total = sum(weights.values())
    if abs(total - 1.0) > 1e-6:
        raise _fail(path, top["weights"].key, f"weights must sum to 1, they sum to {total:.4g}")

    th = _mapping(path, top["thresholds"].node, "thresholds")
    for key, e in th.items():
        if key not in ("advance", "hold"):
            raise _fail(path, e.key, f"unknown threshold {key!r}; known: advance, hold")
    for key in ("advance", "hold"):
        if key not in th:
            raise _fail(path, top["thresholds"].key, f"missing threshold {key!r}")
    advance = _number(path, th["advance"].key, th["advance"].value, "advance")
    hold = _number(path, th["hold"].key, th["hold"].value, "hold")
    if not 0 <= hold <= advance <= 100:
        raise _fail(path, top["thresholds"].key, "thresholds need 0 <= hold <= advance <= 100")

    keywords: tuple[str, ...] = ()
    if "keywords" in top:
        kws = top["keywords"].value
        if not isinstance(kws, list) or not all(isinstance(k, str) and k for k in kws):
            raise _fail(path, top["keywords"].key, "keywords must be a list of words")
        keywords = tuple(kws)
    name: dict[str, str] = {}
    if "name" in top:
        names = top["name"].value
        if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
            raise _fail(path, top["name"].key, "name must map a language (zh, en) to a text")
        name = {str(k): v for k, v in names.items()}
    suggestions: dict[str, dict[str, str]] = {}
    if "suggestions" in top:
        for dim, e in _mapping(path, top["suggestions"].node, "suggestions").items():
            if dim not in KEYS:
                raise _fail(path, e.key, f"unknown dimension {dim!r}; known: {', '.join(KEYS)}")
            value = {"zh": e.value, "en": e.value} if isinstance(e.value, str) else e.value
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise _fail(path, e.key, f"suggestion for {dim} must be a text or zh/en texts")
            suggestions[dim] = {str(k): v for k, v in value.items()}
    low_below = 50.0
    if "low_below" in top:
        low_below = _number(path, top["low_below"].key, top["low_below"].value, "low_below")
    return JobProfile(pid, version, name, weights, keywords, advance, hold, suggestions,
                      low_below)


def load_profile(path: Path | str) -> JobProfile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_profile(text, path)


def profile_dirs(extra: Path | None = None) -> list[Path]:
    return [d for d in (extra, BUNDLED) if d is not None]


def find_profile(ref: str, extra: Path | None = None) -> JobProfile:
    """A profile by file path, or by id from `extra` (HR's own directory) then the bundled
    ones. The id of a file must match its name."""
    p = Path(ref)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return load_profile(p)
    for d in profile_dirs(extra):
        f = d / f"{ref}.yaml"
        if f.is_file():
            prof = load_profile(f)
            if prof.id != ref:
                raise ProfileError(f"{f}: id {prof.id!r} does not match the file name")
            return prof
    known = sorted({f.stem for d in profile_dirs(extra) if d.is_dir() for f in d.glob("*.yaml")})
    raise ProfileError(f"unknown job profile {ref!r}; known: {', '.join(known)}")


def profile_from_dict(data: dict[str, Any], source: str) -> JobProfile:
    """A profile kept as data (a session's snapshot), validated like a file."""
    return parse_profile(yaml.safe_dump(data, allow_unicode=True), source)


def dump_profile(profile: JobProfile) -> str:
    return yaml.safe_dump(profile.to_dict(), allow_unicode=True, sort_keys=False)

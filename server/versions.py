"""A session's report versions: v1 is the live report (`report.json`, never rewritten by a
re-analysis); each re-analysis adds `reports/v<n>.json`, sealed like the report. The diff
of two versions is what a reader checks first: per candidate, the speaking share and every
dimension's score, and the interruptions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.store import SessionStore


def _dir(store: SessionStore, sid: str):
    return store.dir(sid) / "reports"


def versions(store: SessionStore, sid: str) -> list[dict[str, Any]]:
    """[{version, made_by, made_at}], oldest first; v1 is the live report."""
    out = []
    if (store.dir(sid) / "report.json").exists():
        out.append({"version": 1, "made_by": "live", "made_at": None})
    d = _dir(store, sid)
    for n in sorted(int(p.stem[1:]) for p in d.glob("v*.json")) if d.exists() else []:
        meta = (load(store, sid, n) or {}).get("version", {})
        out.append({"version": n, "made_by": meta.get("made_by"), "made_at": meta.get("made_at")})
    return out


def load(store: SessionStore, sid: str, n: int) -> dict[str, Any] | None:
    if n == 1:
        return store.report(sid)
    path = _dir(store, sid) / f"v{n}.json"
    return store.read_json(sid, path, f"report/v{n}") if path.exists() else None


def add(store: SessionStore, sid: str, report: dict[str, Any], made_by: str) -> int:
    """Keep `report` as the next version; its number."""
    n = max((v["version"] for v in versions(store, sid)), default=1) + 1
    report = {**report, "version": {"version": n, "made_by": made_by,
                                    "made_at": datetime.now(UTC).isoformat(timespec="seconds")}}
    save(store, sid, n, report)
    return n


def save(store: SessionStore, sid: str, n: int, report: dict[str, Any]) -> None:
    d = _dir(store, sid)
    d.mkdir(mode=0o700, exist_ok=True)
    store.write_json(sid, d / f"v{n}.json", f"report/v{n}", report)


def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """b − a per candidate: share (percentage points), speaking time (s), each dimension's
    score; and the interruptions (by, of, at to 0.1 s) found in one and not the other."""
    out: dict[str, Any] = {}
    for p in b["participants"]:
        pid = p["id"]
        share = 100 * (b["speaking_share"].get(pid, 0.0) - a["speaking_share"].get(pid, 0.0))
        talk = b["speaking_time_s"].get(pid, 0.0) - a["speaking_time_s"].get(pid, 0.0)
        dims = {}
        for key, d in b.get("portraits", {}).get(pid, {}).get("dimensions", {}).items():
            old = a.get("portraits", {}).get(pid, {}).get("dimensions", {}).get(key, {})
            if d.get("score") is not None and old.get("score") is not None:
                dims[key] = round(d["score"] - old["score"], 1)
            elif d.get("score") != old.get("score"):
                dims[key] = {"from": old.get("score"), "to": d.get("score")}
        out[pid] = {"share_pp": round(share, 2), "speaking_time_s": round(talk, 2),
                    "dimensions": dims}

    def moments(r: dict[str, Any]) -> set[tuple[str, str, float, bool]]:
        return {(i["by"], i["of"], round(i["at"], 1), i["successful"])
                for i in r.get("interruptions", [])}

    ia, ib = moments(a), moments(b)
    return {"candidates": out, "interruptions": {
        "a": len(a.get("interruptions", [])), "b": len(b.get("interruptions", [])),
        "only_a": sorted(ia - ib), "only_b": sorted(ib - ia)},
        "max_share_pp": max((abs(c["share_pp"]) for c in out.values()), default=0.0)}

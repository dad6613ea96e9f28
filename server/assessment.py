"""The assessors' side of a session: bookmarks and notes on moments, ratings on the anchored
1–5 scales (docs/rubric.md), blind until everyone has submitted, then the wash-up.

    POST /api/sessions/{sid}/notes          a bookmark or note (candidate, dimension, moment)
    GET  /api/sessions/{sid}/notes          mine (all, for HR and the lead after submission)
    PUT  /api/sessions/{sid}/ratings        my ratings so far {pid: {dimension: 1..5}}
    POST /api/sessions/{sid}/ratings/submit mine are final
    GET  /api/sessions/{sid}/ratings        mine; the others' once every assessor submitted
    GET  /api/sessions/{sid}/washup         per candidate and dimension: each rating, the
                                            machine's score on the same scale, the flag, the
                                            evidence; agreement (ICC(2,k), Fleiss' kappa)
    POST /api/sessions/{sid}/consensus/{pid} the lead (or HR) records the final rating

Each assessor has their own link (an assessor token whose `who` is their id). Everything is
kept in the session folder as `assessment.json`, sealed like the session's other files.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web

from hr.washup import washup
from interaction.dimensions import KEYS
from server.http import error, json_body
from server.store import SessionRecord, SessionStore

MAX_NOTE = 2000
MAX_NOTES = 2000  #: per assessor and session


class _Server(Protocol):
    store: SessionStore

    def auth(self, request: web.Request, *roles: str) -> Any: ...
    def audit(self, request: web.Request, action: str, **what: Any) -> None: ...
    def record(self, sid: str) -> SessionRecord: ...
    def session_time(self, sid: str) -> float | None: ...
    def report_of(self, sid: str) -> dict[str, Any] | None: ...
    def notify(self, event: str, report: dict[str, Any]) -> None: ...


class Assessment:
    def __init__(self, server: _Server) -> None:
        self.server = server

    def add_routes(self, r: web.UrlDispatcher) -> None:
        r.add_post("/api/sessions/{sid}/notes", self.add_note)
        r.add_get("/api/sessions/{sid}/notes", self.notes)
        r.add_put("/api/sessions/{sid}/ratings", self.rate)
        r.add_post("/api/sessions/{sid}/ratings/submit", self.submit)
        r.add_get("/api/sessions/{sid}/ratings", self.ratings)
        r.add_get("/api/sessions/{sid}/washup", self.washup)
        r.add_post("/api/sessions/{sid}/consensus/{pid}", self.consensus)

    # -- what is kept --------------------------------------------------------------------

    def _load(self, rec: SessionRecord) -> dict[str, Any]:
        path = self.server.store.dir(rec.id) / "assessment.json"
        if path.exists():
            data: dict[str, Any] = self.server.store.read_json(rec.id, path, "assessment")
            return data
        return {"notes": {}, "ratings": {}, "submitted": {}, "consensus": {}}

    def _save(self, rec: SessionRecord, data: dict[str, Any]) -> None:
        store = self.server.store
        store.write_json(rec.id, store.dir(rec.id) / "assessment.json", "assessment", data)

    def _me(self, request: web.Request) -> tuple[SessionRecord, str, dict[str, Any]]:
        """The session and the assessor this link belongs to."""
        claims = self.server.auth(request, "assessor")
        rec = self.server.record(request.match_info["sid"])
        assessors = rec.options.get("assessors", {})
        if claims.who is None or claims.who not in assessors:
            raise error(web.HTTPForbidden, "this is the shared dashboard link: rating needs "
                        "an assessor's own link (the session's `assessors`)")
        return rec, claims.who, assessors[claims.who]

    @staticmethod
    def _all_submitted(rec: SessionRecord, data: dict[str, Any]) -> bool:
        return bool(rec.options.get("assessors")) and set(rec.options["assessors"]) <= set(
            data["submitted"])

    # -- notes and bookmarks -------------------------------------------------------------

    async def add_note(self, request: web.Request) -> web.Response:
        rec, me, info = self._me(request)
        body = await json_body(request)
        kind = body.get("kind", "note")
        pid, dim = body.get("candidate"), body.get("dimension")
        if kind not in ("note", "bookmark"):
            raise error(web.HTTPBadRequest, "kind: note | bookmark")
        if pid is not None and pid not in info["candidates"]:
            raise error(web.HTTPBadRequest, f"candidate: one of {', '.join(info['candidates'])}")
        if dim is not None and dim not in KEYS:
            raise error(web.HTTPBadRequest, f"dimension: one of {', '.join(KEYS)}")
        text = body.get("text", "")
        if not isinstance(text, str) or len(text) > MAX_NOTE:
            raise error(web.HTTPBadRequest, f"text: at most {MAX_NOTE} characters")
        at = body.get("at")
        if at is None:  # one key: the current moment of the session clock
            at = self.server.session_time(rec.id)
        if not isinstance(at, int | float) or isinstance(at, bool) or at < 0:
            raise error(web.HTTPBadRequest, "at: session seconds")
        data = self._load(rec)
        mine = data["notes"].setdefault(me, [])
        if len(mine) >= MAX_NOTES:
            raise error(web.HTTPBadRequest, f"at most {MAX_NOTES} notes per assessor")
        note = {"id": secrets.token_hex(4), "at": round(float(at), 2), "kind": kind,
                "candidate": pid, "dimension": dim, "text": text,
                "written": datetime.now(UTC).isoformat(timespec="seconds")}
        mine.append(note)
        self._save(rec, data)
        self.server.audit(request, f"{kind}.write", session=rec.id, candidate=pid)
        return web.json_response(note, status=201)

    async def notes(self, request: web.Request) -> web.Response:
        claims = self.server.auth(request, "assessor", "hr")
        rec = self.server.record(request.match_info["sid"])
        data = self._load(rec)
        lead = claims.who in rec.options.get("assessors", {}) and rec.options["assessors"][
            claims.who].get("lead")
        if claims.role == "hr" or (lead and self._all_submitted(rec, data)):
            out = data["notes"]
        elif claims.who in rec.options.get("assessors", {}):
            out = {claims.who: data["notes"].get(claims.who, [])}
        else:
            raise error(web.HTTPForbidden, "notes need an assessor's own link")
        self.server.audit(request, "notes.read", session=rec.id)
        return web.json_response(out)

    # -- ratings -------------------------------------------------------------------------

    async def rate(self, request: web.Request) -> web.Response:
        rec, me, info = self._me(request)
        body = await json_body(request)
        data = self._load(rec)
        if me in data["submitted"]:
            raise error(web.HTTPConflict, "your ratings are submitted and final")
        mine = data["ratings"].setdefault(me, {})
        for pid, dims in body.items():
            if pid not in info["candidates"]:
                raise error(web.HTTPBadRequest, f"{pid!r} is not one of your candidates")
            if not isinstance(dims, dict):
                raise error(web.HTTPBadRequest, f"{pid}: {{dimension: 1..5}}")
            for dim, value in dims.items():
                if dim not in KEYS:
                    raise error(web.HTTPBadRequest, f"unknown dimension {dim!r}")
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                          or not 1 <= value <= 5):
                    raise error(web.HTTPBadRequest, f"{pid}.{dim}: a whole number 1..5")
                mine.setdefault(pid, {})[dim] = value
        self._save(rec, data)
        self.server.audit(request, "ratings.write", session=rec.id)
        return web.json_response(mine)

    async def submit(self, request: web.Request) -> web.Response:
        rec, me, _ = self._me(request)
        data = self._load(rec)
        first = me not in data["submitted"]
        data["submitted"].setdefault(me, datetime.now(UTC).isoformat(timespec="seconds"))
        self._save(rec, data)
        self.server.audit(request, "ratings.submit", session=rec.id)
        everyone = self._all_submitted(rec, data)
        if first and everyone:
            self._notify(rec, "assessment.submitted")
        return web.json_response({"submitted": data["submitted"][me], "everyone": everyone})

    def _notify(self, rec: SessionRecord, event: str) -> None:
        """The HR webhooks, with the report and its assessment section (once the session
        has a report: an assessment of a session still live waits for its end)."""
        if rec.state == "ended" and (report := self.server.store.report(rec.id)) is not None:
            section = report_section(self.server.store, rec, report)
            self.server.notify(event, {**report, "assessment": section})

    async def ratings(self, request: web.Request) -> web.Response:
        claims = self.server.auth(request, "assessor", "hr")
        rec = self.server.record(request.match_info["sid"])
        data = self._load(rec)
        everyone = self._all_submitted(rec, data)
        out: dict[str, Any] = {"everyone_submitted": everyone,
                               "submitted": sorted(data["submitted"])}
        if claims.who in rec.options.get("assessors", {}):
            out["me"] = claims.who
            out["mine"] = data["ratings"].get(claims.who, {})
            out["candidates"] = rec.options["assessors"][claims.who]["candidates"]
            out["lead"] = rec.options["assessors"][claims.who]["lead"]
        # blind: nobody sees another assessor's ratings before every assessor has submitted
        out["all"] = data["ratings"] if everyone else None
        self.server.audit(request, "ratings.read", session=rec.id)
        return web.json_response(out)

    # -- wash-up -------------------------------------------------------------------------

    async def washup(self, request: web.Request) -> web.Response:
        self.server.auth(request, "assessor", "hr")
        rec = self.server.record(request.match_info["sid"])
        data = self._load(rec)
        if not self._all_submitted(rec, data):
            raise error(web.HTTPConflict, "the wash-up opens once every assessor has submitted")
        report = self.server.report_of(rec.id)
        if report is None:
            raise error(web.HTTPConflict, "the session has no report yet")
        self.server.audit(request, "washup.read", session=rec.id)
        return web.json_response(washup(report, data))

    async def consensus(self, request: web.Request) -> web.Response:
        claims = self.server.auth(request, "assessor", "hr")
        rec = self.server.record(request.match_info["sid"])
        pid = request.match_info["pid"]
        assessors = rec.options.get("assessors", {})
        if claims.role != "hr" and not assessors.get(claims.who or "", {}).get("lead"):
            raise error(web.HTTPForbidden, "the lead assessor (or HR) records the consensus")
        if pid not in {p for p, _ in rec.participants}:
            raise error(web.HTTPNotFound, f"no candidate {pid!r} in this session")
        body = await json_body(request)
        dim, rating, reason = body.get("dimension"), body.get("rating"), body.get("reason")
        if dim not in KEYS:
            raise error(web.HTTPBadRequest, f"dimension: one of {', '.join(KEYS)}")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise error(web.HTTPBadRequest, "rating: a whole number 1..5")
        if not isinstance(reason, str) or not reason.strip():
            raise error(web.HTTPBadRequest, "reason: why the group agreed on it")
        data = self._load(rec)
        if not self._all_submitted(rec, data):
            raise error(web.HTTPConflict, "the consensus follows the wash-up")
        was_final = _final(data)
        data["consensus"].setdefault(pid, {})[dim] = {
            "rating": rating, "reason": reason.strip()[:MAX_NOTE],
            "by": claims.who or "hr", "at": datetime.now(UTC).isoformat(timespec="seconds")}
        self._save(rec, data)
        self.server.audit(request, "consensus.write", session=rec.id, candidate=pid)
        if not was_final and _final(data):
            self._notify(rec, "assessment.final")
        return web.json_response(data["consensus"][pid][dim])


def _final(data: dict[str, Any]) -> bool:
    """Every cell some assessor rated has its consensus."""
    rated = {(pid, dim) for by_pid in data["ratings"].values() for pid, dims in by_pid.items()
             for dim, v in dims.items() if v is not None}
    return bool(rated) and all(dim in data["consensus"].get(pid, {}) for pid, dim in rated)


def report_section(store: SessionStore, rec: SessionRecord, report: dict[str, Any],
                   reader: str | None = None) -> dict[str, Any] | None:
    """The report's `assessment`: the assessors, their notes and bookmarks, and, once every
    assessor has submitted, each rating, the consensus and the agreement (the wash-up).
    `reader`: None for HR (everything); an assessor's id (or "" for the shared dashboard
    link) sees only their own notes until every assessor has submitted."""
    assessors = rec.options.get("assessors")
    if not assessors:
        return None
    path = store.dir(rec.id) / "assessment.json"
    data = (store.read_json(rec.id, path, "assessment") if path.exists()
            else {"notes": {}, "ratings": {}, "submitted": {}, "consensus": {}})
    everyone = set(assessors) <= set(data["submitted"])
    out: dict[str, Any] = {
        "assessors": {a: {"name": v["name"], "lead": v["lead"], "candidates": v["candidates"]}
                      for a, v in assessors.items()},
        "notes": (data["notes"] if reader is None or everyone
                  else {reader: data["notes"][reader]} if reader in data["notes"] else {}),
        "submitted": data["submitted"],
        "consensus": data["consensus"], "ratings": data["ratings"] if everyone else None}
    if everyone:
        w = washup(report, data)
        out["agreement"] = w["agreement"]
        out["flags"] = [{"candidate": p, "dimension": k, "machine": x["machine"],
                         "mean": x["mean"]}
                        for p, dims in w["candidates"].items() for k, x in dims.items()
                        if x["flag"]]
    return out

"""HR's view of every session, with filters, and the assessors' calibration across sessions.

    GET /api/sessions?state=&since=&until=&q=&role=&assessor=&flagged=1&assessed=1
                               every session (HR), each with its assessment status
    GET /api/calibration?since=&until=&role=
                               per assessor: leniency, agreement with the consensus
                               (hr/calibration.py)
    GET /sessions              the HR page (dashboard/static/sessions.html)

The filters are optional; without any the list is every session, as before.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiohttp import web

from dashboard import STATIC as DASHBOARD
from hr.calibration import AssessedSession, calibration
from hr.washup import washup
from server.http import error, is_date
from server.store import SessionRecord, SessionStore

STATES = ("created", "live", "ended")


class _Server(Protocol):
    store: SessionStore

    def auth(self, request: web.Request, *roles: str) -> Any: ...
    def audit(self, request: web.Request, action: str, **what: Any) -> None: ...


def session_json(rec: SessionRecord) -> dict[str, Any]:
    return {
        "id": rec.id,
        "state": rec.state,
        "language": rec.language,
        "participants": [{"id": p, "name": n} for p, n in rec.participants],
        "created_at": rec.created_at,
        "started_at": rec.started_at,
        "ended_at": rec.ended_at,
        "duration_s": rec.duration_s,
        "affect": rec.affect,
        "profile": (rec.options.get("profile") or {}).get("id"),
        "phases": rec.options.get("phases", []),
        "recording": rec.options.get("recording"),
    }


class SessionsView:
    def __init__(self, server: _Server) -> None:
        self.server = server

    def add_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/api/sessions", self.list)
        r.add_get("/api/calibration", self.calibration)
        r.add_get("/sessions", self.page)

    # -- what is kept --------------------------------------------------------------------

    def _assessed(self, rec: SessionRecord) -> AssessedSession:
        store = self.server.store
        path = store.dir(rec.id) / "assessment.json"
        data = store.read_json(rec.id, path, "assessment") if path.exists() else {}
        return AssessedSession(
            session=rec.id, assessors=rec.options.get("assessors") or {},
            ratings=data.get("ratings", {}), submitted=data.get("submitted", {}),
            consensus=data.get("consensus", {}),
            report=store.report(rec.id) if rec.state == "ended" else None)

    def _rows(self, query: dict[str, str]) -> tuple[list[dict[str, Any]], list[AssessedSession]]:
        """The sessions that pass the filters, each with its assessment status; files are
        read here, off the event loop."""
        rows, kept = [], []
        needle = query.get("q", "").strip().lower()
        for rec in self.server.store.all():
            if query.get("state") and rec.state != query["state"]:
                continue
            day = (rec.created_at or "")[:10]
            if (query.get("since") and day < query["since"]) or (
                    query.get("until") and day > query["until"]):
                continue
            row = session_json(rec)
            if query.get("role") and row["profile"] != query["role"]:
                continue
            if needle and needle not in " ".join(
                    [rec.id, *(f"{p} {n}" for p, n in rec.participants)]).lower():
                continue
            s = self._assessed(rec)
            names = {str(v.get("name") or a) for a, v in s.assessors.items()}
            if query.get("assessor") and query["assessor"] not in names:
                continue
            everyone = bool(s.assessors) and set(s.assessors) <= set(s.submitted)
            flags = 0
            if everyone and s.report is not None:
                flags = sum(x["flag"] for dims in washup(s.report, {
                    "ratings": s.ratings, "consensus": s.consensus})["candidates"].values()
                    for x in dims.values())
            if query.get("flagged") == "1" and not flags:
                continue
            if query.get("assessed") == "1" and not everyone:
                continue
            row["assessment"] = {
                "assessors": sorted(names), "submitted": len(s.submitted),
                "everyone_submitted": everyone, "flags": flags,
                "consensus": sum(len(d) for d in s.consensus.values())}
            rows.append(row)
            kept.append(s)
        return rows, kept

    async def _read(self, request: web.Request
                    ) -> tuple[list[dict[str, Any]], list[AssessedSession]]:
        q = dict(request.query)
        for key in ("since", "until"):
            if q.get(key) and not is_date(q[key]):
                raise error(web.HTTPBadRequest, f"{key}: a date YYYY-MM-DD")
        if q.get("state") and q["state"] not in STATES:
            raise error(web.HTTPBadRequest, f"state: one of {', '.join(STATES)}")
        return await asyncio.get_running_loop().run_in_executor(None, self._rows, q)

    # -- handlers ------------------------------------------------------------------------

    async def list(self, request: web.Request) -> web.Response:
        self.server.auth(request, "hr")
        rows, _ = await self._read(request)
        self.server.audit(request, "sessions.read")
        return web.json_response(rows)

    async def calibration(self, request: web.Request) -> web.Response:
        self.server.auth(request, "hr")
        _, sessions = await self._read(request)
        self.server.audit(request, "calibration.read")
        return web.json_response(calibration(sessions))

    async def page(self, request: web.Request) -> web.FileResponse:
        self.server.auth(request, "hr")
        return web.FileResponse(DASHBOARD / "sessions.html")


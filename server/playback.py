"""Recordings over HTTP: the playback page, each segment decrypted on the fly (in memory,
with byte ranges for the browser's seeks), re-analysis and the report versions with their
diff. Every media read and every playback is in the audit trail."""

from __future__ import annotations

import asyncio
import re
from typing import Any, Protocol

from aiohttp import web

from analysis.settings import Settings
from dashboard import STATIC as DASHBOARD
from media.recorder import MIME
from server import versions
from server.http import error
from server.reanalysis import ReanalysisError, reanalyse
from server.recording import expected_chunks, open_container, segments
from server.store import SessionRecord, SessionStore
from server.vault import VaultError

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class _Server(Protocol):
    store: SessionStore
    settings: Settings
    live: dict[str, Any]

    def auth(self, request: web.Request, *roles: str) -> Any: ...
    def audit(self, request: web.Request, action: str, **what: Any) -> None: ...
    def record(self, sid: str) -> SessionRecord: ...


def _public(seg: dict[str, Any]) -> dict[str, Any]:
    at = seg["at"]
    return {"file": seg["file"], "who": seg["who"], "kind": seg["kind"], "codec": seg["codec"],
            "generation": seg["generation"], "first_at": seg["first_at"],
            "last_at": round(float(at[-1]), 3) if len(at) else seg["first_at"],
            "packets": seg["packets"], "mime": MIME.get(seg["codec"], "")}


class Playback:
    def __init__(self, server: _Server) -> None:
        self.server = server

    def add_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/playback/{sid}", self.page)
        r.add_get("/api/sessions/{sid}/recordings", self.recordings)
        r.add_get("/api/sessions/{sid}/media/{file}", self.media)
        r.add_post("/api/sessions/{sid}/playback", self.played)
        r.add_post("/api/sessions/{sid}/reanalyse", self.reanalyse)
        r.add_get("/api/sessions/{sid}/reports", self.versions)
        r.add_get("/api/sessions/{sid}/reports/diff", self.diff)
        r.add_get(r"/api/sessions/{sid}/reports/{n:\d+}", self.version)

    def _ended(self, request: web.Request, *roles: str) -> str:
        self.server.auth(request, *roles)
        sid = request.match_info["sid"]
        if self.server.record(sid).state != "ended" or sid in self.server.live:
            raise error(web.HTTPConflict, "recordings are read once the session has ended")
        return sid

    async def _segments(self, sid: str) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, segments, self.server.store, sid)

    async def page(self, request: web.Request) -> web.FileResponse:
        self.server.record(request.match_info["sid"])
        return web.FileResponse(DASHBOARD / "playback.html")

    async def recordings(self, request: web.Request) -> web.Response:
        sid = self._ended(request, "assessor", "hr")
        segs = [_public(s) for s in await self._segments(sid)]
        self.server.audit(request, "recordings.list", session=sid)
        return web.json_response({"session": sid, "segments": segs})

    async def media(self, request: web.Request) -> web.Response:
        """One segment's container, decrypted into memory and served from there (a byte
        range when asked: the browser seeks with them); nothing is written."""
        sid = self._ended(request, "assessor", "hr")
        file = request.match_info["file"]
        seg = next((s for s in await self._segments(sid) if s["file"] == file), None)
        if seg is None:
            raise error(web.HTTPNotFound, f"no recording {file!r} in this session")
        loop = asyncio.get_running_loop()
        try:
            data = await loop.run_in_executor(None, open_container, self.server.store, sid,
                                              file, expected_chunks(seg))
        except VaultError as exc:
            raise error(web.HTTPInternalServerError, f"cannot read {file}: {exc}") from None
        total, status, start, end = len(data), 200, 0, len(data) - 1
        if (m := _RANGE.match(request.headers.get("Range", ""))) is not None:
            a, b = m.groups()
            if a:
                start, end = int(a), min(int(b), total - 1) if b else total - 1
            elif b:
                start = max(total - int(b), 0)
            if start > end or start >= total:
                raise web.HTTPRequestRangeNotSatisfiable(headers={
                    "Content-Range": f"bytes */{total}"})
            status = 206
        self.server.audit(request, "media.read", session=sid, candidate=seg["who"],
                          segment=seg["file"], bytes=f"{start}-{end}")
        headers = {"Accept-Ranges": "bytes", "Cache-Control": "no-store"}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        return web.Response(body=data[start:end + 1], status=status, headers=headers,
                            content_type=MIME.get(seg["codec"], "application/octet-stream"))

    async def played(self, request: web.Request) -> web.Response:
        """The page says what it played: whose recording, from which session time."""
        sid = self._ended(request, "assessor", "hr")
        body = await request.json() if request.can_read_body else {}
        who, at = body.get("candidate"), body.get("at")
        if not isinstance(who, str) or not isinstance(at, int | float):
            raise error(web.HTTPBadRequest, "body: {candidate: id, at: session seconds}")
        self.server.audit(request, "media.playback", session=sid, candidate=who,
                          at=round(float(at), 2))
        return web.json_response({"ok": True})

    async def reanalyse(self, request: web.Request) -> web.Response:
        """HR re-runs the current pipeline on the recordings: a new report version."""
        sid = self._ended(request, "hr")
        store, loop = self.server.store, asyncio.get_running_loop()
        try:
            report = await loop.run_in_executor(None, reanalyse, store, sid,
                                                self.server.settings)
        except ReanalysisError as exc:
            raise error(web.HTTPConflict, str(exc)) from None
        n = await loop.run_in_executor(None, versions.add, store, sid, report, "reanalysis")
        self.server.audit(request, "report.reanalyse", session=sid, version=n)
        live = store.report(sid) or report
        return web.json_response({"version": n, "diff": versions.diff(live, report)})

    async def versions(self, request: web.Request) -> web.Response:
        self.server.auth(request, "assessor", "hr")
        sid = request.match_info["sid"]
        self.server.record(sid)
        return web.json_response(versions.versions(self.server.store, sid))

    def _load(self, sid: str, n: int) -> dict[str, Any]:
        report = versions.load(self.server.store, sid, n)
        if report is None:
            raise error(web.HTTPNotFound, f"session {sid} has no report version {n}")
        return report

    async def version(self, request: web.Request) -> web.Response:
        self.server.auth(request, "assessor", "hr")
        sid, n = request.match_info["sid"], int(request.match_info["n"])
        self.server.record(sid)
        report = self._load(sid, n)
        self.server.audit(request, "report.read", session=sid, version=n)
        return web.json_response(report)

    async def diff(self, request: web.Request) -> web.Response:
        self.server.auth(request, "assessor", "hr")
        sid = request.match_info["sid"]
        self.server.record(sid)
        try:
            a, b = int(request.query.get("a", "1")), int(request.query["b"])
        except (KeyError, ValueError):
            raise error(web.HTTPBadRequest, "?a=<version>&b=<version> (a defaults to 1)") \
                from None
        out = versions.diff(self._load(sid, a), self._load(sid, b))
        self.server.audit(request, "report.diff", session=sid, a=a, b=b)
        return web.json_response({"a": a, "b": b, **out})

"""The aiohttp application: REST + WebSocket API, join links, candidate and dashboard pages.

Every request carries a token (``Authorization: Bearer`` or ``?token=``) scoped to a role
and, except for HR, to one session; see `server/tokens.py` and `server/openapi.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import ssl
import tempfile
import time
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.abc import AbstractAccessLogger

from analysis.report import replay
from analysis.settings import RECORDING_MODES, Settings
from core import codec
from core import policy as affect_policy
from core.bus import Bus, make_bus
from core.events import Event
from core.policy import candidate_notice
from core.redact import redact_url
from dashboard import STATIC as DASHBOARD
from hr.export import (
    assessment_csv,
    portraits_csv,
    portraits_json,
    render_pdf,
    render_report_html,
)
from hr.feedback import render_feedback_html
from hr.fit import with_fit
from hr.profiles import ProfileError, find_profile
from hr.webhooks import notify as notify_webhooks
from hr.webhooks import targets as webhook_targets
from media.passthrough import check_version, use_host_addresses
from media.room import OfferError
from server import tokens
from server.assessment import Assessment
from server.assessment import report_section as assessment_section
from server.audit import AuditLog, token_id
from server.campaign import Campaign
from server.erasure import erase_candidate
from server.http import error as _error
from server.http import json_body as _json
from server.live import LiveSession, TooLate, session_info, session_profile
from server.nodes import PLACED, Nodes
from server.openapi import OPENAPI
from server.playback import Playback
from server.recording import delete_media, recording_mode
from server.revocation import Revocations
from server.sessions_view import SessionsView, session_json
from server.store import SessionRecord, SessionStore, valid_id
from server.turn import ice_servers_for
from server.vault import load_vault
from server.workers import make_workers

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

MAX_PARTICIPANTS = 8
MAX_ASSESSORS = 8
MAX_CASE_BYTES = 64 * 1024
LIVE_TICK_S = 0.25  # dashboard clock messages
REPLAY_CHUNK = 200  # events sent to a catching-up dashboard between yields to the loop
REPLAY_CAP = 2000  # events read ahead for one dashboard, waiting to be encoded and sent
ENDED_QUIET_S = 1.0  # after the end, a live dashboard with nothing more to read is told so
PDF_RENDERS_MAX = 2
DRAINING_LOAD = 1_000_000  #: the load a draining node registers: never placed on
ACTOR = web.RequestKey("actor", dict)  # who `auth` let in, for the audit trail


class Server:
    def __init__(self, settings: Settings, bus: Bus | None = None) -> None:
        check_version()
        self.settings = settings
        self.cfg = settings.server
        #: one server per data dir: a second one would take the first one's live sessions
        self._lock = DataDirLock(Path(settings.data_dir))
        try:
            self._setup(settings, bus)
        except BaseException:  # a server that never ran holds nothing
            self._lock.release()
            raise

    def _setup(self, settings: Settings, bus: Bus | None) -> None:
        self.store = SessionStore(settings.data_dir, load_vault(settings.kek_file, settings.kek))
        self.audit_log = AuditLog(Path(settings.data_dir) / "audit.jsonl")
        self.revocations = Revocations(Path(settings.data_dir) / "revoked.json")
        self.bus = bus or make_bus(settings.redis_url)
        self.secret = self.cfg.secret or _load_secret(Path(settings.data_dir))
        self.live: dict[str, LiveSession] = {}
        #: analysis runs in worker processes: a local one, or Redis's consumer group
        self.workers = make_workers(settings)
        #: with Redis: this node's load registered, new sessions to the least-loaded node
        self.nodes = Nodes(settings, self._load)
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self.draining: float | None = None  #: SIGTERM: the drain's deadline (monotonic)
        self.drained = asyncio.Event()  #: set when a drain is over (the process may stop)
        self._resuming: list[LiveSession] = []  #: live when the server stopped: go on
        self._loops: list[asyncio.Future[None]] = []
        self._pdf_renders = asyncio.Semaphore(PDF_RENDERS_MAX)
        self._replay_encoders = asyncio.Semaphore(1)
        hosts = [h.strip() for h in self.cfg.ice_host_addresses.split(",") if h.strip()]
        use_host_addresses(hosts or None)
        self.recover()

    def recover(self) -> None:
        """After a restart: sessions not yet started can still be joined; a session that was
        live when the server stopped goes on (`resume_live`, at startup), on its own clock."""
        for rec in self.store.all():
            if rec.state in ("created", "live"):
                live = LiveSession(rec, self.settings, self.store, self.bus, self.workers)
                self.live[rec.id] = live
                if rec.state == "live":
                    self._resuming.append(live)

    async def resume_live(self) -> None:
        """Sessions that were live when the server stopped go on: the candidates' browsers
        re-offer with their tokens and land on the same session clock. One that cannot be
        resumed is closed with the report of everything it logged, marked incomplete."""
        for live in self._resuming:
            try:
                await live.resume()
            except Exception as exc:  # shown in the log and its report; the others go on
                if isinstance(exc, TooLate):
                    logger.warning("session %s: not resumed: %s", live.rec.id, exc)
                else:
                    logger.exception("session %s: cannot resume it", live.rec.id)
                self.live.pop(live.rec.id, None)
                await live.stop_media()
                self._close_unresumable(live.rec, str(exc) or repr(exc))
        self._resuming.clear()

    def _close_unresumable(self, rec: SessionRecord, why: str) -> None:
        report = with_fit(replay(session_info(rec), self.session_policy(rec),
                                 self.store.events(rec.id)), session_profile(rec))
        report = {**report, "complete": False, "gaps": [{
            "what": "server restart", "detail": "the session was live when the server "
            f"stopped and could not be resumed ({why}); the report covers the "
            f"{report['session']['duration_s']} s analysed before"}]}
        self.store.save_report(rec.id, report)
        rec.state, rec.ended_at = "ended", datetime.now(UTC).isoformat(timespec="seconds")
        rec.duration_s = report["session"]["duration_s"]
        rec.options["ended_by"] = "server restart"
        self.store.save(rec)

    def _load(self) -> int:
        """Sessions this node carries, for placement; a draining node takes none."""
        if self.draining is not None:
            return DRAINING_LOAD
        return sum(not lv.ending for lv in self.live.values())

    # -- SIGTERM: drain ----------------------------------------------------------------

    def drain(self) -> None:
        """Take no new session (503, readiness fails); live ones go on until they end or
        `drain_s` passes, then end with the gap in their reports; then `drained` is set."""
        if self.draining is not None:
            return
        self.draining = time.monotonic() + self.cfg.drain_s
        logger.info("draining: no new sessions; %d live ones have up to %.0f s to end",
                    sum(lv.live for lv in self.live.values()), self.cfg.drain_s)
        self._loops.append(asyncio.ensure_future(self._drain()))

    async def _drain(self, every_s: float = 0.5) -> None:
        await self.nodes.register()  # placement stops choosing this node now
        assert self.draining is not None
        # a session leaves `live` once its `end` is over (its report written)
        while any(lv.started for lv in self.live.values()) and time.monotonic() < self.draining:
            await asyncio.sleep(every_s)
        for sid, live in list(self.live.items()):
            if live.live:
                logger.info("session %s: the drain deadline passed: ending it", sid)
                report = await live.end(gap={
                    "what": "server shutdown", "detail": "the server was stopped (SIGTERM) "
                    f"and the session had not ended within its {self.cfg.drain_s:.0f} s "
                    "drain"})
                self.live.pop(sid, None)
                self.notify("session.ended", report)
        self.drained.set()

    def _refuse_if_draining(self) -> None:
        if self.draining is not None:
            raise _error(web.HTTPServiceUnavailable, "this server is shutting down (draining "
                         "its live sessions): it takes no new session; try another node")

    # -- tokens --------------------------------------------------------------------------

    def token(self, role: str, session: str | None = None, who: str | None = None) -> str:
        exp = time.time() + self.cfg.token_ttl_s
        return tokens.issue(self.secret, tokens.Claims(role, session, who, exp,
                                                       iat=time.time()))

    def auth(self, request: web.Request, *roles: str) -> tokens.Claims:
        header = request.headers.get("Authorization", "")
        raw = header[7:] if header.startswith("Bearer ") else request.query.get("token")
        try:
            claims = tokens.verify(self.secret, raw, time.time())
        except tokens.TokenError as e:
            raise _error(web.HTTPUnauthorized, str(e)) from None
        if self.revocations.revoked(token_id(raw or ""), claims):
            raise _error(web.HTTPUnauthorized, "this token was revoked")
        if claims.role not in roles:
            raise _error(web.HTTPForbidden, f"a {'/'.join(roles)} token is required")
        sid = request.match_info.get("sid")
        if sid is not None and claims.role != "hr" and claims.session != sid:
            raise _error(web.HTTPForbidden, "this token belongs to another session")
        request[ACTOR] = {"role": claims.role, "session": claims.session, "who": claims.who,
                            "token": token_id(raw or "")}
        return claims

    async def grant(self, request: web.Request) -> web.Response:
        """A link's token exchanged for a short-lived one of the same scope; revoking the
        link (or its session) revokes what it was exchanged for."""
        claims = self.auth(request, "candidate", "assessor", "hr")
        now = time.time()
        short = tokens.Claims(claims.role, claims.session, claims.who,
                              min(claims.exp, now + self.cfg.grant_ttl_s), iat=now,
                              parent=claims.parent or request[ACTOR]["token"])
        return web.json_response({"token": tokens.issue(self.secret, short),
                                  "expires": short.exp})

    async def revoke(self, request: web.Request) -> web.Response:
        """HR revokes one token ({token} or its audit fingerprint {token_id}) or every
        token of a session issued until now ({session})."""
        self.auth(request, "hr")
        body = await _json(request)
        if isinstance(body.get("session"), str):
            self.record(body["session"])
            self.revocations.revoke_session(body["session"], time.time())
            self.audit(request, "token.revoke", session=body["session"])
            return web.json_response({"revoked": {"session": body["session"]}})
        fp = token_id(body["token"]) if isinstance(body.get("token"), str) else body.get(
            "token_id")
        if not isinstance(fp, str) or not fp:
            raise _error(web.HTTPBadRequest, "body: {token} | {token_id} | {session}")
        self.revocations.revoke_token(fp)
        self.audit(request, "token.revoke", token_id=fp)
        return web.json_response({"revoked": {"token_id": fp}})

    def audit(self, request: web.Request, action: str, **what: Any) -> None:
        """A read or change of personal data, by the token `auth` accepted."""
        if "query" in what:  # filters are kept; a token in the query never is
            what["query"] = {k: v for k, v in what["query"].items() if k != "token"}
        self.audit_log.record(request[ACTOR], action, **what)

    def session_policy(self, rec: SessionRecord) -> str:
        return affect_policy.resolve(self.settings.affect_analysis, rec.affect)

    def session_recording(self, rec: SessionRecord) -> str:
        """off | audio | audio+video: what this session records (server/recording.py)."""
        return recording_mode(self.settings, rec, self.store.vault is not None)[0]

    def record(self, sid: str) -> SessionRecord:
        if sid in self.live:
            return self.live[sid].rec
        try:
            return self.store.load(sid)
        except KeyError:
            raise _error(web.HTTPNotFound, f"unknown session {sid!r}") from None

    def links(self, request: web.Request, rec: SessionRecord) -> dict[str, Any]:
        base = self.cfg.public_url.rstrip("/") or f"{request.scheme}://{request.host}"
        return {
            "join": {
                pid: f"{base}/join/{rec.id}?token={self.token('candidate', rec.id, pid)}"
                for pid, _ in rec.participants
            },
            "dashboard": f"{base}/dashboard/{rec.id}?token={self.token('assessor', rec.id)}",
            # each assessor's own dashboard: their notes and ratings are theirs
            "assessors": {
                aid: f"{base}/dashboard/{rec.id}?token={self.token('assessor', rec.id, aid)}"
                for aid in rec.options.get("assessors", {})
            },
        }

    def session_time(self, sid: str) -> float | None:
        live = self.live.get(sid)
        return live.now() if live is not None and live.live else None

    def report_of(self, sid: str) -> dict[str, Any] | None:
        live = self.live.get(sid)
        return live.partial_report() if live is not None else self.store.report(sid)

    # -- REST ----------------------------------------------------------------------------

    async def create_session(self, request: web.Request) -> web.Response:
        self.auth(request, "hr")
        body = await _json(request)
        if PLACED not in request.headers and (node := await self.nodes.least_loaded()):
            placed = await self._place(node, request, body)
            if placed is not None:
                return placed
        self._refuse_if_draining()
        people = body.get("participants")
        if not isinstance(people, list) or not 2 <= len(people) <= MAX_PARTICIPANTS:
            raise _error(web.HTTPBadRequest, f"participants: a list of 2–{MAX_PARTICIPANTS}")
        participants: list[tuple[str, str]] = []
        for p in people:
            pid = p.get("id") if isinstance(p, dict) else None
            name = p.get("name", pid) if isinstance(p, dict) else None
            if not isinstance(pid, str) or not valid_id(pid) or not isinstance(name, str):
                raise _error(web.HTTPBadRequest, f"bad participant {p!r}: id [A-Za-z0-9_-]")
            clean = display_name(name)
            if clean is None:
                raise _error(web.HTTPBadRequest, f"participant {pid}: the name must be text "
                             "(no control characters or invalid code points)")
            participants.append((pid, clean))
        if len({pid for pid, _ in participants}) != len(participants):
            raise _error(web.HTTPBadRequest, "participant ids must be unique")
        language = body.get("language", self.settings.language)
        if not isinstance(language, str) or not 2 <= len(language) <= 8:
            raise _error(web.HTTPBadRequest, "language: a code such as zh or en")
        affect = body.get("affect")
        if affect not in (None, "off", "observe", "score"):
            raise _error(web.HTTPBadRequest, "affect: off | observe | score")
        options: dict[str, Any] = {}
        options["phases"] = _phases(body.get("phases", "default"), len(participants))
        if (case := body.get("case")) is not None:
            if (not isinstance(case, dict) or not isinstance(case.get("text", ""), str)
                    or len(json.dumps(case)) > MAX_CASE_BYTES):
                raise _error(web.HTTPBadRequest, "case: {title, text}, at most 64 KiB")
            options["case"] = {"title": str(case.get("title", ""))[:200],
                               "text": case.get("text", "")}
        if (assessors := body.get("assessors")) is not None:
            options["assessors"] = _assessors(assessors, [p for p, _ in participants])
        if (recording := body.get("recording")) is not None:
            if recording not in RECORDING_MODES:
                raise _error(web.HTTPBadRequest, f"recording: {' | '.join(RECORDING_MODES)}")
            options["recording"] = recording
        if (ref := body.get("profile")) is not None:
            if not isinstance(ref, str) or not valid_id(ref):
                raise _error(web.HTTPBadRequest, "profile: the id of a job profile")
            try:  # kept whole: the decision keeps the version it was made with
                options["profile"] = find_profile(ref, self.settings.hr_profiles).to_dict()
            except ProfileError as exc:
                raise _error(web.HTTPBadRequest, str(exc)) from None
        rec = SessionRecord(
            id=self.store.new_id(),
            participants=participants,
            language=language,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            affect=affect,
            options=options,
        )
        self.store.save(rec)
        self.live[rec.id] = LiveSession(rec, self.settings, self.store, self.bus, self.workers)
        await self.nodes.register()  # the next placement sees this session
        out = session_json(rec)
        out["links"] = self.links(request, rec)
        out["assessor_token"] = self.token("assessor", rec.id)
        return web.json_response(out, status=201)

    async def _place(self, node: str, request: web.Request, body: Any) -> web.Response | None:
        """Hand the creation to a less-loaded node; None (create here) if it does not
        answer."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        header = request.headers.get("Authorization") or f"Bearer {request.query.get('token')}"
        try:
            async with self._http.post(f"{node}/api/sessions", json=body, headers={
                    "Authorization": header, PLACED: self.nodes.url}) as r:
                text = await r.text()
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("cannot place a session on %s (%r): created here", node, exc)
            return None
        logger.info("session placed on the less-loaded node %s", node)
        return web.Response(text=text, status=status, content_type="application/json")

    async def get_session(self, request: web.Request) -> web.Response:
        self.auth(request, "assessor", "hr")
        sid = request.match_info["sid"]
        out = session_json(self.record(sid))
        self.audit(request, "session.read", session=sid)
        if (live := self.live.get(sid)) is not None:
            out["stats"] = live.stats(envelopes=request.query.get("envelopes") == "1")
        return web.json_response(out)

    async def join_info(self, request: web.Request) -> web.Response:
        claims = self.auth(request, "candidate")
        rec = self.record(request.match_info["sid"])
        return web.json_response(
            {
                "session": rec.id,
                "state": rec.state,
                "me": claims.who,
                "language": rec.language,
                "participants": [{"id": p, "name": n} for p, n in rec.participants],
                "ice_servers": ice_servers_for(self.cfg.ice_servers, self.cfg.turn_secret,
                                              self.cfg.turn_urls, self.cfg.turn_ttl_s,
                                              f"{rec.id}.{claims.who}", time.time()),
                "notice": (notice := consent_notice(rec.language, self.session_policy(rec),
                                                    self.session_recording(rec))),
                "recording": self.session_recording(rec),
                "notice_version": notice_version(notice),
                "affect_policy": self.session_policy(rec),
                "consent": rec.options.get("consent", {}).get(claims.who or ""),
                "case": rec.options.get("case"),
                "phases": rec.options.get("phases", []),
            }
        )

    async def consent(self, request: web.Request) -> web.Response:
        """The candidate agrees to the notice they were shown (its version is checked), for
        what the session's policy analyses. Kept with the session, audited."""
        claims = self.auth(request, "candidate")
        rec = self.record(request.match_info["sid"])
        if claims.who not in {p for p, _ in rec.participants}:
            raise _error(web.HTTPBadRequest, f"{claims.who!r} is not a candidate of this session")
        body = await _json(request)
        notice = consent_notice(rec.language, self.session_policy(rec),
                                self.session_recording(rec))
        if body.get("notice_version") != notice_version(notice):
            raise _error(web.HTTPConflict, "the notice changed: read it again")
        if body.get("agree") is not True:
            raise _error(web.HTTPBadRequest, "agree: true (to withdraw, leave the room)")
        entry = {"notice_version": notice_version(notice),
                 "policy": self.session_policy(rec),
                 "recording": self.session_recording(rec),
                 "at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "given_by": "operator" if body.get("operator") else "candidate"}
        assert claims.who is not None
        rec.options.setdefault("consent", {})[claims.who] = entry
        self.store.save(rec)
        self.audit(request, "consent.write", session=rec.id, candidate=claims.who)
        return web.json_response(entry)

    async def offer(self, request: web.Request) -> web.Response:
        claims = self.auth(request, "candidate")
        sid = request.match_info["sid"]
        rec = self.record(sid)
        live = self.live.get(sid)
        if live is None or rec.state == "ended":
            raise _error(web.HTTPConflict, "this session has ended")
        if claims.who not in {p for p, _ in rec.participants}:
            raise _error(web.HTTPBadRequest, f"{claims.who!r} is not a candidate of this session")
        if not live.live:  # a reconnect to a live session is fine; starting one is not
            self._refuse_if_draining()
        if self.cfg.require_consent and claims.who not in rec.options.get("consent", {}):
            raise _error(web.HTTPConflict, "agree to the notice first (POST …/consent)")
        body = await _json(request)
        sdp, kind, slots = body.get("sdp"), body.get("type"), body.get("slots", {})
        if kind != "offer" or not isinstance(sdp, str) or not isinstance(slots, dict):
            raise _error(web.HTTPBadRequest, "body: {type: 'offer', sdp: str, slots: {mid: id}}")
        assert claims.who is not None
        try:
            answer = await live.join(claims.who, sdp, {str(k): str(v) for k, v in slots.items()})
        except OfferError as e:
            raise _error(web.HTTPBadRequest, str(e)) from None
        return web.json_response({"type": "answer", "sdp": answer})

    async def client_stats(self, request: web.Request) -> web.Response:
        """What a candidate's browser reports about what it receives (assessor diagnostics)."""
        claims = self.auth(request, "candidate")
        live = self.live.get(request.match_info["sid"])
        body = await _json(request)
        if live is not None and claims.who is not None:
            try:
                live.add_client_stats(claims.who, body)
            except ValueError as exc:
                raise _error(web.HTTPBadRequest, str(exc)) from None
        return web.json_response({"ok": True})

    def _running(self, request: web.Request, ended: str) -> tuple[SessionRecord, LiveSession]:
        """An assessor's or HR's session that has not ended (else 409 with `ended`)."""
        self.auth(request, "assessor", "hr")
        sid = request.match_info["sid"]
        rec = self.record(sid)
        live = self.live.get(sid)
        if live is None or rec.state == "ended":
            raise _error(web.HTTPConflict, ended)
        return rec, live

    async def start(self, request: web.Request) -> web.Response:
        rec, live = self._running(request, "this session has ended")
        if not live.live:
            self._refuse_if_draining()
        await live.start()
        return web.json_response(session_json(rec))

    async def next_phase(self, request: web.Request) -> web.Response:
        """The exercise's runner moves it on (the timer would, at the planned end)."""
        rec, live = self._running(request, "this session has ended")
        if not live.live:
            raise _error(web.HTTPConflict, "the session has not started")
        if not live.advance():
            raise _error(web.HTTPConflict, "this is the last phase")
        await asyncio.sleep(0)  # let the phase task emit it
        return web.json_response({"advanced": True})

    async def end(self, request: web.Request) -> web.Response:
        rec, live = self._running(request, "this session has already ended")
        report = await live.end()
        self.live.pop(rec.id, None)
        self.notify("session.ended", report)
        return web.json_response(report)

    def notify(self, event: str, report: dict[str, Any]) -> None:
        """Webhooks (hr/webhooks.py), retried in the background (owned, awaited on
        shutdown)."""
        targets = webhook_targets(self.settings.webhooks)
        if targets:
            self._own(notify_webhooks(event, report, targets, Path(self.settings.data_dir)))

    def _own(self, work: Any) -> None:
        """Background work the server waits for on shutdown."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def report(self, request: web.Request) -> web.Response:
        claims = self.auth(request, "assessor", "hr")
        sid = request.match_info["sid"]
        rec = self.record(sid)
        live = self.live.get(sid)
        if live is not None:
            self.audit(request, "report.read", session=sid, partial=True)
            return web.json_response(live.partial_report())
        report = self.store.report(sid)
        if report is None:
            raise _error(web.HTTPNotFound, f"session {rec.id} has no report (state {rec.state})")
        self.audit(request, "report.read", session=sid)
        return web.json_response(self._with_assessment(rec, report, claims))

    def _with_assessment(self, rec: SessionRecord, report: dict[str, Any],
                         claims: tokens.Claims) -> dict[str, Any]:
        """The report with the assessors' side (kept apart: it goes on after the end), as
        this reader may see it (an assessor sees only their own notes until all submitted)."""
        reader = None if claims.role == "hr" else (claims.who or "")
        section = assessment_section(self.store, rec, report, reader)
        return report if section is None else {**report, "assessment": section}

    # -- HR export ---------------------------------------------------------------------

    def _report_for_export(self, sid: str, claims: tokens.Claims) -> dict[str, Any]:
        live = self.live.get(sid)
        report = live.partial_report() if live is not None else self.store.report(sid)
        if report is None:
            raise _error(web.HTTPNotFound, f"session {sid} has no report yet")
        return self._with_assessment(self.record(sid), report, claims)

    async def export(self, request: web.Request) -> web.StreamResponse:
        """Portraits as JSON or CSV (one row per candidate × dimension), or the HTML/PDF
        report page (one candidate with ?candidate=, else the side-by-side comparison)."""
        claims = self.auth(request, "assessor", "hr")
        sid, fmt = request.match_info["sid"], request.match_info["fmt"]
        self.record(sid)
        report = self._report_for_export(sid, claims)
        pid = request.query.get("candidate")
        self.audit(request, f"export.{fmt}", session=sid, candidate=pid)
        if pid is not None and pid not in {p["id"] for p in report["participants"]}:
            raise _error(web.HTTPNotFound, f"no candidate {pid!r} in this session")
        if fmt == "json":
            return web.Response(text=portraits_json(report), content_type="application/json")
        if fmt == "assessment.csv":  # the notes, ratings and consensus, one row each
            return web.Response(
                text=assessment_csv(report),
                content_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{sid}-assessment.csv"'},
            )
        if fmt == "csv":
            return web.Response(
                text=portraits_csv(report),
                content_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{sid}-portraits.csv"'},
            )
        html = render_report_html(report, pid)
        if fmt == "html":
            return web.Response(text=html, content_type="text/html")
        loop = asyncio.get_running_loop()

        def pdf() -> bytes:  # rendered in a private temp dir, never left on disk
            with tempfile.TemporaryDirectory(prefix="lgd-export-") as tmp:
                return render_pdf(html, Path(tmp) / "report.pdf").read_bytes()

        async with self._pdf_renders:  # each is a Chromium: a few at a time
            data = await loop.run_in_executor(None, pdf)  # seconds
        return web.Response(body=data, content_type="application/pdf")

    async def erase(self, request: web.Request) -> web.Response:
        """HR erases one candidate of an ended session (their right to erasure): their data
        goes, the group's timing stays under an anonymous id (server/erasure.py)."""
        self.auth(request, "hr")
        sid, pid = request.match_info["sid"], request.match_info["pid"]
        rec = self.record(sid)
        if rec.state != "ended" or sid in self.live:
            raise _error(web.HTTPConflict, "erase once the session has ended")
        if pid not in {p for p, _ in rec.participants}:
            raise _error(web.HTTPNotFound, f"no candidate {pid!r} in this session")
        loop = asyncio.get_running_loop()
        anon = await loop.run_in_executor(None, erase_candidate, self.store, sid, pid)
        self.audit(request, "candidate.erase", session=sid, erased_as=anon)
        return web.json_response({"erased_as": anon})

    async def release_feedback(self, request: web.Request) -> web.Response:
        """HR releases one candidate's feedback page; returns the link to send them."""
        self.auth(request, "hr")
        sid, pid = request.match_info["sid"], request.match_info["pid"]
        rec = self.record(sid)
        if pid not in {p for p, _ in rec.participants}:
            raise _error(web.HTTPNotFound, f"no candidate {pid!r} in this session")
        if rec.state != "ended":
            raise _error(web.HTTPConflict, "feedback can be released once the session has ended")
        self.audit(request, "feedback.release", session=sid, candidate=pid)
        released = rec.options.setdefault("feedback_released", [])
        if pid not in released:
            released.append(pid)
            self.store.save(rec)
        base = self.cfg.public_url.rstrip("/") or f"{request.scheme}://{request.host}"
        link = f"{base}/feedback/{sid}/{pid}?token={self.token('candidate', sid, pid)}"
        return web.json_response({"candidate": pid, "link": link})

    async def feedback_page(self, request: web.Request) -> web.Response:
        claims = self.auth(request, "candidate", "hr")
        sid, pid = request.match_info["sid"], request.match_info["pid"]
        rec = self.record(sid)
        if claims.role == "candidate" and claims.who != pid:
            raise _error(web.HTTPForbidden, "this is another candidate's feedback")
        if pid not in rec.options.get("feedback_released", []):
            raise _error(web.HTTPForbidden, "this feedback has not been released yet")
        self.audit(request, "feedback.read", session=sid, candidate=pid)
        report = self.store.report(sid)
        if report is None:
            raise _error(web.HTTPNotFound, "no report")
        return web.Response(text=render_feedback_html(report, pid), content_type="text/html")

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(OPENAPI)

    # -- live stream -------------------------------------------------------------------

    async def stream(self, request: web.Request) -> web.WebSocketResponse:
        """Every event of the session from its start, then live; plus a clock tick."""
        claims = self.auth(request, "assessor", "hr", "candidate")
        sid = request.match_info["sid"]
        rec = self.record(sid)
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        speech_only = claims.role == "candidate"  # candidates see who speaks, not the analysis
        self.audit(request, "events.stream", session=sid)
        await ws.send_json({"type": "hello", "session": session_json(rec)})
        live = self.live.get(sid)

        def visible(d: dict[str, Any]) -> bool:
            return not speech_only or d["type"] in ("SpeechStarted", "SpeechEnded",
                                                   "PhaseStarted")

        if live is None:  # ended (or from before a restart): replay the log
            def texts() -> list[str]:  # reading and encoding an hour of events: off the loop
                dicts = (codec.to_dict(ev) for ev in self.store.events(sid))
                return [json.dumps(d) for d in dicts if visible(d)]

            loop = asyncio.get_running_loop()
            for i, text in enumerate(await loop.run_in_executor(None, texts)):
                await ws.send_str(text)
                if i % REPLAY_CHUNK == REPLAY_CHUNK - 1:
                    await asyncio.sleep(0)  # other requests get their turn
            await ws.send_json({"type": "ended", "report": bool(self.store.report(sid))})
            await ws.close()
            return ws

        async def ticks() -> None:
            while not ws.closed:
                await ws.send_json({"type": "clock", "t": round(live.now(), 3), "live": live.live})
                await asyncio.sleep(LIVE_TICK_S)

        def encoded(events: list[Event]) -> list[str]:
            dicts = (codec.to_dict(ev) for ev in events)
            return [json.dumps(d) for d in dicts if visible(d)]

        async def forward() -> None:
            """A catching-up dashboard: events read ahead (at most REPLAY_CAP waiting per
            client), encoded off the loop in chunks, sent as the socket drains."""
            waiting: asyncio.Queue[Event] = asyncio.Queue(REPLAY_CAP)

            async def read() -> None:
                async for ev in self.bus.subscribe(live.topic, from_start=True):
                    await waiting.put(ev)  # a slow client stops the reading, not the loop

            reader = asyncio.ensure_future(read())
            loop = asyncio.get_running_loop()
            try:
                while True:
                    try:
                        chunk = [await asyncio.wait_for(waiting.get(), ENDED_QUIET_S)]
                    except TimeoutError:
                        # the report is written once every event is on the bus: when the
                        # reader has had nothing more for a while, the dashboard has it all
                        if live.rec.state == "ended":
                            await ws.send_json({"type": "ended",
                                                "report": bool(self.store.report(sid))})
                            await ws.close()
                            return
                        continue
                    while len(chunk) < REPLAY_CHUNK and not waiting.empty():
                        chunk.append(waiting.get_nowait())
                    if len(chunk) == 1:
                        out = encoded(chunk)
                    else:  # one encoder thread at a time: more would starve the loop of the GIL
                        async with self._replay_encoders:
                            out = await loop.run_in_executor(None, encoded, chunk)
                    for text in out:
                        await ws.send_str(text)
                    await asyncio.sleep(0)  # other requests get their turn
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

        tasks = [asyncio.ensure_future(ticks()), asyncio.ensure_future(forward())]
        try:
            async for msg in ws:  # the client only closes; anything else is ignored
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        return ws

    # -- pages -------------------------------------------------------------------------

    async def join_page(self, request: web.Request) -> web.FileResponse:
        self.record(request.match_info["sid"])
        return web.FileResponse(STATIC / "join.html")

    async def dashboard_page(self, request: web.Request) -> web.FileResponse:
        self.record(request.match_info["sid"])
        return web.FileResponse(DASHBOARD / "dashboard.html")

    async def end_idle_sessions(self, every_s: float = 2.0) -> None:
        """A live session nobody has been connected to for `idle_end_s` ends by itself: an
        abandoned room would otherwise cost CPU forever and never get its report."""
        limit = self.cfg.idle_end_s
        while limit > 0 and not self._closing:
            await asyncio.sleep(every_s)
            for sid, live in list(self.live.items()):
                if live.live and live.idle_s() >= limit and not live.ending:
                    logger.info("session %s: nobody connected for %.0f s: ending it", sid, limit)
                    report = await live.end(gap={"what": "ended idle", "detail": "nobody was "
                                                 f"connected for {limit:.0f} s"})
                    self.live.pop(sid, None)
                    self.notify("session.ended", report)

    def sweep(self, now: float | None = None) -> list[str]:
        """Retention: delete what has expired, the recordings (`LGD_MEDIA_RETENTION_DAYS`)
        before the rest (`LGD_RETENTION_DAYS`); the audit trail says which session ids went,
        and nothing else of them. Returns the sessions deleted whole."""
        now = time.time() if now is None else now
        media_days = self.settings.media_retention_days or self.settings.retention_days
        if media_days > 0:  # recordings first, on their own clock
            for sid in self.store.expired(now, media_days * 86400):
                if delete_media(self.store, sid):
                    self.audit_log.record({"role": "system"}, "retention.delete_media",
                                          session=sid, after_days=media_days)
        days = self.settings.retention_days
        if days <= 0:
            return []
        gone = self.store.expired(now, days * 86400)
        for sid in gone:
            self.store.delete(sid)
            groups = Path(self.settings.data_dir) / "groups" / f"{sid}.json"
            groups.unlink(missing_ok=True)
            self.audit_log.record({"role": "system"}, "retention.delete", session=sid,
                                  after_days=days)
        return gone

    async def sweep_periodically(self, every_s: float = 3600.0) -> None:
        while not self._closing:
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.sweep)
            except Exception:  # shown in the log; the next sweep tries again
                logger.exception("retention sweep failed")
            await asyncio.sleep(every_s)

    async def health(self, request: web.Request) -> web.Response:
        """Liveness: the process answers."""
        return web.json_response({"ok": True})

    async def ready(self, request: web.Request) -> web.Response:
        """Readiness: 503 while a dependency is down (the data dir cannot be written, the
        bus does not answer) or a live session cannot store its events."""
        problems: dict[str, str] = {}
        probe = Path(self.settings.data_dir) / ".ready-probe"
        try:
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            problems["data_dir"] = f"cannot write {self.settings.data_dir}: {exc.strerror}"
        try:
            await asyncio.wait_for(self.bus.ping(), 2.0)
        except Exception as exc:  # whatever the bus raises: it is not there
            problems["bus"] = f"the event bus does not answer: {exc!r}"
        for sid, live in self.live.items():
            for where, what in live.faults.items():
                problems[f"session {sid} {where}"] = what
        if self.draining is not None:
            left = max(0.0, self.draining - time.monotonic())
            problems["draining"] = ("shutting down: no new sessions; live ones end within "
                                    f"{left:.0f} s")
        body = {"ok": not problems, "problems": problems,
                "quarantined": list(self.store.quarantined),
                "sealed_unread": list(self.store.sealed_unread)}
        return web.json_response(body, status=200 if not problems else 503)

    async def index(self, request: web.Request) -> web.Response:
        return web.Response(text="lgd server. API: /api/openapi.json", content_type="text/plain")

    async def close(self) -> None:
        self._closing = True
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        for live in list(self.live.values()):
            if live.live:
                self.notify("session.ended", await live.end())
            else:
                await live.room.close()
            await live.stop_media()  # also where an `end` was cut short midway
        self.live.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.workers.close)
        await self.nodes.close()
        if self._http is not None:
            await self._http.close()
        await self.bus.close()
        self._lock.release()


SERVER_KEY = web.AppKey("server", Server)


def make_app(settings: Settings, bus: Bus | None = None) -> web.Application:
    server = Server(settings, bus)
    app = web.Application(client_max_size=settings.server.max_body_bytes)
    app[SERVER_KEY] = server
    r = app.router
    r.add_get("/", server.index)
    r.add_get("/api/openapi.json", server.openapi)
    r.add_get("/healthz", server.health)
    r.add_get("/readyz", server.ready)
    r.add_post("/api/sessions", server.create_session)
    r.add_post("/api/grant", server.grant)
    r.add_post("/api/tokens/revoke", server.revoke)
    r.add_get("/api/sessions/{sid}", server.get_session)
    r.add_get("/api/sessions/{sid}/join-info", server.join_info)
    r.add_post("/api/sessions/{sid}/consent", server.consent)
    r.add_post("/api/sessions/{sid}/offer", server.offer)
    r.add_post("/api/sessions/{sid}/client-stats", server.client_stats)
    r.add_post("/api/sessions/{sid}/start", server.start)
    r.add_post("/api/sessions/{sid}/end", server.end)
    r.add_post("/api/sessions/{sid}/phase/next", server.next_phase)
    r.add_get("/api/sessions/{sid}/report", server.report)
    r.add_get("/api/sessions/{sid}/live", server.stream)
    r.add_get(r"/api/sessions/{sid}/export.{fmt:json|csv|html|pdf|assessment\.csv}",
              server.export)
    r.add_post("/api/sessions/{sid}/feedback/{pid}/release", server.release_feedback)
    r.add_delete("/api/sessions/{sid}/candidates/{pid}", server.erase)
    r.add_get("/feedback/{sid}/{pid}", server.feedback_page)
    r.add_get("/join/{sid}", server.join_page)
    r.add_get("/dashboard/{sid}", server.dashboard_page)
    Campaign(server, settings.data_dir, settings.hr_profiles).add_routes(r)
    Assessment(server).add_routes(r)
    SessionsView(server).add_routes(r)
    Playback(server).add_routes(r)
    r.add_static("/static/", STATIC)
    r.add_static("/dashboard-static/", DASHBOARD)

    async def startup(app: web.Application) -> None:
        await server.resume_live()
        # housekeeping loops: owned, cancelled on shutdown
        server._loops += [asyncio.ensure_future(server.end_idle_sessions()),
                          asyncio.ensure_future(server.sweep_periodically())]
        if server.nodes.enabled:
            server._loops.append(asyncio.ensure_future(server.nodes.beat()))

    async def shutdown(app: web.Application) -> None:
        await server.close()

    app.on_startup.append(startup)
    app.on_shutdown.append(shutdown)
    return app


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    cfg = settings.server
    if cfg.tls_cert is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cfg.tls_cert, cfg.tls_key)
    return ctx


def _phases(raw: Any, n: int) -> list[dict[str, Any]]:
    """The exercise's sequence. "default": the usual LGD (reading the case 5 min, opening
    statements 1 min each, free discussion 25 min, the group's summary 3 min); [] or None:
    one free discussion, no timer."""
    if raw == "default":
        return [{"name": "reading", "duration_s": 300.0},
                {"name": "opening", "duration_s": 60.0 * n},
                {"name": "discussion", "duration_s": 1500.0},
                {"name": "summary", "duration_s": 180.0}]
    if not raw:
        return []
    if not isinstance(raw, list) or len(raw) > 12:
        raise _error(web.HTTPBadRequest, "phases: a list of {name, duration_s}, at most 12")
    out = []
    for ph in raw:
        name = ph.get("name") if isinstance(ph, dict) else None
        dur = ph.get("duration_s") if isinstance(ph, dict) else None
        if (not isinstance(name, str) or not valid_id(name) or isinstance(dur, bool)
                or not isinstance(dur, int | float) or not 0 < dur <= 4 * 3600):
            raise _error(web.HTTPBadRequest, f"bad phase {ph!r}: {{name, duration_s}}")
        out.append({"name": name, "duration_s": float(dur)})
    return out


def _assessors(raw: Any, candidates: list[str]) -> dict[str, dict[str, Any]]:
    """The session's assessors: id -> {name, candidates (default: all), lead}."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ASSESSORS:
        raise _error(web.HTTPBadRequest, f"assessors: a list of 1..{MAX_ASSESSORS}")
    out: dict[str, dict[str, Any]] = {}
    for a in raw:
        aid = a.get("id") if isinstance(a, dict) else None
        if not isinstance(aid, str) or not valid_id(aid) or aid in out:
            raise _error(web.HTTPBadRequest, f"bad assessor {a!r}: a unique id [A-Za-z0-9_-]")
        name = display_name(a.get("name", aid)) if isinstance(a.get("name", aid), str) else None
        mine = a.get("candidates", candidates)
        if name is None or not isinstance(mine, list) or not set(mine) <= set(candidates):
            raise _error(web.HTTPBadRequest, f"assessor {aid}: a name, and candidates of "
                         "this session")
        out[aid] = {"name": name, "candidates": list(mine), "lead": bool(a.get("lead"))}
    return out


def display_name(name: str) -> str | None:
    """NFC-normalised, at most 100 characters; None if it holds a lone surrogate or a
    control character (it could not be stored, or would break the pages it is shown on)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return None
    name = unicodedata.normalize("NFC", name).strip()[:100]
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        return None
    return name


def notice_version(notice: str) -> str:
    return hashlib.sha256(notice.encode()).hexdigest()[:12]


def consent_notice(language: str, affect: str, recording: str = "off") -> str:
    """What the candidate reads before joining: what is received, what is stored, and what
    is analysed under the session's affect-analysis policy (lgd/policy.py)."""
    if language.startswith("zh"):
        head = (
            "本次无领导小组讨论将被实时分析：服务器接收你的麦克风音频和摄像头画面，"
            "测量发言时长、轮次、打断、附和与互动关系，供评估人员参考。"
            "音视频仅用于本次评估的分析，分析结果（事件记录与报告）会被保存。"
        )
    else:
        head = (
            "This group discussion is analysed live: the server receives your microphone audio "
            "and camera video and measures speaking time, turns, interruptions, backchannels "
            "and who engages with whom, for the assessors. Audio and video are used only for "
            "this assessment's analysis; the results (event log and report) are stored."
        )
    return head + _RECORDING_NOTICE["zh" if language.startswith("zh") else "en"][recording] \
        + "\n\n" + candidate_notice(affect, language)


_RECORDING_NOTICE = {
    "zh": {"off": "本次不录制音视频。",
           "audio": "你的麦克风音频将被加密录制，仅供评估人员回放和重新分析，到保留期限后删除；"
                    "摄像头画面不录制。",
           "audio+video": "你的麦克风音频和摄像头画面将被加密录制，仅供评估人员回放和重新分析，"
                          "到保留期限后删除。"},
    "en": {"off": " Nothing is recorded.",
           "audio": " Your microphone audio is recorded, encrypted, for the assessors to play "
                    "back and re-analyse, and deleted after the retention period; your camera "
                    "is not recorded.",
           "audio+video": " Your microphone audio and camera video are recorded, encrypted, for "
                          "the assessors to play back and re-analyse, and deleted after the "
                          "retention period."},
}


def _load_secret(data_dir: Path) -> str:
    path = data_dir / "secret"
    if not path.exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(path, secrets.token_urlsafe(32))
    return path.read_text().strip()


def write_private(path: Path, text: str) -> None:
    """A file only this user can read, from its first byte (never chmod-ed afterwards)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class DataDirInUse(RuntimeError):
    """Another `lgd serve` holds this data dir."""


class DataDirLock:
    """An exclusive lock on `<data dir>/server.lock` for the server's lifetime: a second
    server on the same data dir would resume (and so take over) the first one's live
    sessions. The kernel drops the lock when its process dies, even by SIGKILL, so a
    restart after a crash is never locked out."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = data_dir / "server.lock"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DataDirInUse(f"the data dir {data_dir} is in use by another lgd serve "
                               f"(pid {holder}); stop it first, or give this one another "
                               "--data-dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


class RedactedAccessLogger(AbstractAccessLogger):
    """The access log without the tokens that links carry in `?token=`."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %.3fs', request.remote, request.method,
                         redact_url(request.path_qs), response.status, time)

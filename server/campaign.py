"""HR's campaign endpoints: decisions, the campaign view across sessions, self-reported group
attributes (kept apart), adverse impact, performance ratings and validity.

    POST /api/sessions/{sid}/decisions/{pid}   HR records the decision (a person decides)
    PUT  /api/sessions/{sid}/groups/{pid}      optional group attributes: HR or the candidate
    GET  /api/campaign[.csv]?role=&since=&until=&recommendation=&decision=
    GET  /api/campaign/impact?attribute=gender[&role=…]
    POST /api/campaign/ratings                 CSV candidate_id,rating,date (session/candidate)
    GET  /api/campaign/validity?role=…
    POST /api/campaign/validity/accept?role=…  the suggested weights become the role's next
                                               profile version (in LGD_HR_PROFILES)
    GET  /campaign                             the HR page (dashboard/static/campaign.html)
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from dashboard import STATIC as DASHBOARD
from hr.campaign import (
    DECISIONS,
    campaign_rows,
    filter_rows,
    impact_report,
    role_summaries,
    rows_csv,
    voice_fairness,
)
from hr.profiles import ProfileError, dump_profile, find_profile
from hr.validity import RatingsError, accept, parse_ratings, validity_report
from server.http import error, is_date, json_body
from server.store import SessionRecord, SessionStore

GROUP_ATTRIBUTES = ("gender", "age_band", "ethnicity", "disability")
MAX_VALUE_LEN = 40


class _Server(Protocol):
    store: SessionStore

    def auth(self, request: web.Request, *roles: str) -> Any: ...
    def audit(self, request: web.Request, action: str, **what: Any) -> None: ...
    def record(self, sid: str) -> SessionRecord: ...


class Campaign:
    def __init__(self, server: _Server, data_dir: Path, hr_profiles: Path | None) -> None:
        self.server = server
        self.groups_dir = Path(data_dir) / "groups"  # apart from sessions and reports
        self.ratings_path = Path(data_dir) / "ratings.csv"
        self.hr_profiles = hr_profiles

    def add_routes(self, r: web.UrlDispatcher) -> None:
        r.add_post("/api/sessions/{sid}/decisions/{pid}", self.decide)
        r.add_put("/api/sessions/{sid}/groups/{pid}", self.set_groups)
        r.add_get("/api/campaign", self.view)
        r.add_get("/api/campaign.csv", self.csv)
        r.add_get("/api/campaign/impact", self.impact)
        r.add_post("/api/campaign/ratings", self.upload_ratings)
        r.add_get("/api/campaign/validity", self.validity)
        r.add_post("/api/campaign/validity/accept", self.accept_weights)
        r.add_get("/campaign", self.page)

    # -- what is kept --------------------------------------------------------------------

    def _candidate(self, request: web.Request) -> tuple[SessionRecord, str]:
        sid, pid = request.match_info["sid"], request.match_info["pid"]
        rec = self.server.record(sid)
        if pid not in {p for p, _ in rec.participants}:
            raise error(web.HTTPNotFound, f"no candidate {pid!r} in this session")
        return rec, pid

    def _rows(self) -> list[dict[str, Any]]:
        store = self.server.store
        ended = []
        for rec in store.all():
            if rec.state == "ended" and (report := store.report(rec.id)) is not None:
                ended.append(({"ended_at": rec.ended_at, "options": rec.options}, report))
        return campaign_rows(ended)

    async def _all_rows(self) -> list[dict[str, Any]]:
        """Every ended session's rows: files read and opened off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, self._rows)

    @staticmethod
    def _filtered(request: web.Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        q = request.query
        for key in ("since", "until"):
            if key in q and not is_date(q[key]):
                raise error(web.HTTPBadRequest, f"{key}: a date YYYY-MM-DD")
        return filter_rows(rows, q.get("role"), q.get("since"), q.get("until"),
                           q.get("recommendation"), q.get("decision"))

    def _groups(self) -> dict[tuple[str, str], dict[str, str]]:
        out: dict[tuple[str, str], dict[str, str]] = {}
        if self.groups_dir.is_dir():
            for f in self.groups_dir.glob("*.json"):
                kept = self.server.store.read_json(f.stem, f, "groups")
                for pid, attrs in kept.items():
                    out[(f.stem, pid)] = attrs
        return out

    # -- handlers ------------------------------------------------------------------------

    async def decide(self, request: web.Request) -> web.Response:
        self.server.auth(request, "hr")
        rec, pid = self._candidate(request)
        if rec.state != "ended":
            raise error(web.HTTPConflict, "decisions are made once the session has ended")
        body = await json_body(request)
        decision, by = body.get("decision"), body.get("by")
        if decision not in DECISIONS:
            raise error(web.HTTPBadRequest, f"decision: one of {', '.join(DECISIONS)}")
        if not isinstance(by, str) or not by.strip():
            raise error(web.HTTPBadRequest, "by: the name of the person who decides")
        entry = {"decision": decision, "by": by.strip()[:100],
                 "reason": str(body.get("reason") or "")[:2000],
                 "at": datetime.now(UTC).isoformat(timespec="seconds")}
        rec.options.setdefault("decisions", {})[pid] = entry
        self.server.store.save(rec)
        self.server.audit(request, "decision.write", session=rec.id, candidate=pid)
        return web.json_response({"candidate": pid, **entry})

    async def set_groups(self, request: web.Request) -> web.Response:
        """Self-reported and optional; never read by the analysis or the scores."""
        claims = self.server.auth(request, "hr", "candidate")
        rec, pid = self._candidate(request)
        if claims.role == "candidate" and claims.who != pid:
            raise error(web.HTTPForbidden, "candidates report only their own attributes")
        body = await json_body(request)
        attrs: dict[str, str] = {}
        for k, v in body.items():
            if k not in GROUP_ATTRIBUTES:
                raise error(web.HTTPBadRequest,
                            f"unknown attribute {k!r}; known: {', '.join(GROUP_ATTRIBUTES)}")
            if v is None or v == "":
                continue  # declining to say is always allowed
            if not isinstance(v, str) or len(v) > MAX_VALUE_LEN:
                raise error(web.HTTPBadRequest, f"{k}: a short text")
            attrs[k] = v
        store = self.server.store  # sealed like the session's own files
        path = self.groups_dir / f"{rec.id}.json"
        kept = store.read_json(rec.id, path, "groups") if path.exists() else {}
        kept[pid] = attrs
        store.write_json(rec.id, path, "groups", kept)
        self.server.audit(request, "groups.write", session=rec.id, candidate=pid)
        return web.json_response({"candidate": pid, "stored": sorted(attrs)})

    async def view(self, request: web.Request) -> web.Response:
        self.server.auth(request, "hr")
        every = await self._all_rows()
        rows = self._filtered(request, every)
        self.server.audit(request, "campaign.read", query=dict(request.query))
        roles = sorted({r["role"] for r in every})
        return web.json_response({"roles": roles, "summary": role_summaries(rows),
                                  "rows": rows})

    async def csv(self, request: web.Request) -> web.Response:
        self.server.auth(request, "hr")
        self.server.audit(request, "campaign.export.csv", query=dict(request.query))
        text = rows_csv(self._filtered(request, await self._all_rows()))
        return web.Response(
            text=text, content_type="text/csv", charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="campaign.csv"'})

    async def impact(self, request: web.Request) -> web.Response:
        self.server.auth(request, "hr")
        attribute = request.query.get("attribute", "gender")
        if attribute not in GROUP_ATTRIBUTES:
            raise error(web.HTTPBadRequest, f"attribute: one of {', '.join(GROUP_ATTRIBUTES)}")
        rows = self._filtered(request, await self._all_rows())
        self.server.audit(request, "campaign.impact", query=dict(request.query))
        store = self.server.store

        def report() -> dict[str, Any]:  # file reads: off the loop
            out = impact_report(rows, self._groups(), attribute)
            out["voice_fairness"] = voice_fairness(
                r for sid in sorted({row["session_id"] for row in rows})
                if (r := store.report(sid)) is not None)
            return out

        return web.json_response(await asyncio.get_running_loop().run_in_executor(None, report))

    async def upload_ratings(self, request: web.Request) -> web.Response:
        """Later performance ratings; candidate_id is `<session id>/<candidate id>`."""
        self.server.auth(request, "hr")
        text = await request.text()
        try:
            ratings = parse_ratings(text)
        except RatingsError as exc:
            raise error(web.HTTPBadRequest, str(exc)) from None
        self.ratings_path.parent.mkdir(parents=True, exist_ok=True)
        self.ratings_path.write_text(text)
        self.server.audit(request, "ratings.write", ratings=len(ratings))
        return web.json_response({"ratings": len(ratings)})

    async def validity(self, request: web.Request) -> web.Response:
        self.server.auth(request, "hr")
        self.server.audit(request, "campaign.validity", query=dict(request.query))
        return web.json_response(self._validity(request, await self._all_rows()))

    async def accept_weights(self, request: web.Request) -> web.Response:
        """A person accepts the suggested re-weighting: the profile's next version is written
        to HR's profile directory; sessions already run keep the version they used."""
        self.server.auth(request, "hr")
        if self.hr_profiles is None:
            raise error(web.HTTPConflict, "set LGD_HR_PROFILES to HR's profile directory")
        rep = self._validity(request, await self._all_rows())
        if rep["suggested"] is None:
            raise error(web.HTTPConflict, "no usable correlations to re-weight from")
        profile = find_profile(rep["profile"], self.hr_profiles)
        if profile.version != rep["profile_version"]:
            raise error(web.HTTPConflict, "the profile changed meanwhile; look again")
        new = accept(profile, rep["suggested"])
        self.hr_profiles.mkdir(parents=True, exist_ok=True)
        (self.hr_profiles / f"{new.id}.yaml").write_text(dump_profile(new), encoding="utf-8")
        return web.json_response(new.to_dict())

    def _validity(self, request: web.Request, every: list[dict[str, Any]]) -> dict[str, Any]:
        role = request.query.get("role")
        if not role:
            raise error(web.HTTPBadRequest, "role: the job profile to validate")
        try:
            profile = find_profile(role, self.hr_profiles)
        except ProfileError as exc:
            raise error(web.HTTPBadRequest, str(exc)) from None
        if not self.ratings_path.exists():
            raise error(web.HTTPConflict, "no performance ratings uploaded yet")
        ratings = parse_ratings(self.ratings_path.read_text())
        rows = filter_rows(every, role)
        key = {f"{r['session_id']}/{r['candidate_id']}": r for r in rows}
        return validity_report(
            {k: r["scores"] for k, r in key.items()}, {k: r["fit"] for k, r in key.items()},
            ratings, profile)

    async def page(self, request: web.Request) -> web.FileResponse:
        self.server.auth(request, "hr")
        return web.FileResponse(DASHBOARD / "campaign.html")


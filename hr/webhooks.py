"""Webhooks: a signed JSON POST with retries, and a WeCom group-robot target.

Events (`X-LGD-Event`): `session.ended` (the report), `assessment.submitted` (every assessor
has submitted: the ratings, the machine's scores on their scale, the flags, the agreement) and
`assessment.final` (the lead has recorded a consensus for every rated cell).

`await deliver(target, report, log_path)` POSTs once per attempt until a 2xx, waiting
`base_delay_s * 2**k` between attempts, and appends one JSON line per attempt to the
delivery log. Generic targets get `session_payload(report)` signed with HMAC-SHA256 over
the exact body bytes: header `X-LGD-Signature: sha256=<hex>` (plus `X-LGD-Event`,
`X-LGD-Delivery`); receivers verify with `verify_signature`. WeCom group robots get
`{"msgtype": "markdown", "markdown": {"content": ...}}` (the robot's key is in its URL).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from analysis.settings import WebhookConfig
from core.redact import markdown_text, redact_url
from hr.washup import washup
from interaction.dimensions import DIMENSIONS

WECOM_MAX_BYTES = 4096  # the robot rejects longer markdown content
_ZH = {k: zh for k, zh, _ in DIMENSIONS}
_EN = {k: en for k, _, en in DIMENSIONS}


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    url: str
    secret: str | None = None  #: HMAC key; unsigned when None
    kind: str = "json"  #: json | wecom
    attempts: int = 4
    base_delay_s: float = 1.0
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    ok: bool
    attempts: int
    status: int | None  #: the last HTTP status, None if no response
    error: str | None


def targets(cfg: WebhookConfig) -> list[WebhookTarget]:
    """The delivery targets a deployment's `webhooks` settings configure."""
    wanted = [(cfg.url, cfg.secret, "json"), (cfg.wecom_url, None, "wecom")]
    return [WebhookTarget(url, secret, kind, cfg.attempts, cfg.base_delay_s, cfg.timeout_s)
            for url, secret, kind in wanted if url]


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(sign(body, secret), header)


EVENTS = ("session.ended", "assessment.submitted", "assessment.final")


def payload(report: dict[str, Any], event: str) -> dict[str, Any]:
    """What a generic target receives for `event`."""
    if event == "session.ended":
        return session_payload(report)
    section = report.get("assessment") or {}
    cells = washup(report, section)["candidates"]
    return {
        "event": event,
        "schema": report.get("schema"),
        "session": report["session"],
        "participants": report["participants"],
        "assessment": section,
        "washup": {pid: {k: {f: c[f] for f in ("ratings", "mean", "machine", "machine_score",
                                                "flag", "consensus")}
                         for k, c in dims.items()}
                   for pid, dims in cells.items()},
    }


def session_payload(report: dict[str, Any]) -> dict[str, Any]:
    """What a generic target receives when a session ends."""
    out = {
        "event": "session.ended",
        "schema": report.get("schema"),
        "session": report["session"],
        "participants": report["participants"],
        "portraits": {
            pid: {
                "scores": {k: d["score"] for k, d in p["dimensions"].items()},
                "ranks": {k: d["rank"] for k, d in p["dimensions"].items()},
                "summary": p["summary"],
                "metrics": p.get("metrics", {}),
                **_fit_payload(report, pid),
            }
            for pid, p in report["portraits"].items()
        },
    }
    if report.get("assessment") is not None:
        out["assessment"] = report["assessment"]
    return out


def _fit_payload(report: dict[str, Any], pid: str) -> dict[str, Any]:
    """The candidate's fit for the session's job profile, with its reasons (if any)."""
    fit = (report.get("fit") or {}).get("candidates", {}).get(pid)
    if fit is None:
        return {}
    return {"fit": {k: fit.get(k) for k in ("profile", "profile_version", "fit",
                                            "recommendation", "confirmed_by", "summary",
                                            "reasons")}}


def wecom_message(report: dict[str, Any], event: str = "session.ended") -> dict[str, Any]:
    """A WeCom group-robot markdown message: one line per candidate with their summary and
    their top dimensions; for an assessment event, one line on where it stands."""
    s = report["session"]
    zh = str(s.get("language", "zh")).startswith("zh")
    if event != "session.ended":
        section = report.get("assessment") or {}
        flags = len(section.get("flags") or [])
        head = {"assessment.submitted": ("评分已全部提交", "All assessors submitted"),
                "assessment.final": ("评估已定稿", "Consensus recorded")}[event][0 if zh else 1]
        return {"msgtype": "markdown", "markdown": {"content": (
            f"## {head}: {s['id']}\n> {len(section.get('assessors') or {})} "
            f"{'名评委' if zh else 'assessors'}, {flags} "
            f"{'处人机分歧' if zh else 'machine/assessor flags'}")}}
    # names are the candidates' own text: one line, no markup of theirs
    names = {p["id"]: markdown_text(p["name"]) for p in report["participants"]}
    lines = [f"## {'讨论结束' if zh else 'Session ended'}: {s['id']}",
             f"> {'时长' if zh else 'duration'} {s['duration_s'] / 60:.1f} min, "
             f"{len(names)} {'名候选人' if zh else 'candidates'}"]
    for pid, p in report["portraits"].items():
        scored = sorted(((d["score"], k) for k, d in p["dimensions"].items()
                         if d["score"] is not None), reverse=True)[:3]
        label = _ZH if zh else _EN
        top = ", ".join(f"{label[k]} <font color=\"info\">{v:.0f}</font>" for v, k in scored)
        lines.append(f"**{names.get(pid, pid)}**: {top}\n{p['summary']}")
        fit = (report.get("fit") or {}).get("candidates", {}).get(pid)
        if fit and fit.get("summary"):
            lines.append(f"> {fit['summary']}")
    content = "\n".join(lines)
    while len(content.encode()) > WECOM_MAX_BYTES:
        content = content[: int(len(content) * 0.9)] + "…"
    return {"msgtype": "markdown", "markdown": {"content": content}}


def _log(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


async def deliver(
    target: WebhookTarget,
    report: dict[str, Any],
    log_path: Path | str,
    session: aiohttp.ClientSession | None = None,
    event: str = "session.ended",
) -> Delivery:
    """POST `event`'s message to one target, retrying with exponential backoff.
    Every attempt is appended to `log_path` (JSONL); never raises for delivery failures."""
    message = wecom_message(report, event) if target.kind == "wecom" else payload(report, event)
    body = json.dumps(message, ensure_ascii=False).encode()
    delivery_id = uuid.uuid4().hex
    headers = {"Content-Type": "application/json", "X-LGD-Event": event,
               "X-LGD-Delivery": delivery_id}
    if target.secret:
        headers["X-LGD-Signature"] = sign(body, target.secret)
    own = session is None
    http = session or aiohttp.ClientSession()
    status: int | None = None
    error: str | None = None
    try:
        for attempt in range(1, target.attempts + 1):
            status, error = None, None
            try:
                async with http.post(target.url, data=body, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=target.timeout_s)
                                     ) as resp:
                    status = resp.status
                    if not 200 <= resp.status < 300:
                        error = f"HTTP {resp.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            _log(Path(log_path), {
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "delivery_id": delivery_id, "event": event, "session": report["session"]["id"],
                "url": redact_url(target.url), "kind": target.kind, "attempt": attempt,
                "status": status, "ok": error is None, "error": error,
            })
            if error is None:
                return Delivery(delivery_id, True, attempt, status, None)
            if attempt < target.attempts:
                await asyncio.sleep(target.base_delay_s * 2 ** (attempt - 1))
        return Delivery(delivery_id, False, target.attempts, status, error)
    finally:
        if own:
            await http.close()


async def deliver_all(targets: list[WebhookTarget], report: dict[str, Any],
                      log_path: Path | str, event: str = "session.ended") -> list[Delivery]:
    async with aiohttp.ClientSession() as http:
        return list(await asyncio.gather(*(deliver(t, report, log_path, http, event)
                                           for t in targets)))


async def notify(event: str, report: dict[str, Any], targets: list[WebhookTarget],
                 data_dir: Path | str) -> list[Delivery]:
    """Deliver `event` to every configured target (`targets(settings.webhooks)`), logging to
    `<data_dir>/webhooks.jsonl`."""
    if not targets:
        return []
    return await deliver_all(targets, report, Path(data_dir) / "webhooks.jsonl", event)

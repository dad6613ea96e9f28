"""OpenAPI 3.1 description of the REST/WebSocket API (served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any

_sid = {"name": "sid", "in": "path", "required": True, "schema": {"type": "string"}}
_err = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _op(
    summary: str, role: str, ok: str = "ok", body: str | None = None, path: bool = True
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Token role: {role}.",
        "security": [{"bearer": []}, {"query": []}],
        "responses": {
            "200": {"description": ok},
            "400": _err,
            "401": _err,
            "403": _err,
            "404": _err,
        },
    }
    if path:
        op["parameters"] = [_sid]
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return op


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "lgd live server", "version": "1"},
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "query": {"type": "apiKey", "in": "query", "name": "token"},
        },
        "schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
            "NewSession": {
                "type": "object",
                "required": ["participants"],
                "properties": {
                    "participants": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 8,
                        "items": {
                            "type": "object",
                            "required": ["id"],
                            "properties": {
                                "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                                "name": {"type": "string"},
                            },
                        },
                    },
                    "language": {"type": "string", "examples": ["zh", "en"]},
                    "affect": {"enum": ["off", "observe", "score"]},
                    "recording": {
                        "enum": ["off", "audio", "audio+video"],
                        "description": "what this session records (at most LGD_RECORDING; "
                        "nothing without a KEK)",
                    },
                    "profile": {
                        "type": "string",
                        "description": "a job profile id (client_manager, risk_control, "
                        "operations, or one in LGD_HR_PROFILES): the report gets each "
                        "candidate's overall fit for it",
                    },
                },
            },
            "Offer": {
                "type": "object",
                "required": ["type", "sdp"],
                "properties": {
                    "type": {"const": "offer"},
                    "sdp": {"type": "string", "maxLength": 65536},
                    "slots": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "receive-only mid → candidate id whose media it carries",
                    },
                },
            },
        },
    },
    "paths": {
        "/api/sessions": {
            "post": _op(
                "Create a session; returns join links per candidate and a dashboard link",
                "hr",
                "created",
                "NewSession",
                path=False,
            ),
            "get": _op(
                "List sessions with their assessment status; filters: state, since, until"
                " (YYYY-MM-DD), role, assessor, q (name or id), assessed=1, flagged=1",
                "hr",
                path=False,
            ),
        },
        "/api/calibration": {
            "get": _op(
                "Per assessor across sessions: leniency, agreement with the consensus, vs the"
                " machine; the same filters as the sessions list",
                "hr",
                path=False,
            ),
        },
        "/api/grant": {
            "post": _op("Exchange a link's token for a short-lived one of the same scope "
                        "(LGD_SERVER_GRANT_TTL_S); revoking the link revokes it too",
                        "candidate | assessor | hr", path=False)
        },
        "/api/tokens/revoke": {
            "post": _op("Revoke one token ({token} or its audit fingerprint {token_id}) or "
                        "every token of a session issued until now ({session})", "hr",
                        path=False)
        },
        "/api/sessions/{sid}": {
            "get": _op("Session state, times and live media statistics", "assessor | hr")
        },
        "/api/sessions/{sid}/join-info": {
            "get": _op(
                "What the candidate page needs: names, ICE servers, consent notice", "candidate"
            )
        },
        "/api/sessions/{sid}/offer": {
            "post": _op(
                "WebRTC offer (ICE gathering complete) → answer", "candidate", "answer", "Offer"
            )
        },
        "/api/sessions/{sid}/client-stats": {
            "post": _op("The candidate browser's receive statistics", "candidate")
        },
        "/api/sessions/{sid}/start": {
            "post": _op("Start the session clock and analysis", "assessor | hr")
        },
        "/api/sessions/{sid}/end": {
            "post": _op("End the session; returns the final lgd.report/1", "assessor | hr")
        },
        "/api/sessions/{sid}/report": {
            "get": _op("lgd.report/1: partial while live, final after the end", "assessor | hr")
        },
        "/api/sessions/{sid}/export.{fmt}": {
            "get": _op(
                "HR export: portraits as json | csv (candidate × dimension rows), or the report"
                " page as html | pdf (?candidate=ID for one candidate, else a comparison), or"
                " the assessors' notes, ratings and consensus as assessment.csv",
                "assessor | hr",
            )
        },
        "/api/sessions/{sid}/feedback/{pid}/release": {
            "post": _op(
                "Release a candidate's feedback page (strengths, what to develop, no ranks);"
                " returns the link to send them",
                "hr",
            )
        },
        "/api/sessions/{sid}/recordings": {
            "get": _op("The ended session's recorded segments (who, kind, session-clock "
                       "start); audited", "assessor | hr")
        },
        "/api/sessions/{sid}/media/{file}": {
            "get": _op("One segment (Ogg/Opus or WebM/VP8) decrypted on the fly; Range "
                       "supported; every read audited", "assessor | hr")
        },
        "/api/sessions/{sid}/playback": {
            "post": _op("The playback page states what it plays ({candidate, at}); audited",
                        "assessor | hr")
        },
        "/api/sessions/{sid}/reanalyse": {
            "post": _op("Re-run the current pipeline on the recordings: a new report version "
                        "and its diff against the live one (v1)", "hr")
        },
        "/api/sessions/{sid}/reports": {
            "get": _op("The report versions: 1 = live, then each re-analysis", "assessor | hr")
        },
        "/api/sessions/{sid}/reports/{n}": {
            "get": _op("One report version; audited", "assessor | hr")
        },
        "/api/sessions/{sid}/reports/diff": {
            "get": _op("?a=&b=: per candidate share (pp), speaking time and dimension score "
                       "deltas, and the interruptions found in one version only",
                       "assessor | hr")
        },
        "/api/sessions/{sid}/live": {
            "get": _op(
                "WebSocket: every event (lgd codec JSON, {type, ...}) from the start, then live;"
                " {type: clock} ticks",
                "assessor | hr | candidate (speech events only)",
                "101 switching protocols",
            )
        },
    },
}

"""Signed, expiring, role-scoped tokens for join links, dashboards and HR.

``base64url(json claims) . base64url(HMAC-SHA256(secret, claims))`` — stateless, so links
work across restarts and processes; the secret never leaves the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass

ROLES = ("candidate", "assessor", "hr")


class TokenError(PermissionError):
    """Missing, malformed, forged or expired token, or one for another session/role."""


@dataclass(frozen=True, slots=True)
class Claims:
    role: str  #: candidate | assessor | hr
    session: str | None  #: the session it is scoped to (None: HR, every session)
    who: str | None  #: the candidate id (role candidate only)
    exp: float  #: expiry, Unix seconds
    iat: float | None = None  #: issued at, Unix seconds (tokens of earlier versions: None)
    parent: str | None = None  #: a grant's: the fingerprint of the link it was exchanged for


def issue(secret: str, claims: Claims) -> str:
    if claims.role not in ROLES:
        raise ValueError(f"unknown role {claims.role!r}")
    body = _b64(json.dumps(asdict(claims), separators=(",", ":")).encode())
    return f"{body}.{_b64(_sign(secret, body))}"


def verify(secret: str, token: str | None, now: float) -> Claims:
    if not token:
        raise TokenError("a token is required")
    try:
        body, sig = token.split(".")
        ok = hmac.compare_digest(_unb64(sig), _sign(secret, body))
    except ValueError:
        raise TokenError("malformed token") from None
    if not ok:
        raise TokenError("invalid token signature")
    try:
        claims = Claims(**json.loads(_unb64(body)))
    except (ValueError, TypeError):
        raise TokenError("malformed token") from None
    if (claims.role not in ROLES or not isinstance(claims.exp, int | float)
            or isinstance(claims.exp, bool)
            or not all(v is None or isinstance(v, str)
                       for v in (claims.session, claims.who, claims.parent))
            or not (claims.iat is None or isinstance(claims.iat, int | float))):
        raise TokenError("malformed token claims")  # signed, yet not ours to trust: 401
    if claims.exp < now:
        raise TokenError("token expired")
    return claims


def _sign(secret: str, body: str) -> bytes:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except Exception as e:
        raise ValueError(str(e)) from None

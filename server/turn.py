"""Short-lived TURN credentials per candidate, the TURN REST API way (coturn's
`use-auth-secret`): the username is `<expiry>:<session>.<candidate>` and the password is
base64(HMAC-SHA1(shared secret, username)). The TURN server checks both with the secret it
shares with us, and refuses them after the expiry; nothing is stored, and a leaked pair
is one candidate's, for hours, not everyone's for ever."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def turn_credentials(secret: str, urls: list[str], ttl_s: float, scope: str,
                     now: float) -> dict[str, Any]:
    username = f"{int(now + ttl_s)}:{scope}"
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return {"urls": urls, "username": username, "credential": base64.b64encode(mac).decode()}


def ice_servers_for(static: str, secret: str, urls: str, ttl_s: float, scope: str,
                    now: float) -> list[dict[str, Any]]:
    """The ICE servers a candidate's browser is given: the static ones, plus their own TURN
    credentials when a shared secret is configured."""
    servers: list[dict[str, Any]] = json.loads(static or "[]")
    turn = json.loads(urls or "[]")
    if secret and turn:
        servers.append(turn_credentials(secret, turn, ttl_s, scope, now))
    return servers

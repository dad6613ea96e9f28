"""Revoking tokens. Tokens are signed and stateless (server/tokens.py), so a leaked link
works until it expires, unless it is listed here:

- one token, by its fingerprint (`server.audit.token_id`, the id the audit trail shows):
  the link and every short-lived grant exchanged for it stop working;
- every token of a session issued until now (its links and grants; new links can be
  issued after).

`<data_dir>/revoked.json` (0600) keeps the list, rewritten atomically; it holds
fingerprints and session ids only, nothing that opens anything.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from server.tokens import Claims


class Revocations:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        self.tokens: set[str] = set(data.get("tokens", []))
        self.sessions: dict[str, float] = dict(data.get("sessions", {}))

    def revoked(self, fingerprint: str, claims: Claims) -> bool:
        if fingerprint in self.tokens or (claims.parent or "") in self.tokens:
            return True
        before = self.sessions.get(claims.session or "")
        return before is not None and (claims.iat or 0.0) <= before

    def revoke_token(self, fingerprint: str) -> None:
        with self._lock:
            self.tokens.add(fingerprint)
            self._save()

    def revoke_session(self, sid: str, now: float) -> None:
        with self._lock:
            self.sessions[sid] = now
            self._save()

    def _save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"tokens": sorted(self.tokens), "sessions": self.sessions}, f)
        os.replace(tmp, self.path)

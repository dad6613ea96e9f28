"""The audit trail: one JSON line per read or export of personal data, and per change made
to it (who, what, when), appended and never rewritten. Ids only: no names, no content.

`who` is the token's role and scope, plus a fingerprint of the token itself (a hash prefix),
so one link's use can be followed without the log holding anything that opens it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def token_id(token: str) -> str:
    return hashlib.sha256(b"lgd-audit" + token.encode()).hexdigest()[:12]


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, actor: dict[str, Any], action: str, **what: Any) -> None:
        entry = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                 "who": actor, "action": action, **what}
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

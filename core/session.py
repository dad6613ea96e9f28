"""What every stage may know about the session it analyses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    participants: list[tuple[str, str]]  #: (id, display name), in track order
    language: str
    started_at: str  #: ISO-8601
    affect: str | None = None  #: this session's affect-analysis policy; None = deployment's

    @property
    def ids(self) -> list[str]:
        return [pid for pid, _ in self.participants]

"""Session-end webhook settings (section `webhooks`, env `LGD_WEBHOOKS_<FIELD>`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # aiohttp is imported only where webhooks are delivered
    from dashboard.webhooks import WebhookTarget


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    #: a JSON endpoint that receives every ended session's portraits (unset: none)
    url: str | None = None
    #: HMAC-SHA256 key for `X-LGD-Signature` on `url` (unset: unsigned)
    secret: str | None = None
    #: a WeCom group-robot webhook URL (…/cgi-bin/webhook/send?key=…) for a markdown summary
    wecom_url: str | None = None
    #: attempts per target, and the first retry delay (doubling after each failure)
    attempts: int = 4
    base_delay_s: float = 1.0
    timeout_s: float = 10.0

    def targets(self) -> list[WebhookTarget]:
        from dashboard.webhooks import WebhookTarget

        wanted = [(self.url, self.secret, "json"), (self.wecom_url, None, "wecom")]
        return [WebhookTarget(url, secret, kind, self.attempts, self.base_delay_s,
                              self.timeout_s) for url, secret, kind in wanted if url]

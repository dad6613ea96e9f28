"""Portrait scoring settings (section `portraits`, env `LGD_PORTRAITS_<FIELD>`).

The only copy of each default; the reasons are in docs/rubric.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PortraitConfig:
    #: a live `PortraitUpdate` is emitted at most this often (session seconds).
    update_every_s: float = 5.0
    #: weight of the fixed reference range in a score; the rest is the candidate's position
    #: within the group (so a strong group does not make everyone average, and a weak group
    #: does not make everyone excellent).
    absolute_weight: float = 0.7
    #: evidence moments kept per candidate and dimension (the strongest ones).
    evidence_items: int = 5
    #: affect dimensions (stress_resilience, emotional_stability, the face part of rapport)
    #: are scored only when this is "score"; "observe" and "off" leave them null. The
    #: pipeline passes the deployment's affect policy when one is configured.
    affect_policy: str = "off"
    #: at least this much session time before scores are given (too little data before).
    min_session_s: float = 10.0


def portrait_config(settings: Any) -> PortraitConfig:
    """The `portraits` section of a `Settings` (default settings when None), with the
    deployment's affect policy (`settings.affect_analysis`, owned by the prosody/face stages'
    settings) when one is configured."""
    if settings is None:
        from lgd.settings import Settings

        settings = Settings()
    cfg: PortraitConfig = settings.portraits
    policy = getattr(settings, "affect_analysis", None)
    if isinstance(policy, str) and policy:
        return dataclasses.replace(cfg, affect_policy=policy)
    return cfg

"""The one settings object. Every default lives here, once; env vars override it.

Deployment settings are top-level fields (``LGD_DATA_DIR``); each stage has its own
config dataclass nested under a section name, overridable as ``LGD_<SECTION>_<FIELD>``
(``LGD_TURNS_BACKCHANNEL_MAX_S=0.6``). The stages own their config classes; the sections
of the layers above the driver (the live server, HR webhooks) are defined here, so that
settings are assembled once, one level above the stages, and nothing below imports up.
Unknown ``LGD_*`` variables are rejected, so a typo fails loudly instead of silently running
on a default.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.policy import DEFAULT_POLICY, check_policy
from diarize.config import ActivityConfig, AsrConfig, FaceConfig, ProsodyConfig
from interaction.config import ActConfig, PortraitConfig, ReactionConfig, TurnConfig

ENV_PREFIX = "LGD_"
RECORDING_MODES = ("off", "audio", "audio+video")  #: from less to more


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"  #: bind address; 0.0.0.0 behind a reverse proxy or with TLS
    port: int = 8080
    #: base of the links handed out (https://lgd.example.com); default: from the request
    public_url: str = ""
    #: HMAC key for join/dashboard tokens; empty: generated once into <data_dir>/secret
    secret: str = ""
    tls_cert: Path | None = None  #: PEM certificate; browsers need a secure origin for mics
    tls_key: Path | None = None
    #: JSON list of RTCIceServer dicts for browsers and server, e.g.
    #: [{"urls": "stun:stun.example.com:3478"}, {"urls": "turn:t.example.com", "username":
    #: "u", "credential": "p"}]
    ice_servers: str = "[]"
    #: a TURN server's shared secret (coturn `use-auth-secret`, the TURN REST API): each
    #: candidate then gets their own credentials for `turn_urls`, valid `turn_ttl_s`,
    #: instead of one static pair in `ice_servers` handed to everyone
    turn_secret: str = ""
    turn_urls: str = "[]"  #: JSON list, e.g. ["turn:turn.example.com:3478?transport=udp"]
    turn_ttl_s: float = 6 * 3600.0
    #: comma-separated host addresses the SFU offers; empty: every non-loopback interface.
    #: "127.0.0.1" keeps all media on loopback (tests, `lgd simulate`).
    ice_host_addresses: str = ""
    token_ttl_s: float = 7 * 24 * 3600.0  #: join/dashboard links expire after a week
    #: a link exchanged for a session grant (POST /api/grant) gives a token this short-lived
    grant_ttl_s: float = 2 * 3600.0
    max_body_bytes: int = 256 * 1024  #: REST bodies (offers, session creation)
    #: live audio is analysed once every sending track has delivered it, waiting at most
    #: this long for a late one (a frozen tab, a dropped connection): its audio is then lost
    max_wait_s: float = 2.0
    #: place each browser's audio by its capture time, which its RTCP sender reports give
    #: on its own wall clock (trusted only while that clock agrees with the arrivals:
    #: media/timeline.py), instead of by when its first packet arrived
    sender_clock: bool = True
    remb_bps: int = 250_000  #: fixed receive bitrate announced to browsers (NOTES.md)
    auto_start: bool = True  #: a session starts when its first candidate connects
    #: a live session with nobody connected for this long ends by itself (its report is
    #: written, marked with the gap); 0: never
    idle_end_s: float = 900.0
    #: on SIGTERM the server takes no new session (503, readiness fails) and keeps its live
    #: ones running until they end, at most this long; then they end, their reports marked
    #: with the gap. SIGINT: end them at once
    drain_s: float = 600.0
    #: a candidate joins (is analysed) only after agreeing to the notice on the join page;
    #: the consent record (notice version, time, what was agreed) is kept with the session
    require_consent: bool = True


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


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Where analysis runs: worker processes, fed frames by the SFU (docs/live.md)."""

    #: worker processes `lgd serve` starts itself; 0 (with Redis): only `lgd worker`s
    #: elsewhere analyse. Without Redis there is always one.
    local: int = 1
    #: sessions one worker hosts at once; 0: one per CPU core
    sessions_max: int = 0
    #: a session whose worker has not renewed its claim for this long is taken over by
    #: another worker (Redis), which resumes it
    claim_idle_s: float = 5.0
    #: how often (session seconds of audio) a worker records its checkpoint and a snapshot
    #: of the session's analysis state (`analysis.snapshot`), which a worker taking the
    #: session over resumes from
    checkpoint_every_s: float = 10.0
    #: trim a session's frames up to its previous snapshot once a new one is stored: Redis
    #: then holds about two snapshot intervals of frames, not the whole session; a worker
    #: that can load neither snapshot (another code version) cannot resume it (docs/live.md)
    trim_frames: bool = True
    #: prefix of the workers' Redis keys (jobs, frames, results, checkpoints)
    stream_prefix: str = "lgd:"
    #: on SIGTERM a worker takes no new sessions and keeps hosting its own until they end,
    #: at most this long; then it lets go of them (another worker resumes them). SIGINT:
    #: let go at once
    drain_s: float = 600.0
    #: a session whose frames stop coming for this long lost its SFU node (a live session
    #: ships audio, silent or not, all the time): its worker lets go of it and deletes
    #: the job
    abandon_s: float = 300.0
    #: at the end, how long to wait for the worker's last events without any progress
    #: from it (a worker still working through a backlog is waited for) before the report
    #: is written without them (marked incomplete)
    end_wait_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("data")  #: models unpacked once, session logs, reports
    redis_url: str | None = None  #: Redis Streams bus when set, else in-process
    language: str = "zh"  #: default session language (report `session.language`)
    vad_model: Path | None = None  #: a silero-vad ONNX file; default: the bundled one
    #: a directory of HR's own job profiles (`<id>.yaml`, hr/profiles.py), searched before
    #: the bundled ones
    hr_profiles: Path | None = None
    #: the key-encryption key that seals sessions at rest (server/vault.py): a file holding
    #: it (`lgd keys new`), or the key itself; neither: sessions are stored in plain files
    kek_file: Path | None = None
    kek: str | None = None
    #: ended sessions are deleted (events, report, keys, group attributes) this many days
    #: after they ended; 0: kept until someone deletes them
    retention_days: float = 0.0
    #: what a live session records of each candidate (encoded as received, sealed under the
    #: session's key; nothing is recorded without a KEK): off | audio | audio+video. A
    #: session may ask for less, never more; the join page's notice says which
    recording: str = "audio"
    #: recordings are deleted this many days after the session ended, before its report
    #: (`retention_days`); 0: with the report
    media_retention_days: float = 0.0
    activity: ActivityConfig = field(default_factory=ActivityConfig)
    turns: TurnConfig = field(default_factory=TurnConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    portraits: PortraitConfig = field(default_factory=PortraitConfig)
    webhooks: WebhookConfig = field(default_factory=WebhookConfig)
    #: off | observe | score: what may be measured from voices and faces (core/policy.py)
    affect_analysis: str = DEFAULT_POLICY
    prosody: ProsodyConfig = field(default_factory=ProsodyConfig)
    face: FaceConfig = field(default_factory=FaceConfig)
    reactions: ReactionConfig = field(default_factory=ReactionConfig)

    def __post_init__(self) -> None:
        check_policy(self.affect_analysis)
        if self.recording not in RECORDING_MODES:
            raise ValueError(f"LGD_RECORDING={self.recording!r}: one of "
                             f"{', '.join(RECORDING_MODES)}")
    asr: AsrConfig = field(default_factory=AsrConfig)  #: LGD_ASR_MODEL, LGD_ASR_ENABLED, ...
    acts: ActConfig = field(default_factory=ActConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        wanted = {k: v for k, v in env.items() if k.startswith(ENV_PREFIX)}
        used: set[str] = set()
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(f.default_factory):  # type: ignore[arg-type]
                section_cls = f.default_factory
                sub: dict[str, Any] = {}
                for sf in dataclasses.fields(section_cls):  # type: ignore[arg-type]
                    key = f"{ENV_PREFIX}{f.name}_{sf.name}".upper()
                    if key in wanted:
                        sub[sf.name] = _parse(wanted[key], sf.type, key)
                        used.add(key)
                kwargs[f.name] = section_cls(**sub)  # type: ignore[operator]
            else:
                key = f"{ENV_PREFIX}{f.name}".upper()
                if key in wanted:
                    kwargs[f.name] = _parse(wanted[key], f.type, key)
                    used.add(key)
        unknown = sorted(set(wanted) - used)
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known_keys()))}"
            )
        return cls(**kwargs)


def known_keys() -> list[str]:
    keys = []
    for f in dataclasses.fields(Settings):
        if dataclasses.is_dataclass(f.default_factory):  # type: ignore[arg-type]
            keys += [
                f"{ENV_PREFIX}{f.name}_{sf.name}".upper()
                for sf in dataclasses.fields(f.default_factory)  # type: ignore[arg-type]
            ]
        else:
            keys.append(f"{ENV_PREFIX}{f.name}".upper())
    return keys


def _parse(raw: str, typ: Any, key: str) -> Any:
    t = str(typ)
    try:
        if "Path" in t:
            return Path(raw) if raw else None
        if t.startswith("float"):
            return float(raw)
        if t.startswith("int"):
            return int(raw)
        if t.startswith("bool"):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if "None" in t and not raw:
            return None  # an empty optional setting means "unset"
        return raw
    except ValueError:
        raise ValueError(f"{key}={raw!r} is not a valid {t}") from None

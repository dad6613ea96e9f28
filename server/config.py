"""Settings of the live server (section `server`: ``LGD_SERVER_<FIELD>``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    #: comma-separated host addresses the SFU offers; empty: every non-loopback interface.
    #: "127.0.0.1" keeps all media on loopback (tests, `lgd simulate`).
    ice_host_addresses: str = ""
    token_ttl_s: float = 7 * 24 * 3600.0  #: join/dashboard links expire after a week
    max_body_bytes: int = 256 * 1024  #: REST bodies (offers, session creation)
    #: live audio is analysed once every sending track has delivered it, waiting at most
    #: this long for a late one (a frozen tab, a dropped connection): its audio is then lost
    max_wait_s: float = 2.0
    remb_bps: int = 250_000  #: fixed receive bitrate announced to browsers (NOTES.md)
    auto_start: bool = True  #: a session starts when its first candidate connects

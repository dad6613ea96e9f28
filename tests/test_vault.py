"""Encryption at rest: a live session under a KEK leaves no names, transcript text or event
payloads in plain form on disk; with the KEK everything reads back the same; rotating the
KEK re-wraps the session keys only."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.report import replay
from analysis.settings import Settings
from core.events import SpeechEnded, SpeechHorizon, SpeechStarted, Turn, Utterance
from server.live import session_info
from server.store import SessionStore
from server.vault import Vault, VaultError, load_vault, new_kek, parse_kek
from tests.serverutil import running_server

NAME = "Quokka张伟"
PHRASE = "我们的机密预算是九百万"


def test_seal_and_open(tmp_path):
    v = Vault(parse_kek(new_kek()))
    d = tmp_path / "s1"
    blob = v.seal(d, "report", b"hello")
    assert b"hello" not in blob and v.open(d, "report", blob) == b"hello"
    with pytest.raises(VaultError):
        v.open(d, "session", blob)  # another file's role
    with pytest.raises(VaultError):
        v.open(tmp_path / "s2", "report", blob)  # another session
    with pytest.raises(VaultError, match="not the configured"):
        Vault(parse_kek(new_kek())).open(d, "report", blob)  # another KEK
    with pytest.raises(VaultError, match="32 bytes"):
        parse_kek("c2hvcnQ=")


def _plain_hits(root: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for f in root.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            hits += [f"{f}: {n!r}" for n in needles if n in data]
    return hits


async def test_a_sealed_session_leaves_nothing_plain_and_reads_back(tmp_path):
    kek = tmp_path / "kek"
    kek.write_text(new_kek())
    data = tmp_path / "data"
    settings = dataclasses.replace(Settings.from_env(), kek_file=kek)
    async with running_server(data, settings, auto_start=False) as run:
        s = await run.create(["p1", "p2"], participants=[{"id": "p1", "name": NAME},
                                                        {"id": "p2", "name": "王芳"}])
        live = run.server.live[s["id"]]
        await live.start()
        await live.analysed(live.feed_events([
            SpeechStarted("p1", 0.5), SpeechEnded("p1", 0.5, 6.0), Turn("p1", 0.5, 6.0),
            Utterance("p1", 0.5, 6.0, PHRASE, (), "zh"), SpeechHorizon(12.0)]))
        await asyncio.sleep(0.3)
        async with run.http.post(f"{run.url}/api/sessions/{s['id']}/end",
                                 headers=run.hr()) as r:
            final = await r.json()
        assert final["transcript"][0]["text"] == PHRASE
        async with run.http.get(f"{run.url}/api/sessions/{s['id']}/export.csv",
                                headers=run.hr()) as r:
            assert NAME in await r.text()  # served decrypted
        sid = s["id"]
    hits = _plain_hits(data, [NAME.encode(), "张伟".encode(), PHRASE.encode(),
                              "九百万".encode(), b"SpeechEnded", b"Utterance"])
    assert hits == []
    store = SessionStore(data, load_vault(kek, None))
    assert store.report(sid) == final
    rec = store.load(sid)
    assert dict(rec.participants)["p1"] == NAME
    events = store.events(sid)
    assert replay(session_info(rec), "off", events)["transcript"] == final["transcript"]
    with pytest.raises(VaultError, match="LGD_KEK"):
        SessionStore(data).report(sid)  # sealed: no KEK, no data

    # rotation: the keys are re-wrapped, the sealed files are not touched
    before = {f: f.read_bytes() for f in (data / "sessions" / sid).iterdir()
              if f.name != "key.json"}
    new = tmp_path / "kek2"
    env = {**os.environ, "LGD_KEK_FILE": str(kek)}
    out = subprocess.run([sys.executable, "-m", "lgd.cli", "keys", "new", "--out", str(new)],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0 and new.stat().st_mode & 0o777 == 0o600
    out = subprocess.run([sys.executable, "-m", "lgd.cli", "keys", "rotate", "--new-kek-file",
                          str(new), "--data-dir", str(data)], capture_output=True, text=True,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert {f: f.read_bytes() for f in before} == before
    assert SessionStore(data, load_vault(new, None)).report(sid) == final
    with pytest.raises(VaultError):
        SessionStore(data, load_vault(kek, None)).report(sid)  # the old KEK opens nothing
    out = subprocess.run([sys.executable, "-m", "lgd.cli", "export", sid, "--format", "json",
                          "--out", str(tmp_path / "p.json")], capture_output=True, text=True,
                         env={**env, "LGD_KEK_FILE": str(new), "LGD_DATA_DIR": str(data)})
    assert out.returncode == 0, out.stderr
    assert NAME in (tmp_path / "p.json").read_text(encoding="utf-8")

"""`lgd analyze` end to end on generated recordings, and its errors on bad input."""

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from benchmarks.sessions import make
from testkit.synth import write_session

REPORT_FIELDS = {
    "schema",
    "session",
    "participants",
    "speech",
    "speaking_time_s",
    "speaking_share",
    "turns",
    "overlaps",
    "interruptions",
    "backchannels",
    "transcript",
    "acts",
    "graph",
    "portraits",
}


def lgd(*args: str) -> subprocess.CompletedProcess:
    # Speech-activity checks: ASR off (tests/test_transcribe.py covers the content stages).
    return subprocess.run(
        [sys.executable, "-m", "lgd.cli", *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, "LGD_ASR_ENABLED": "0"},
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("session")
    session = make(3, "zh", 21)
    return session, write_session(session, out)


def test_analyze_writes_the_report(recorded, tmp_path):
    session, paths = recorded
    out = tmp_path / "report.json"
    tracks = [f"--track={pid}={p}" for pid, p in paths.items()]
    r = lgd("analyze", *tracks, "--name", "A=张三", "--language", "zh", "--out", str(out))
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert REPORT_FIELDS <= set(report)
    assert report["schema"] == "lgd.report/1"
    assert report["participants"][0] == {"id": "A", "name": "张三"}
    assert abs(sum(report["speaking_share"].values()) - 1) < 1e-3
    assert abs(report["session"]["duration_s"] - session.duration_s) < 0.05
    for pid, spans in report["speech"].items():
        assert all(s < e for s, e in spans) and spans, pid
    for portrait in report["portraits"].values():
        for dim in portrait["dimensions"].values():
            assert dim["evidence"]  # a score with its evidence, or null with the reason
            assert dim["score"] is not None or dim["evidence"][0]["kind"] == "unavailable"
    scored = report["portraits"]["A"]["dimensions"]
    assert scored["participation"]["score"] is not None  # speech activity alone scores it
    assert scored["idea_contribution"]["score"] is None  # no transcript in this build
    assert "张三" in r.stdout


def test_missing_and_garbage_files_are_clear_errors(recorded, tmp_path):
    _, paths = recorded
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    r = lgd(
        "analyze",
        f"--track=A={paths['A']}",
        "--track=B=/nope/missing.wav",
        f"--track=C={garbage}",
        "--out",
        str(tmp_path / "r.json"),
    )
    assert r.returncode == 2
    assert "missing.wav" in r.stderr and "garbage.wav" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "r.json").exists()


def test_duplicate_ids_are_rejected(recorded, tmp_path):
    _, paths = recorded
    r = lgd(
        "analyze",
        f"--track=A={paths['A']}",
        f"--track=A={paths['B']}",
        "--out",
        str(tmp_path / "r.json"),
    )
    assert r.returncode == 2 and "A" in r.stderr and "Traceback" not in r.stderr


def _write_wav(path: Path, x: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes())


def test_short_track_and_rate_mismatch(tmp_path):
    tone = 0.1 * np.sin(np.arange(16000 * 6) * 0.1)
    _write_wav(tmp_path / "a.wav", tone, 16000)
    _write_wav(tmp_path / "b.wav", tone[: 16000 * 2], 16000)
    _write_wav(tmp_path / "c.wav", np.repeat(tone, 3), 48000)
    out = str(tmp_path / "r.json")
    r = lgd(
        "analyze",
        f"--track=A={tmp_path / 'a.wav'}",
        f"--track=B={tmp_path / 'b.wav'}",
        "--out",
        out,
    )
    assert r.returncode == 2 and "b.wav" in r.stderr and "--pad-short" in r.stderr
    r = lgd(
        "analyze",
        f"--track=A={tmp_path / 'a.wav'}",
        f"--track=B={tmp_path / 'b.wav'}",
        "--pad-short",
        "--out",
        out,
    )
    assert r.returncode == 0, r.stderr
    r = lgd(
        "analyze",
        f"--track=A={tmp_path / 'a.wav'}",
        f"--track=C={tmp_path / 'c.wav'}",
        "--out",
        out,
    )
    assert r.returncode == 2 and "48000" in r.stderr and "--allow-rate-mismatch" in r.stderr


def test_unknown_setting_is_rejected(recorded, tmp_path):
    _, paths = recorded
    env_cmd = [
        sys.executable,
        "-m",
        "lgd.cli",
        "analyze",
        f"--track=A={paths['A']}",
        "--out",
        str(tmp_path / "r.json"),
    ]
    r = subprocess.run(
        env_cmd,
        capture_output=True,
        text=True,
        env={**os.environ, "LGD_TURNS_BACKCHANEL_MAX_S": "1"},
    )
    assert r.returncode == 2 and "LGD_TURNS_BACKCHANEL_MAX_S" in r.stderr


def test_serve_and_token_commands(tmp_path):
    """`lgd serve` comes up on the given port and accepts an HR token minted by `lgd token`."""
    import json as _json
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exe = [sys.executable, "-m", "lgd.cli"]
    env_dir = ["--data-dir", str(tmp_path)]
    server = subprocess.Popen(
        [*exe, "serve", "--port", str(port), *env_dir],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        token = subprocess.run(
            [*exe, "token", "--role", "hr", *env_dir], check=True, capture_output=True, text=True
        ).stdout.strip()
        body = _json.dumps({"participants": [{"id": "a"}, {"id": "b"}]}).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/sessions",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        for _ in range(300):  # up to a minute on a loaded machine
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    created = _json.loads(r.read())
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("lgd serve did not come up")
        assert set(created["links"]["join"]) == {"a", "b"}
        join = created["links"]["join"]["a"]
        assert join.startswith(f"http://127.0.0.1:{port}/join/")
        with urllib.request.urlopen(join, timeout=5) as r:
            assert r.status == 200
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    # privacy: no token in the terminal or the access log; private files and folders
    secret_part = join.split("token=")[1]
    assert secret_part not in out and token not in out
    assert "/join/" in out and "token=***" in out
    hr_file = tmp_path / "hr-token"
    assert f"in {hr_file}" in out and hr_file.read_text().strip().count(".") == 1
    for path, mode in [(hr_file, 0o600), (tmp_path / "secret", 0o600),
                       (tmp_path / "sessions" / created["id"], 0o700),
                       (tmp_path / "sessions" / created["id"] / "session.json", 0o600)]:
        assert path.stat().st_mode & 0o777 == mode, path


def test_serve_over_tls(tmp_path):
    """With a certificate configured, `lgd serve` speaks HTTPS (browsers need a secure
    origin for microphones)."""
    import os
    import socket
    import ssl
    import subprocess
    import sys
    import time
    import urllib.request

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, LGD_SERVER_TLS_CERT=str(cert), LGD_SERVER_TLS_KEY=str(key))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lgd.cli",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = False
    try:
        for _ in range(300):
            try:
                url = f"https://127.0.0.1:{port}/api/openapi.json"
                with urllib.request.urlopen(url, context=ctx, timeout=5) as r:
                    assert r.status == 200
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("lgd serve did not come up over TLS")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_analyze_with_video_and_affect_policy(recorded, tmp_path):
    from testkit.synth.video import clip, face_photo, nod, write_y4m

    _, paths = recorded
    video = write_y4m(tmp_path / "A.y4m",
                      (f for _, f in clip(face_photo()[::2, ::2], nod(start_s=4.0), 5, 20.0)), 5)
    tracks = [f"--track={pid}={p}" for pid, p in paths.items()]
    out = tmp_path / "r.json"
    r = lgd("analyze", *tracks, f"--video=A={video}", "--affect", "observe", "--out", str(out))
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert report["affect"]["policy"] == "observe" and "head_nod" in report["affect"]["signals"]
    face = report["nonverbal"]["A"]["face"]
    assert face["status"]["ok"] >= 8 and face["status"]["camera_off"] >= 1  # clip ends at 20 s
    assert face["nods"] >= 8  # 0.8 Hz from 4 s to 20 s: ~12 nods
    b = report["nonverbal"]["B"]["face"]  # no camera given for B: reported, nothing made up
    assert set(b["status"]) == {"camera_off"} and "smile" not in b and b["nods"] == 0
    bad = lgd("analyze", *tracks, f"--video=Z={video}", "--affect=score", "--out", str(out))
    assert bad.returncode == 2 and "no audio track with id 'Z'" in bad.stderr
    off = lgd("analyze", *tracks, f"--video=A={video}", "--out", str(out))  # default: off
    assert off.returncode == 0 and "--video ignored" in off.stderr
    report = json.loads(out.read_text())
    assert report["affect"] == {"policy": "off", "signals": [], "scored": False}


def test_analyze_with_a_job_profile(recorded, tmp_path):
    """--profile adds each candidate's overall fit; a bad profile file is a clear error that
    names its line, and nothing is written."""
    _, paths = recorded
    tracks = [f"--track={pid}={p}" for pid, p in paths.items()]
    prof = tmp_path / "talk.yaml"
    prof.write_text("id: talk\nversion: 1\nweights:\n  participation: 0.7\n  turn_taking: 0.3\n"
                    "thresholds: {advance: 60, hold: 40}\n")
    out = tmp_path / "fit.json"
    r = lgd("analyze", *tracks, "--profile", str(prof), "--out", str(out))
    assert r.returncode == 0, r.stderr
    fit = json.loads(out.read_text())["fit"]
    assert fit["profile"]["id"] == "talk" and set(fit["candidates"]) == set(paths)
    assert all(c["fit"] is not None for c in fit["candidates"].values())
    prof.write_text(prof.read_text().replace("turn_taking: 0.3", "turn_taking: 0.4"))
    bad = tmp_path / "bad.json"
    r = lgd("analyze", *tracks, "--profile", str(prof), "--out", str(bad))
    assert r.returncode == 2 and "talk.yaml:3: weights must sum to 1" in r.stderr
    assert not bad.exists()


def test_voice_clips_enrol_identity_and_bad_ones_are_clear_errors(recorded, tmp_path):
    from benchmarks.sessions import device_check_clips

    session, paths = recorded
    clips = {}
    for p, x in device_check_clips(session).items():
        clips[p] = tmp_path / f"{p}-voice.wav"
        _write_wav(clips[p], x, 16000)
    tracks = [f"--track={pid}={p}" for pid, p in paths.items()]
    out = tmp_path / "report.json"
    voices = [f"--voice={pid}={p}" for pid, p in clips.items()]
    r = lgd("analyze", *tracks, *voices, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert set(json.loads(out.read_text())["speech"]) == set(paths)
    r = lgd("analyze", *tracks, f"--voice=Z={clips['A']}", "--out", str(out))
    assert r.returncode == 2 and "no track has the id 'Z'" in r.stderr
    short = tmp_path / "short.wav"
    _write_wav(short, np.zeros(8000, np.float32), 16000)
    r = lgd("analyze", *tracks, f"--voice=A={short}", "--out", str(out))
    assert r.returncode == 2 and "at least 1.6 s" in r.stderr

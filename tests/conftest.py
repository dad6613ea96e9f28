import sys
from pathlib import Path

# benchmarks/ holds the session definitions the accuracy tests share with the scripts.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Tests run speech-only unless they ask for the content stages: `Settings.from_env()` (what
# the pipeline, the server and the CLI use when given no settings) then has ASR off, so
# whisper runs only in the tests that construct `Settings()` with it or pass --asr.
import os  # noqa: E402

os.environ.setdefault("LGD_ASR_ENABLED", "0")

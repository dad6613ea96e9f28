import sys
from pathlib import Path

# benchmarks/ holds the session definitions the accuracy tests share with the scripts.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

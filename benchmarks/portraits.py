"""Cost of a live portrait update: 8 candidates, a synthetic 60-minute event stream.

The stream has what the full pipeline would emit (speech stretches, turns, interruptions,
backchannels, utterances, acts with addressees, prosody turns, reactions), seeded. Prints
the cost of one live update (scores + ranks from the running aggregates and the graph) at
several points of the session, so growth with session length shows; goal <= 20 ms at 60 min.

    .venv/bin/python benchmarks/portraits.py
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.settings import Settings  # noqa: E402
from core.events import (  # noqa: E402
    Act,
    Backchannel,
    Event,
    Interruption,
    ProsodyTurn,
    Reaction,
    SpeechEnded,
    SpeechHorizon,
    Turn,
    Utterance,
)
from interaction.portraits import PortraitModel  # noqa: E402

KINDS = ["new_idea", "support", "build_on", "challenge", "question", "guide", "time_keeping",
         "summary", "invite", "evidence"]


def stream(n: int, minutes: float, seed: int = 0) -> list[Event]:
    rng = np.random.default_rng(seed)
    ids = [f"P{i}" for i in range(n)]
    talk = np.exp(np.linspace(0, -1.5, n))
    talk /= talk.sum()
    out: list[Event] = []
    t, prev = 0.5, None
    while t < minutes * 60:
        who = ids[int(rng.choice(n, p=talk))]
        if who == prev:
            continue
        d = float(rng.uniform(2, 15))
        out.append(SpeechEnded(who, t, t + d))
        if rng.random() < 0.1 and prev:
            out.append(Interruption(who, prev, t, bool(rng.random() < 0.6)))
            out.append(Reaction(prev, t, "interrupted", who, "yielded", {}, float(rng.random())))
        text = "first, because the data shows it, so we should do this"
        out.append(Utterance(who, t, t + d, text, (), "en"))
        for _ in range(int(rng.integers(0, 3))):
            out.append(Act(KINDS[int(rng.integers(len(KINDS)))], who, prev, t, text, "rule", 0.8))
        z = {"pitch_hz": float(rng.normal()), "loudness_db": float(rng.normal())}
        out.append(ProsodyTurn(who, t, t + d, {"pitch_hz": 150.0}, z, True))
        if rng.random() < 0.3:
            bc = ids[int(rng.integers(n))]
            if bc != who:
                out.append(Backchannel(bc, t + d / 2, who))
        out.append(Turn(who, t, t + d))
        out.append(SpeechHorizon(t + d))
        t, prev = t + d + float(rng.uniform(0.1, 1.0)), who
    return out


def main() -> None:
    n, minutes = 8, 60.0
    events = stream(n, minutes)
    cfg = dataclasses.replace(Settings().portraits, affect_policy="score")
    model = PortraitModel([f"P{i}" for i in range(n)], "en", cfg)
    checkpoints = [1, 10, 30, 60]
    started = time.perf_counter()
    updates = 0
    print(f"{n} candidates, {len(events)} events over {minutes:.0f} min "
          f"(updates every {cfg.update_every_s:.0f} s of session time)")
    print(f"{'at min':>7} {'update ms (median)':>19} {'p95 ms':>7} {'report ms':>10}")
    k = 0
    for ev in events:
        updates += len(model.push(ev))
        if k < len(checkpoints) and model.tally.now >= checkpoints[k] * 60 - 15:
            costs = []
            for _ in range(50):
                model.graph._cache = None  # worst case: the graph changed since the last update
                t0 = time.perf_counter()
                model.compute()
                costs.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            model.portraits()
            rep = (time.perf_counter() - t0) * 1000
            p95 = float(np.percentile(costs, 95))
            print(f"{checkpoints[k]:>7} {statistics.median(costs):>19.2f} {p95:>7.2f} "
                  f"{rep:>10.2f}")
            k += 1
    total = time.perf_counter() - started
    print(f"whole stream: {total:.2f} s for {len(events)} events and {updates} live updates "
          f"({total / len(events) * 1e6:.0f} µs per event incl. updates); goal <= 20 ms/update")


if __name__ == "__main__":
    main()

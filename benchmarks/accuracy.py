"""Accuracy of the speech-activity core on hard scripted sessions, on the condition sweep
(issue 12: each mic/room condition alone, then all combined) and on real speech.

    .venv/bin/python benchmarks/accuracy.py            # everything (reported seeds)
    .venv/bin/python benchmarks/accuracy.py --sweep    # the sweep only
    .venv/bin/python benchmarks/accuracy.py --tune     # the sweep on the tuning seeds
    .venv/bin/python benchmarks/accuracy.py --heldout  # the sweep on the held-out seeds (once)
    .venv/bin/python benchmarks/accuracy.py --sweep --gain-track [--tune | --heldout]
                                                      # ... with the per-mic gain track on
    .venv/bin/python benchmarks/accuracy.py --identity [--tune | --heldout] [--all]
                                                      # voice identity off vs on
    .venv/bin/python benchmarks/accuracy.py --tdoa [--tune | --heldout] [--only ...]
                                                      # arrival-time cue off vs on

Sweep rows pool `SWEEP_SESSIONS` (zh and en, 3, 5 and 8 candidates); those seeds are never
used to choose a threshold: `--tune` runs the same rows on `TUNE_SESSIONS` for that.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.settings import Settings  # noqa: E402
from benchmarks.sessions import (  # noqa: E402
    CLEAN,
    CONDITIONS,
    HARD,
    HARD_SESSIONS,
    HELDOUT_SESSIONS,
    ISSUE_HARD,
    NO_ASR,
    SWEEP_SESSIONS,
    TUNE_IDENTITY,
    TUNE_SESSIONS,
    device_check_clips,
    make,
    pooled,
    run_offline,
)
from testkit.evaluate import SessionScore, score_session  # noqa: E402
from testkit.synth import realspeech_session  # noqa: E402

HEAD = (f"{'':<22}{'speech err':>11}{'worst share pp':>15}{'int F1':>8}{'bc F1':>7}"
        f"{'miss s':>8}{'FA s':>7}")


def _row(name: str, p: dict[str, float]) -> str:
    return (f"{name:<22}{p['speech_error']:>11.1%}{p['max_share_error_pp']:>15.2f}"
            f"{p['interruption_f1']:>8.2f}{p['backchannel_f1']:>7.2f}{p['miss_s']:>8.1f}"
            f"{p['false_alarm_s']:>7.1f}")


def sweep(sessions: list[tuple[int, str, int]], only: list[str] | None = None) -> None:
    print(f"condition sweep, sessions (n, lang, seed) {sessions}; hard room + condition")
    print(HEAD)
    rows = {"hard room only": HARD, **CONDITIONS}
    for name, room in rows.items():
        if only and not any(o in name for o in only):
            continue
        scores = []
        for n, lang, seed in sessions:
            session = make(n, lang, seed, room)
            scores.append(score_session(run_offline(session, NO_ASR), session.truth))
        print(_row(name, pooled(scores)), flush=True)
    real_rows = (("real speech, hard", HARD), ("real speech, all", CONDITIONS["all combined"]))
    for name, room in real_rows:
        if only and not any(o in name for o in only):
            continue
        scores = []
        for seed in (1, 2):
            real = realspeech_session(seed, room)
            scores.append(score_session(run_offline(real, NO_ASR), real.truth))
        print(_row(name, pooled(scores)) + "  (pyannote sample, seeds 1-2)", flush=True)


def with_identity(on: bool):
    return replace(NO_ASR, activity=replace(NO_ASR.activity, identity=on))


def identity_table(sessions: list[tuple[int, str, int]], only: list[str] | None = None,
                   device_check: bool = False) -> None:
    """Each row with level coupling alone, then with voice identity beside it (and, with
    `device_check`, identity also enrolled from each voice alone before the session)."""
    print(f"voice identity off / on, sessions (n, lang, seed) {sessions}")
    print(f"{'':<28}" + HEAD)
    rows: list[tuple[str, object, int]] = [
        ("clean per-mic (-26 dB)", CLEAN, 0),
        ("issue hard", ISSUE_HARD, 0),
        ("issue hard, voices permuted", ISSUE_HARD, 1),
        *[(name, room, 0) for name, room in CONDITIONS.items()],
    ]
    default = [r[0] for r in rows[:3]]
    for name, room, shift in rows:
        if only != [] and not any(o in name for o in (only or default)):
            continue
        made = [make(n, lang, seed, room, shift) for n, lang, seed in sessions]  # type: ignore[arg-type]
        for on, enrolled in ((False, False), (True, False), (True, True)):
            if enrolled and not device_check:
                continue
            p = pooled([
                score_session(run_offline(s, with_identity(on),
                                          device_check_clips(s) if enrolled else None), s.truth)
                for s in made
            ])
            what = "id + device check" if enrolled else "identity on" if on else "identity off"
            print(f"{name:<28}" + _row(what, p), flush=True)


def with_tdoa(on: bool, veto: bool = False):
    return replace(NO_ASR, activity=replace(NO_ASR.activity, tdoa=on, tdoa_veto=veto))


#: level coupling alone; with arrival labels for the couplings; and also vetoing decisions
TDOA_VARIANTS = (("tdoa off", False, False), ("tdoa on", True, False), ("tdoa + veto", True, True))


#: stress rows of the arrival cue: bleed mixed with no delay, and mics 1-3 ms apart
#: (the cue must abstain, or be right, not harm)
TDOA_STRESS = {
    "bleed without delay": replace(HARD, bleed_delay_ms=(0.0, 0.0)),
    "bleed 1-3 ms late": replace(HARD, bleed_delay_ms=(1.0, 3.0)),
}


def tdoa_table(sessions: list[tuple[int, str, int]], only: list[str] | None = None) -> None:
    """Every sweep row (plus the issue's hard case and the stress rows) with level coupling
    alone, then with the arrival-time cue beside it; real speech on pyannote's sample."""
    print(f"arrival-time cue off / on, sessions (n, lang, seed) {sessions}")
    print(f"{'':<28}" + HEAD)
    rows: list[tuple[str, object]] = [
        ("clean per-mic (-26 dB)", CLEAN), ("issue hard", ISSUE_HARD), ("hard room only", HARD),
        *CONDITIONS.items(), *TDOA_STRESS.items(),
    ]
    for name, room in rows:
        if only and not any(o in name for o in only):
            continue
        made = [make(n, lang, seed, room) for n, lang, seed in sessions]  # type: ignore[arg-type]
        for what, on, veto in TDOA_VARIANTS:
            p = pooled([score_session(run_offline(s, with_tdoa(on, veto)), s.truth) for s in made])
            print(f"{name:<28}" + _row(what, p), flush=True)
    real_rows = (("real speech, hard", HARD), ("real speech, all", CONDITIONS["all combined"]),
                 ("real speech, no delay", TDOA_STRESS["bleed without delay"]))
    for name, room in real_rows:
        if only and not any(o in name for o in only):
            continue
        reals = [realspeech_session(seed, room) for seed in (1, 2)]
        for what, on, veto in TDOA_VARIANTS:
            p = pooled([score_session(run_offline(r, with_tdoa(on, veto)), r.truth) for r in reals])
            print(f"{name:<28}" + _row(what, p) + "  (pyannote sample, seeds 1-2)", flush=True)


#: the old benchmark's settings: the defaults (None), or with `--gain-track` that on
HARD_SETTINGS: Settings | None = None


def hard() -> None:
    scores: list[SessionScore] = []
    print(f"{'session':<14}{'speech err':>11}{'share err pp':>13}{'int F1':>8}{'bc F1':>7}")
    for n, lang, seed in HARD_SESSIONS:
        session = make(n, lang, seed)
        s = score_session(run_offline(session, HARD_SETTINGS), session.truth)
        scores.append(s)
        print(f"{n} {lang} seed {seed:<5}{s.speech.error:>11.1%}{s.share_error_pp:>13.2f}"
              f"{s.interruptions.f1:>8.2f}{s.backchannels.f1:>7.2f}")
    p = pooled(scores)
    print(
        f"pooled: speech error {p['speech_error']:.1%} (miss {p['miss_s']:.1f} s, false alarm "
        f"{p['false_alarm_s']:.1f} s); worst share error {p['max_share_error_pp']:.2f} pp; "
        f"interruption F1 {p['interruption_f1']:.2f} (P {p['interruption_precision']:.2f} "
        f"R {p['interruption_recall']:.2f}); backchannel F1 {p['backchannel_f1']:.2f} "
        f"(P {p['backchannel_precision']:.2f} R {p['backchannel_recall']:.2f})"
    )
    for seed in (1, 2):
        real = realspeech_session(seed)
        s = score_session(run_offline(real, HARD_SETTINGS), real.truth)
        print(f"real speech (pyannote sample laid out per mic, seed {seed}): speech error "
              f"{s.speech.error:.1%}, share error {s.share_error_pp:.2f} pp")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", action="store_true", help="the condition sweep only")
    ap.add_argument("--tune", action="store_true", help="the sweep on the tuning seeds")
    ap.add_argument("--only", nargs="*", help="rows whose name contains one of these")
    ap.add_argument("--all", action="store_true", help="with --identity: every row")
    ap.add_argument("--heldout", action="store_true",
                    help="the held-out seeds (301-303), never tuned on: the sweep, or with "
                         "--identity / --tdoa their tables")
    ap.add_argument("--identity", action="store_true", help="voice identity off vs on")
    ap.add_argument("--tdoa", action="store_true", help="arrival-time cue off vs on")
    ap.add_argument("--device-check", action="store_true",
                    help="with --identity: also enrol each voice from a clip before the session")
    ap.add_argument("--gain-track", action="store_true",
                    help="the sweep with the per-mic gain track on (LGD_ACTIVITY_GAIN_TRACK)")
    args = ap.parse_args()
    if args.gain_track:
        global NO_ASR, HARD_SETTINGS
        NO_ASR = replace(NO_ASR, activity=replace(NO_ASR.activity, gain_track=True))
        default = Settings()
        HARD_SETTINGS = replace(default, activity=replace(default.activity, gain_track=True))
    if args.identity:
        sessions = (TUNE_IDENTITY if args.tune else HELDOUT_SESSIONS if args.heldout
                    else SWEEP_SESSIONS)
        identity_table(sessions, [] if args.all else args.only, args.device_check)
        return
    if args.tdoa:
        tdoa_table(TUNE_IDENTITY if args.tune else HELDOUT_SESSIONS if args.heldout
                   else SWEEP_SESSIONS, args.only)
        return
    if args.tune:
        sweep(TUNE_SESSIONS, args.only)
        return
    if args.heldout:  # the sweep on the held-out seeds: run once, after every choice
        sweep(HELDOUT_SESSIONS, args.only)
        return
    if not args.sweep:
        hard()
    sweep(SWEEP_SESSIONS, args.only)


if __name__ == "__main__":
    main()

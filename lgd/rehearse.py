"""The rehearsal commands: `lgd synth` scripts a discussion (espeak-ng voices, exact truth)
to try the product on, and `lgd demo` runs one live or offline and scores it against its
truth. The only product module that uses the test kit (tests/test_layout.py)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

Command = Callable[[argparse.Namespace], int]


def cmd_synth(args: argparse.Namespace) -> int:
    from testkit.synth import RoomConfig, role_session, synthesize_session, write_session

    room = RoomConfig(bleed_db=(args.bleed_db, args.bleed_db))
    if args.roles:
        session = role_session(args.language, args.seed, room=room)
    else:
        session = synthesize_session(args.speakers, args.language, args.seed, room,
                                     args.duration)
    paths = write_session(session, Path(args.out))
    tracks = " ".join(f"--track {pid}={p}" for pid, p in paths.items())
    print(f"wrote {len(paths)} tracks and truth.json to {args.out}\nanalyze with:\n"
          f"  lgd analyze {tracks} --out {Path(args.out) / 'report.json'}")
    return 0


def cmd_demo(args: argparse.Namespace, analyze: Command, simulate: Command) -> int:
    """Script a hard discussion, then run it live (one headless Chromium per candidate,
    dashboard link printed: `simulate`) or, with --offline, `analyze` its tracks; score
    against truth."""
    from testkit.evaluate import score_session
    from testkit.synth import RoomConfig, synthesize_session, write_session

    out = Path(args.out)
    session = synthesize_session(args.speakers, args.language, args.seed, RoomConfig(), 60.0)
    paths = write_session(session, out)
    tracks = [f"{pid}={p}" for pid, p in paths.items()]
    names = [f"{pid}={name}" for pid, name in session.participants]
    report_path = out / "report.json"
    if args.offline:
        ns = argparse.Namespace(
            track=tracks, name=names, out=str(report_path),
            session_id="demo", language=args.language, started_at=None,
            allow_rate_mismatch=False, pad_short=False,
        )
        rc = analyze(ns)
    else:
        print("open the dashboard link below in your browser; the candidates join in a few "
              "seconds", flush=True)
        ns = argparse.Namespace(
            track=tracks, name=names, video=None, language=args.language, server=None,
            hr_token=None, port=args.port, data_dir=None, out=str(report_path),
            linger=args.linger,
        )
        rc = simulate(ns)
    if rc:
        return rc
    report = json.loads(report_path.read_text())
    if args.offline:
        s = score_session(report, session.truth)
        print(
            f"against the script's truth: speech error {s.speech.error:.1%}, share error "
            f"{s.share_error_pp:.1f} pp, interruption F1 {s.interruptions.f1:.2f}, "
            f"backchannel F1 {s.backchannels.f1:.2f}"
        )
    else:
        from testkit.evaluate import share_error_pp

        err = share_error_pp(report["speaking_share"], session.truth["speaking_share"])
        print(f"live speaking share vs the script's truth: worst error {err:.1f} pp")
    return 0

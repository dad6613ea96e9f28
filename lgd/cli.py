"""`lgd` command line: analyze recordings, generate a scripted discussion, run the demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from lgd.settings import Settings


def _progress_bar(total_s: float):
    """A one-line progress bar on stderr for inputs long enough to wait for."""
    if total_s < 60 or not sys.stderr.isatty():
        return None
    started = time.monotonic()

    def show(done_s: float) -> None:
        frac = min(1.0, done_s / total_s)
        bar = "#" * int(frac * 30)
        speed = done_s / max(1e-6, time.monotonic() - started)
        sys.stderr.write(f"\r[{bar:<30}] {frac:4.0%} {done_s:6.0f}/{total_s:.0f} s  {speed:5.1f}x")
        if frac >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _parse_names(items: list[str], ids: list[str]) -> dict[str, str]:
    names = {pid: pid for pid in ids}
    for item in items:
        pid, sep, name = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"lgd: --name expects ID=NAME, got {item!r}")
        if pid not in names:
            raise SystemExit(f"lgd: --name {item!r}: no track with id {pid!r}")
        names[pid] = name
    return names


async def _blocks(samples: np.ndarray) -> AsyncIterator[np.ndarray]:
    from media.frames import iter_blocks

    for _, block in iter_blocks(samples):
        yield block


def cmd_analyze(args: argparse.Namespace) -> int:
    from lgd.bus import make_bus
    from lgd.pipeline import SessionInfo, analyze
    from media.files import AudioInputError, load_tracks, parse_track_args

    settings = Settings.from_env()
    if getattr(args, "asr", None) is not None:  # --asr / --no-asr beat LGD_ASR_ENABLED
        settings = replace(settings, asr=replace(settings.asr, enabled=args.asr))
    try:
        tracks = parse_track_args(args.track)
        loaded = load_tracks(
            tracks,
            allow_rate_mismatch=args.allow_rate_mismatch,
            pad_short=args.pad_short,
        )
    except AudioInputError as exc:
        print(f"lgd analyze: {exc}", file=sys.stderr)
        return 2
    for note in loaded.notes:
        print(f"lgd analyze: note: {note}", file=sys.stderr)
    names = _parse_names(args.name or [], loaded.ids)
    info = SessionInfo(
        id=args.session_id or Path(args.out).stem,
        participants=[(pid, names[pid]) for pid in loaded.ids],
        language=args.language or settings.language,
        started_at=args.started_at or datetime.now(UTC).isoformat(timespec="seconds"),
    )

    async def run() -> dict:
        bus = make_bus(settings.redis_url)
        try:
            return await analyze(
                info,
                _blocks(loaded.samples),
                settings,
                bus=bus,
                on_progress=_progress_bar(loaded.duration_s),
            )
        finally:
            await bus.close()

    report = asyncio.run(run())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(_summary(report))
    print(f"report written to {out}")
    return 0


def _summary(report: dict) -> str:
    rows = [f"{'id':<8}{'name':<12}{'speech s':>9}{'share':>7}{'turns':>6}{'int.made':>9}"
            f"{'(succ.)':>8}{'int.recv':>9}{'backch.':>8}"]
    ints, bcs = report["interruptions"], report["backchannels"]
    for p in report["participants"]:
        pid = p["id"]
        made = [i for i in ints if i["by"] == pid]
        rows.append(
            f"{pid:<8}{p['name'][:11]:<12}{report['speaking_time_s'][pid]:>9.1f}"
            f"{report['speaking_share'][pid]:>7.1%}{report['turn_counts'].get(pid, 0):>6}"
            f"{len(made):>9}{sum(i['successful'] for i in made):>8}"
            f"{sum(i['of'] == pid for i in ints):>9}{sum(b['who'] == pid for b in bcs):>8}"
        )
    return "\n".join(rows)


def cmd_synth(args: argparse.Namespace) -> int:
    from lgd.synth import RoomConfig, synthesize_session, write_session

    room = RoomConfig(bleed_db=(args.bleed_db, args.bleed_db))
    session = synthesize_session(args.speakers, args.language, args.seed, room, args.duration)
    paths = write_session(session, Path(args.out))
    tracks = " ".join(f"--track {pid}={p}" for pid, p in paths.items())
    print(f"wrote {len(paths)} tracks and truth.json to {args.out}\nanalyze with:\n"
          f"  lgd analyze {tracks} --out {Path(args.out) / 'report.json'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate a hard scripted discussion, analyze it, and score it against its truth."""
    from lgd.evaluate import score_session
    from lgd.synth import RoomConfig, synthesize_session, write_session

    out = Path(args.out)
    session = synthesize_session(args.speakers, args.language, args.seed, RoomConfig(), 90.0)
    paths = write_session(session, out)
    ns = argparse.Namespace(
        track=[f"{pid}={p}" for pid, p in paths.items()],
        name=[f"{pid}={name}" for pid, name in session.participants],
        out=str(out / "report.json"),
        session_id="demo", language=args.language, started_at=None,
        allow_rate_mismatch=False, pad_short=False,
    )
    rc = cmd_analyze(ns)
    if rc:
        return rc
    report = json.loads((out / "report.json").read_text())
    s = score_session(report, session.truth)
    print(
        f"against the script's truth: speech error {s.speech.error:.1%}, share error "
        f"{s.share_error_pp:.1f} pp, interruption F1 {s.interruptions.f1:.2f}, "
        f"backchannel F1 {s.backchannels.f1:.2f}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lgd", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="analyze per-candidate recordings into an lgd.report/1")
    a.add_argument("--track", action="append", required=True, metavar="ID=FILE",
                   help="one candidate's own microphone recording (repeat per candidate)")
    a.add_argument("--name", action="append", metavar="ID=NAME", help="display name")
    a.add_argument("--out", required=True, help="report JSON path")
    a.add_argument("--session-id", help="default: the report file's stem")
    a.add_argument("--language", help="session language, e.g. zh or en (default LGD_LANGUAGE)")
    a.add_argument("--started-at", help="ISO-8601 session start (default: now)")
    a.add_argument("--allow-rate-mismatch", action="store_true",
                   help="accept tracks recorded at different sample rates")
    a.add_argument("--pad-short", action="store_true",
                   help="pad tracks shorter than the longest with silence")
    a.add_argument("--asr", action=argparse.BooleanOptionalAction, default=None,
                   help="transcribe and tag discourse acts (default: LGD_ASR_ENABLED, on)")
    a.set_defaults(func=cmd_analyze)

    s = sub.add_parser("synth", help="generate a scripted discussion (espeak-ng) with truth")
    s.add_argument("--out", required=True)
    s.add_argument("--speakers", type=int, default=4)
    s.add_argument("--language", default="zh", choices=["zh", "en"])
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--duration", type=float, default=90.0)
    s.add_argument("--bleed-db", type=float, default=-12.0)
    s.set_defaults(func=cmd_synth)

    d = sub.add_parser("demo", help="synthesize a hard discussion, analyze it, score it")
    d.add_argument("--out", default="out/demo")
    d.add_argument("--speakers", type=int, default=5)
    d.add_argument("--language", default="zh", choices=["zh", "en"])
    d.add_argument("--seed", type=int, default=7)
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # settings errors and the like: a message, not a traceback
        print(f"lgd {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""`lgd` command line: analyze recordings, export portraits, generate a scripted discussion,
run the demo."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from analysis.settings import Settings
from lgd import rehearse


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


def cmd_reanalyse(args: argparse.Namespace) -> int:
    """`lgd analyze --session ID`: the session's recordings through the current pipeline,
    kept as a new report version; prints the diff against the live report (v1)."""
    from server import versions
    from server.audit import AuditLog
    from server.reanalysis import ReanalysisError, reanalyse
    from server.store import SessionStore
    from server.vault import VaultError, load_vault

    settings = _server_settings(args)
    if getattr(args, "asr", None) is not None:
        settings = replace(settings, asr=replace(settings.asr, enabled=args.asr))
    try:
        store = SessionStore(settings.data_dir, load_vault(settings.kek_file, settings.kek))
        report = reanalyse(store, args.session, settings)
    except KeyError:
        print(f"lgd analyze: no session {args.session!r} in {settings.data_dir}",
              file=sys.stderr)
        return 2
    except (ReanalysisError, VaultError) as exc:
        print(f"lgd analyze: {exc}", file=sys.stderr)
        return 2
    n = versions.add(store, args.session, report, "reanalysis")
    AuditLog(Path(settings.data_dir) / "audit.jsonl").record(
        {"role": "operator", "via": "lgd analyze"}, "report.reanalyse", session=args.session,
        version=n)
    print(_summary(report))
    live = store.report(args.session) or report
    print(json.dumps({"version": n, "diff_against_v1": versions.diff(live, report)},
                     ensure_ascii=False, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


def _voice_clips(items: list[str], ids: list[str]) -> dict[str, np.ndarray]:
    """``--voice ID=FILE`` items → {id: (samples,) float32 16 kHz}, each a known candidate
    with at least one 1.6 s window of audio."""
    from diarize.voiceprint import WINDOW_SAMPLES
    from media.files import AudioInputError, decode_audio, parse_track_args

    try:
        paths = parse_track_args(items)
    except AudioInputError as exc:
        raise AudioInputError(str(exc).replace("--track", "--voice"), exc.path) from None
    out = {}
    for who, path in paths.items():
        if who not in ids:
            raise ValueError(f"--voice {who}={path}: no track has the id {who!r} "
                             f"(tracks: {', '.join(ids)})")
        clip = decode_audio(path).samples
        if len(clip) < WINDOW_SAMPLES:
            raise ValueError(f"--voice {who}={path}: {len(clip) / 16000:.1f} s of audio; a "
                             f"voice clip needs at least {WINDOW_SAMPLES / 16000:.1f} s")
        out[who] = clip
    return out


def cmd_analyze(args: argparse.Namespace) -> int:
    from analysis.driver import analyze

    if args.session:
        return cmd_reanalyse(args)
    if not args.track or not args.out:
        print("lgd analyze: --track ID=FILE (repeated) and --out, or --session ID",
              file=sys.stderr)
        return 2
    from core.bus import make_bus
    from core.session import SessionInfo
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
    profile = None
    if getattr(args, "profile", None):
        from hr.profiles import ProfileError, find_profile

        try:
            profile = find_profile(args.profile, settings.hr_profiles)
        except ProfileError as exc:
            print(f"lgd analyze: {exc}", file=sys.stderr)
            return 2
    try:
        voices = _voice_clips(getattr(args, "voice", None) or [], loaded.ids)
    except (AudioInputError, ValueError) as exc:
        print(f"lgd analyze: {exc}", file=sys.stderr)
        return 2
    if voices:  # clips of the voices alone are given to be used: identity on
        settings = replace(settings, activity=replace(settings.activity, identity=True))
    names = _parse_names(args.name or [], loaded.ids)
    info = SessionInfo(
        id=args.session_id or Path(args.out).stem,
        participants=[(pid, names[pid]) for pid in loaded.ids],
        language=args.language or settings.language,
        started_at=args.started_at or datetime.now(UTC).isoformat(timespec="seconds"),
        affect=getattr(args, "affect", None),
    )
    from core import policy

    videos = getattr(args, "video", None) or []
    if videos and not policy.computes_affect(policy.resolve(settings.affect_analysis,
                                                            info.affect)):
        print("lgd analyze: note: --video ignored: the affect-analysis policy is 'off' "
              "(--affect observe|score or LGD_AFFECT_ANALYSIS to analyse faces)",
              file=sys.stderr)
        videos = []
    try:
        frames = _video_frames(videos, loaded.ids, settings)
    except ValueError as exc:
        print(f"lgd analyze: {exc}", file=sys.stderr)
        return 2

    async def run() -> dict:
        bus = make_bus(settings.redis_url)
        try:
            return await analyze(
                info,
                _blocks(loaded.samples),
                settings,
                bus=bus,
                on_progress=_progress_bar(loaded.duration_s),
                frames=frames,
                voices=voices,
            )
        finally:
            await bus.close()

    from hr.fit import with_fit

    report = with_fit(asyncio.run(run()), profile)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(_summary(report))
    print(f"report written to {out}")
    return 0


def _video_frames(items: list[str], ids: list[str], settings: Settings):
    """--video ID=FILE → one time-ordered stream of sampled frames (None without video)."""
    if not items:
        return None
    from media.video import merged, sample_frames

    streams = {}
    for item in items:
        pid, sep, path = item.partition("=")
        if not sep or not path:
            raise ValueError(f"--video expects ID=FILE, got {item!r}")
        if pid not in ids:
            raise ValueError(f"--video {item!r}: no audio track with id {pid!r}")
        if not Path(path).is_file():
            raise ValueError(f"--video {item!r}: no such file")
        streams[pid] = sample_frames(path, settings.face.fps)
    return merged(streams)


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


def _server_settings(args: argparse.Namespace) -> Settings:
    import dataclasses

    settings = Settings.from_env()
    over = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    if getattr(args, "data_dir", None):
        settings = dataclasses.replace(settings, data_dir=Path(args.data_dir))
    return dataclasses.replace(settings, server=dataclasses.replace(settings.server, **over))


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from server.app import (
        SERVER_KEY,
        DataDirInUse,
        make_app,
        write_private,
    )

    os.umask(0o077)  # sessions, logs, reports: this user's only (files 0600, dirs 0700)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = _server_settings(args)
    try:
        app = make_app(settings)
    except DataDirInUse as exc:
        print(f"lgd serve: {exc}", file=sys.stderr)
        return 2
    # the HR token goes to a private file, never to the terminal's scrollback or a log
    token_file = Path(settings.data_dir) / "hr-token"
    write_private(token_file, app[SERVER_KEY].token("hr") + "\n")
    scheme = "https" if settings.server.tls_cert else "http"
    print(f"lgd serving on {scheme}://{settings.server.host}:{settings.server.port}  "
          f"(data in {settings.data_dir})\nHR token (create sessions): in {token_file} "
          "(readable by this user only; `lgd token --role hr` mints another)", flush=True)
    asyncio.run(_serve(app, settings))
    return 0


async def _serve(app: Any, settings: Settings) -> None:
    """Run until SIGINT (live sessions end at once, with their reports) or until a SIGTERM
    drain is over (`Server.drain`: no new sessions, live ones go on until they end or
    `LGD_SERVER_DRAIN_S` passes)."""
    import signal

    from aiohttp import web

    from server.app import SERVER_KEY, RedactedAccessLogger, ssl_context

    server = app[SERVER_KEY]
    runner = web.AppRunner(app, handle_signals=False, access_log_class=RedactedAccessLogger)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.server.host, settings.server.port,
                           ssl_context=ssl_context(settings))
        await site.start()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, server.drain)
        stopped = asyncio.ensure_future(stop.wait())
        drained = asyncio.ensure_future(server.drained.wait())
        await asyncio.wait([stopped, drained], return_when=asyncio.FIRST_COMPLETED)
        for t in (stopped, drained):
            t.cancel()
    finally:
        await runner.cleanup()


def cmd_worker(args: argparse.Namespace) -> int:
    from analysis.worker_redis import run_worker

    settings = _server_settings(args)
    if not settings.redis_url:
        raise ValueError("a worker takes sessions from Redis: set LGD_REDIS_URL")
    run_worker(settings, args.name)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """`new`: a KEK in a private file. `rotate`: every session's data key re-wrapped under
    the new KEK (the data is not touched); then point LGD_KEK_FILE at the new file."""
    from server.app import write_private
    from server.store import SessionStore
    from server.vault import VaultError, load_vault, new_kek

    if args.action == "new":
        if not args.out:
            raise SystemExit("lgd keys new: --out FILE")
        if Path(args.out).exists():
            raise SystemExit(f"lgd keys new: {args.out} exists (a KEK is never overwritten)")
        write_private(Path(args.out), new_kek() + "\n")
        print(f"wrote a new KEK to {args.out}: keep a copy offline; without it the sessions "
              "sealed under it cannot be read")
        return 0
    if not args.new_kek_file:
        raise SystemExit("lgd keys rotate: --new-kek-file FILE")
    settings = _server_settings(args)
    try:
        store = SessionStore(settings.data_dir, load_vault(settings.kek_file, settings.kek))
        new = load_vault(Path(args.new_kek_file), None)
        assert new is not None
        n = store.rotate(new)
    except VaultError as exc:
        print(f"lgd keys rotate: {exc}", file=sys.stderr)
        return 2
    print(f"re-wrapped {n} session keys under {args.new_kek_file}; set LGD_KEK_FILE to it")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from server.app import _load_secret
    from server.tokens import Claims, issue

    settings = _server_settings(args)
    secret = settings.server.secret or _load_secret(Path(settings.data_dir))
    exp = time.time() + args.ttl
    print(issue(secret, Claims(args.role, args.session, args.who, exp)))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    import dataclasses

    from lgd import simulate
    from media.files import AudioInputError, parse_track_args

    try:
        tracks = parse_track_args(args.track)
    except AudioInputError as exc:
        print(f"lgd simulate: {exc}", file=sys.stderr)
        return 2
    names = _parse_names(args.name or [], list(tracks))
    videos = {}
    for item in args.video or []:
        pid, sep, path = item.partition("=")
        if not sep or pid not in names or not Path(path).is_file():
            raise SystemExit(f"lgd simulate: --video expects ID=FILE.y4m of a track, got {item!r}")
        videos[pid] = Path(path)
    out = Path(args.out) if args.out else None
    language = args.language or Settings.from_env().language

    def show(sim: simulate.Simulation) -> None:
        print(f"dashboard: {sim.session['links']['dashboard']}", flush=True)

    async def run_local() -> dict:
        from aiohttp import web

        from server.app import SERVER_KEY, make_app

        settings = _server_settings(args)
        settings = dataclasses.replace(
            settings, server=dataclasses.replace(settings.server, ice_host_addresses="127.0.0.1")
        )
        app = make_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port or 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        try:
            return await simulate.run(url, app[SERVER_KEY].token("hr"), tracks, names, videos,
                                      language, out, show)
        finally:
            if args.linger:
                print(f"session ended; dashboard stays up for {args.linger:.0f} s", flush=True)
                await asyncio.sleep(args.linger)
            await runner.cleanup()

    if args.server:
        if not args.hr_token:
            raise SystemExit("lgd simulate: --server needs --hr-token (see `lgd token`)")
        report = asyncio.run(simulate.run(args.server.rstrip("/"), args.hr_token, tracks, names,
                                          videos, language, out, show))
    else:
        report = asyncio.run(run_local())
    print(_summary(report))
    if out:
        print(f"report written to {out}")
    return 0


def _load_report(ref: str, settings: Settings) -> dict:
    """A report path, or a session id kept at <data_dir>/sessions/<id>/report.json."""
    from server.store import SessionStore, valid_id
    from server.vault import VaultError, load_vault

    path = Path(ref)
    try:
        if path.is_file():
            report = json.loads(path.read_text(encoding="utf-8"))
        else:
            store = SessionStore(settings.data_dir, load_vault(settings.kek_file, settings.kek))
            found = store.report(ref) if valid_id(ref) else None
            if found is None:
                raise SystemExit(f"lgd export: {ref!r} is neither a report file nor a session "
                                 f"in {settings.data_dir / 'sessions'}")
            report = found
    except (OSError, json.JSONDecodeError, VaultError) as exc:
        raise SystemExit(f"lgd export: cannot read {ref}: {exc}") from None
    if not isinstance(report, dict) or "portraits" not in report:
        raise SystemExit(f"lgd export: {path} is not an lgd.report/1 document")
    return report


def cmd_export(args: argparse.Namespace) -> int:
    from hr import export

    report = _load_report(args.report, Settings.from_env())
    pid = args.candidate
    if pid is not None and pid not in report["portraits"]:
        raise SystemExit(f"lgd export: no candidate {pid!r} (have "
                         f"{', '.join(report['portraits'])})")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "json":
        out.write_text(export.portraits_json(report), encoding="utf-8")
    elif args.format == "csv":
        out.write_text(export.portraits_csv(report), encoding="utf-8")
    else:
        if args.feedback and pid is None:
            raise SystemExit("lgd export: --feedback needs --candidate")
        html = (export.render_feedback_html(report, pid) if args.feedback
                else export.render_report_html(report, pid))
        if args.format == "html":
            out.write_text(html, encoding="utf-8")
        else:
            try:
                export.render_pdf(html, out)
            except RuntimeError as exc:
                print(f"lgd export: {exc}", file=sys.stderr)
                return 2
    print(f"{args.format} written to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lgd", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="analyze per-candidate recordings into an lgd.report/1")
    a.add_argument("--track", action="append", metavar="ID=FILE",
                   help="one candidate's own microphone recording (repeat per candidate)")
    a.add_argument("--session", metavar="ID",
                   help="re-analyse a recorded session of the server's data dir instead: "
                        "a new report version, the live one kept (needs the KEK)")
    a.add_argument("--data-dir", help="with --session: the server's data dir "
                   "(default LGD_DATA_DIR)")
    a.add_argument("--name", action="append", metavar="ID=NAME", help="display name")
    a.add_argument("--voice", action="append", metavar="ID=FILE",
                   help="a clip of that candidate's voice alone (a device check, >= 1.6 s): "
                        "turns voice identity on and enrols their voice before the session")
    a.add_argument("--out", help="report JSON path (required with --track)")
    a.add_argument("--session-id", help="default: the report file's stem")
    a.add_argument("--language", help="session language, e.g. zh or en (default LGD_LANGUAGE)")
    a.add_argument("--started-at", help="ISO-8601 session start (default: now)")
    a.add_argument("--allow-rate-mismatch", action="store_true",
                   help="accept tracks recorded at different sample rates")
    a.add_argument("--pad-short", action="store_true",
                   help="pad tracks shorter than the longest with silence")
    a.add_argument("--video", action="append", metavar="ID=FILE",
                   help="a candidate's camera recording (y4m/webm/mp4), same start as the audio")
    a.add_argument("--affect", choices=["off", "observe", "score"],
                   help="affect-analysis policy for this session (default LGD_AFFECT_ANALYSIS)")
    a.add_argument("--asr", action=argparse.BooleanOptionalAction, default=None,
                   help="transcribe and tag discourse acts (default: LGD_ASR_ENABLED, on)")
    a.add_argument("--profile", metavar="ID|FILE.yaml",
                   help="a job profile (client_manager, risk_control, operations, one of "
                        "LGD_HR_PROFILES, or a file): adds each candidate's overall fit")
    a.set_defaults(func=cmd_analyze)

    s = sub.add_parser("synth", help="generate a scripted discussion (espeak-ng) with truth")
    s.add_argument("--out", required=True)
    s.add_argument("--speakers", type=int, default=4)
    s.add_argument("--language", default="zh", choices=["zh", "en"])
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--duration", type=float, default=90.0)
    s.add_argument("--bleed-db", type=float, default=-12.0)
    s.add_argument("--roles", action="store_true",
                   help="the 4-candidate role script (leader, supporter, interrupter, quiet) "
                   "with its acts in truth.json; ignores --speakers/--duration")
    s.set_defaults(func=rehearse.cmd_synth)

    e = sub.add_parser("export", help="export a report's portraits for HR (json|csv|html|pdf)")
    e.add_argument("report", help="REPORT.json, or a session id under <data_dir>/sessions/")
    e.add_argument("--format", required=True, choices=["json", "csv", "html", "pdf"])
    e.add_argument("--out", required=True)
    e.add_argument("--candidate", help="html/pdf: one candidate's page (default: comparison)")
    e.add_argument("--feedback", action="store_true",
                   help="html/pdf: the candidate-facing feedback page (needs --candidate)")
    e.set_defaults(func=cmd_export)

    d = sub.add_parser("demo", help="script a discussion and run it live with a dashboard")
    d.add_argument("--out", default="out/demo")
    d.add_argument("--offline", action="store_true", help="analyze the tracks, no browsers")
    d.add_argument("--port", type=int, default=8080, help="port of the demo server")
    d.add_argument("--linger", type=float, default=120.0,
                   help="keep the dashboard up this long after the discussion (s)")
    d.add_argument("--speakers", type=int, default=5)
    d.add_argument("--language", default="zh", choices=["zh", "en"])
    d.add_argument("--seed", type=int, default=7)
    d.set_defaults(func=functools.partial(
        rehearse.cmd_demo, analyze=cmd_analyze, simulate=cmd_simulate))

    v = sub.add_parser("serve", help="run the live server (rooms, dashboard, API)")
    v.add_argument("--host", help="default LGD_SERVER_HOST (127.0.0.1)")
    v.add_argument("--port", type=int, help="default LGD_SERVER_PORT (8080)")
    v.add_argument("--data-dir", help="default LGD_DATA_DIR (./data)")
    v.set_defaults(func=cmd_serve)

    w = sub.add_parser("worker", help="an analysis worker: takes live sessions from Redis "
                       "(LGD_REDIS_URL), resumes those of a worker that died")
    w.add_argument("--name", help="consumer name in the group (default: host-pid)")
    w.add_argument("--data-dir", help="default LGD_DATA_DIR (./data): where models unpack")
    w.set_defaults(func=cmd_worker)

    t = sub.add_parser("token", help="mint a token (HR: create sessions, export)")
    t.add_argument("--role", default="hr", choices=["hr", "assessor", "candidate"])
    t.add_argument("--session", help="session id (assessor, candidate)")
    t.add_argument("--who", help="candidate id (candidate)")
    t.add_argument("--ttl", type=float, default=24 * 3600.0, help="seconds")
    t.add_argument("--data-dir", help="default LGD_DATA_DIR (./data)")
    t.set_defaults(func=cmd_token)

    k = sub.add_parser("keys", help="encryption at rest: make a KEK, or rotate to a new one")
    k.add_argument("action", choices=["new", "rotate"])
    k.add_argument("--out", help="new: the file to write the KEK to (0600)")
    k.add_argument("--new-kek-file", help="rotate: the KEK that replaces LGD_KEK_FILE/LGD_KEK")
    k.add_argument("--data-dir", help="default LGD_DATA_DIR (./data)")
    k.set_defaults(func=cmd_keys)

    m = sub.add_parser("simulate", help="rehearse a discussion: one headless Chromium per track")
    m.add_argument("--track", action="append", required=True, metavar="ID=FILE",
                   help="a candidate's recording, played as their microphone")
    m.add_argument("--video", action="append", metavar="ID=FILE.y4m", help="fake camera")
    m.add_argument("--name", action="append", metavar="ID=NAME", help="display name")
    m.add_argument("--language", help="session language (default LGD_LANGUAGE)")
    m.add_argument("--server", help="a running lgd server (default: start one in-process)")
    m.add_argument("--hr-token", help="HR token for --server")
    m.add_argument("--port", type=int, help="port of the in-process server (default: any)")
    m.add_argument("--data-dir", help="default LGD_DATA_DIR (./data)")
    m.add_argument("--out", help="write the final report here")
    m.add_argument("--linger", type=float, default=0.0,
                   help="keep the in-process server up this long after the end (s)")
    m.set_defaults(func=cmd_simulate)
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

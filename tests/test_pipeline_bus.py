"""The same input gives the same events through the in-process bus and Redis Streams."""

import uuid

import numpy as np
import redis.asyncio as aioredis

from analysis.driver import SessionInfo, analyze
from analysis.settings import Settings
from benchmarks.sessions import make
from core.bus import InProcessBus, RedisStreamBus
from core.events import Interruption, SpeechEnded, Turn
from diarize.config import AsrConfig

REDIS_URL = "redis://127.0.0.1:6379/0"


async def _blocks(x: np.ndarray):
    for k in range(0, x.shape[1], 16000):
        yield x[:, k : k + 16000]


async def test_in_process_and_redis_buses_carry_identical_events():
    session = make(4, "en", 31)
    ids = [p for p, _ in session.participants]
    x = np.stack([session.tracks[p] for p in ids]).astype(np.float32)[:, : 16000 * 40]
    info = SessionInfo(
        "s-" + uuid.uuid4().hex[:8], session.participants, "en", "2026-11-25T00:00:00Z"
    )
    prefix = f"lgd-test-{uuid.uuid4().hex[:8]}:"
    local, remote = InProcessBus(), RedisStreamBus(REDIS_URL, prefix=prefix)
    try:
        # ASR off: utterances arrive when the worker finishes, so their place in the event
        # stream (not their content) depends on timing.
        quiet = Settings(asr=AsrConfig(enabled=False))
        report_local = await analyze(info, _blocks(x), quiet, bus=local)
        report_remote = await analyze(info, _blocks(x), quiet, bus=remote)
        topic = f"{info.id}.events"
        a, b = await local.events(topic), await remote.events(topic)
        assert a == b
        assert any(isinstance(e, SpeechEnded) for e in a)
        assert any(isinstance(e, Turn) for e in a)
        assert any(isinstance(e, Interruption) for e in a)
        assert report_local == report_remote
    finally:
        await local.close()
        await remote.close()
        r = aioredis.from_url(REDIS_URL)
        keys = await r.keys(prefix + "*")
        if keys:
            await r.delete(*keys)
        await r.aclose()

"""The event bus: topics of typed events, published once and read by any number of subscribers.

Two implementations behind one `Bus` protocol: `InProcessBus` for a single process and
tests, `RedisStreamBus` when stages or dashboards live in other processes. Both keep
every event of a topic (analysis events are never dropped), so a subscriber can start
from the beginning and catch up.

Shared semantics:
- order per topic is publish order; publish never waits for subscribers;
- a subscription's position is fixed when iteration starts (first ``__anext__``):
  ``from_start=True`` replays the whole topic, ``False`` yields only later events;
- after ``close()`` returns no subscriber yields again: blocked ones wake and end,
  ``publish``/``events`` raise RuntimeError;
- a Redis that goes away makes ``publish`` raise (the caller keeps and retries what it
  could not publish) while subscribers wait and resume after the last entry they saw.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from functools import partial
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core import codec
from core.events import Event

logger = logging.getLogger(__name__)
_CLOSED = object()  # what a subscriber's Redis command returns when close() cancelled it


class Bus(Protocol):
    async def publish(self, topic: str, event: Event) -> None: ...

    async def ping(self) -> None: ...

    def subscribe(self, topic: str, *, from_start: bool = True) -> AsyncGenerator[Event, None]: ...

    async def events(self, topic: str) -> list[Event]: ...

    async def retire(self, topic: str, after_s: float) -> None: ...

    async def close(self) -> None: ...


def make_bus(redis_url: str | None) -> Bus:
    """Redis Streams when a URL is given (multi-process), else in-process."""
    return RedisStreamBus(redis_url) if redis_url else InProcessBus()


class _Topic:
    __slots__ = ("events", "grew")

    def __init__(self) -> None:
        self.events: list[Event] = []  # append-only: a subscriber's cursor is an index
        # Replaced on every publish and the old one set, so waiters need no lock and a
        # publish never waits for anyone.
        self.grew = asyncio.Event()


class InProcessBus:
    """Per-topic append-only lists; subscribers share the event objects (no copies)."""

    def __init__(self) -> None:
        self._topics: dict[str, _Topic] = {}
        self._closed = False

    def _topic(self, name: str) -> _Topic:
        if (t := self._topics.get(name)) is None:
            t = self._topics[name] = _Topic()
        return t

    async def ping(self) -> None:
        _check_open(self._closed)

    async def publish(self, topic: str, event: Event) -> None:
        _check_open(self._closed)
        t = self._topic(topic)
        t.events.append(event)
        grew, t.grew = t.grew, asyncio.Event()
        grew.set()

    async def subscribe(
        self, topic: str, *, from_start: bool = True
    ) -> AsyncGenerator[Event, None]:
        t = self._topic(topic)
        i = 0 if from_start else len(t.events)
        while not self._closed:
            if i < len(t.events):
                yield t.events[i]
                i += 1
            else:
                await t.grew.wait()

    async def events(self, topic: str) -> list[Event]:
        _check_open(self._closed)
        return list(self._topic(topic).events)

    async def retire(self, topic: str, after_s: float) -> None:
        """Forget a finished topic after `after_s` (its events are in the session's log)."""
        asyncio.get_running_loop().call_later(after_s, self._topics.pop, topic, None)

    async def close(self) -> None:
        self._closed = True
        for t in self._topics.values():
            t.grew.set()  # not replaced: every waiter wakes, sees closed and ends


class RedisStreamBus:
    """One Redis stream per topic (key ``prefix + topic``), one field ``e`` = codec bytes.

    Each subscriber blocks in its own XREAD (a pooled connection per blocked reader).
    Subscribers' commands run as tasks owned by the bus so `close` can cancel them:
    redis-py drops a connection whose command was cancelled, so nothing half-read goes
    back to the pool. XREAD blocks for `block_ms` at most, never forever: redis-py's
    socket timeout (5 s by default) would otherwise kill every idle subscriber, and on
    Python 3.11 a cancel that lands while redis-py sends can be lost (asyncio.wait_for),
    so the bounded block is also what bounds `close`.
    """

    _BATCH = 512  # entries per XREAD/XRANGE round trip

    def __init__(
        self, url: str, *, prefix: str = "lgd:", maxlen: int | None = None, block_ms: int = 1000
    ) -> None:
        # RESP2 pinned: the XREAD reply shape differs under RESP3.
        self._redis = aioredis.from_url(url, protocol=2)
        socket_timeout = self._redis.connection_pool.connection_kwargs.get("socket_timeout")
        if block_ms <= 0 or (socket_timeout is not None and block_ms >= 1000 * socket_timeout):
            raise ValueError(
                f"block_ms={block_ms} must be > 0 and below socket_timeout={socket_timeout}s"
            )
        self._block_ms = block_ms
        self._prefix = prefix
        self._maxlen = maxlen  # None: never trimmed; else approximate (cheap) trimming
        self._reads: set[asyncio.Future[Any]] = set()
        self._closed = False

    def key(self, topic: str) -> str:
        return f"{self._prefix}{topic}"

    async def ping(self) -> None:
        """Raises when Redis cannot be reached."""
        _check_open(self._closed)
        await self._redis.ping()

    async def publish(self, topic: str, event: Event) -> None:
        _check_open(self._closed)
        await self._redis.xadd(
            self.key(topic), {b"e": codec.encode(event)}, maxlen=self._maxlen, approximate=True
        )

    async def subscribe(
        self, topic: str, *, from_start: bool = True
    ) -> AsyncGenerator[Event, None]:
        if self._closed:
            return
        key = self.key(topic)
        last: Any = "0-0"
        if not from_start:
            # Resolve "$" once: re-sending "$" on every XREAD would skip events
            # published between two reads.
            newest = await self._owned(partial(self._redis.xrevrange, key, count=1))
            if newest is _CLOSED:
                return
            last = newest[0][0] if newest else "0-0"
        pause = 0.25
        while not self._closed:
            xread = partial(self._redis.xread, {key: last}, count=self._BATCH, block=self._block_ms)
            try:
                reply = await self._owned(xread)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                # Redis is away: keep the subscriber, resume after the last entry it saw
                logger.warning("bus: reading %s failed (%r); retrying in %.2f s", key, exc, pause)
                await asyncio.sleep(pause)
                pause = min(2 * pause, 5.0)
                continue
            pause = 0.25
            if reply is _CLOSED:
                return
            for entry_id, fields in reply[0][1] if reply else ():  # [] when the block expired
                if self._closed:
                    return
                last = entry_id
                yield _decode_entry(key, entry_id, fields)

    async def _owned(self, command: Callable[[], Awaitable[Any]]) -> Any:
        """Run a subscriber's command as a task close() can cancel; _CLOSED if it did."""

        async def run() -> Any:
            # Built inside the task: a task cancelled before it starts then leaves no
            # never-awaited redis-py coroutine behind.
            return await command()

        task = asyncio.create_task(run())
        self._reads.add(task)
        try:
            await asyncio.wait((task,))  # unlike `await task`, tells close() from our own cancel
        finally:
            self._reads.discard(task)
            if not task.done():  # the consumer was cancelled: don't leave its command behind
                task.cancel()
                await asyncio.wait((task,))
        return _CLOSED if task.cancelled() else task.result()

    async def events(self, topic: str) -> list[Event]:
        _check_open(self._closed)
        key, start = self.key(topic), "-"
        out: list[Event] = []
        while rows := await self._xrange(key, start):
            out += [_decode_entry(key, i, f) for i, f in rows]
            start = "(" + rows[-1][0].decode()  # exclusive range (Redis ≥ 6.2)
        return out

    async def _xrange(self, key: str, start: str) -> Any:
        return await self._redis.xrange(key, start, "+", count=self._BATCH)

    async def retire(self, topic: str, after_s: float) -> None:
        """Let Redis drop a finished topic's stream after `after_s` (it is in the log)."""
        _check_open(self._closed)
        await self._redis.expire(self.key(topic), max(1, int(after_s)))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        reads = list(self._reads)
        for r in reads:
            r.cancel()
        await asyncio.gather(*reads, return_exceptions=True)
        await self._redis.aclose()


def _decode_entry(key: str, entry_id: bytes, fields: dict[bytes, bytes]) -> Event:
    data = fields.get(b"e")
    if data is None:
        raise ValueError(f"{key} entry {entry_id!r} has no 'e' field")
    return codec.decode(data)


def _check_open(closed: bool) -> None:
    if closed:
        raise RuntimeError("bus is closed")

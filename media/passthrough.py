"""Encoded-frame pass-through on top of aiortc 1.16 (see ../shared/NOTES.md, "SFU cost").

aiortc's receiver decodes every frame and each sender re-encodes it, so a relay costs
sources × receivers encodes and starves a 2-core machine at four browsers. Here a
receiver's decoder queue is replaced by a `Tap` that sees each *encoded* frame once: the
relay shares it as one `av.Packet` with every subscriber (the sender only re-packetizes),
and analysis decodes audio once per source. This touches aiortc internals (name-mangled
private attributes), so the version is pinned and `tests/test_sfu.py` covers it.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from typing import Any

import aioice.ice
import aiortc
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RtcpSrPacket

logger = logging.getLogger(__name__)

SUPPORTED_AIORTC = "1.16.0"

#: (codec name, 32-bit RTP timestamp unwrapped to int, payload bytes, arrival monotonic s)
OnFrame = Callable[[str, int, bytes, float], None]
#: an RTCP sender report: (RTP timestamp unwrapped as the frames' are, the sender's wall
#: clock at it in unix s, arrival monotonic s)
OnSenderReport = Callable[[int, float, float], None]
NTP_UNIX_OFFSET = 2_208_988_800  #: seconds from 1900 (NTP's epoch) to 1970


def check_version() -> None:
    if aiortc.__version__ != SUPPORTED_AIORTC:
        raise RuntimeError(
            f"media.passthrough is written against aiortc {SUPPORTED_AIORTC} internals, "
            f"found {aiortc.__version__}"
        )


class Tap:
    """Stands in for the receiver's decoder queue (`queue.Queue`: `put`, `get`).

    aiortc puts `(codec, JitterFrame)` for every complete encoded frame, on the event loop
    right after the packet arrived, so the arrival time taken here is the packet's.
    `forward` optionally hands frames on to aiortc's own decoder thread (video for the
    nonverbal stage), which then feeds the receiver's track as usual.
    """

    def __init__(self, on_frame: OnFrame, on_end: Callable[[], None], forward: bool) -> None:
        self._on_frame = on_frame
        self._on_end = on_end
        self._forward = forward
        self._decoder_q: queue.Queue[Any] = queue.Queue()

    def put(self, task: Any) -> None:
        if task is None:  # receiver stopped: end the decoder thread and tell the owner
            self._decoder_q.put(None)
            self._on_end()
            return
        codec, frame = task
        try:
            self._on_frame(codec.name, frame.timestamp, frame.data, time.monotonic())
        except Exception:  # a relay/analysis bug must not kill the receive path
            logger.exception("tap callback failed")
        if self._forward:
            self._decoder_q.put(task)

    def get(self, *args: Any, **kwargs: Any) -> Any:  # called by aiortc's decoder thread
        return self._decoder_q.get(*args, **kwargs)


class _Unwrapper:
    """RTP timestamps → a monotonic int, tolerant of reordering (aiortc's mapper treats
    any step back as a wrap)."""

    def __init__(self) -> None:
        self._last: int | None = None
        self._value = 0

    def map(self, timestamp: int) -> int:
        self._value, self._last = self.nearest(timestamp), timestamp
        return self._value

    def nearest(self, timestamp: int) -> int:
        """A 32-bit timestamp unwrapped near the latest one, without moving on (an RTCP
        report's timestamp is not a frame's)."""
        if self._last is None:
            return timestamp
        delta = (timestamp - self._last) & 0xFFFFFFFF
        if delta >= 1 << 31:
            delta -= 1 << 32
        return self._value + delta


class _PassThroughAudioBuffer:
    """An Opus RTP packet is a whole frame: hand it on at once. aiortc's audio jitter buffer
    stalls after a loss and adds 80 ms of prefetch (measured, NOTES.md)."""

    capacity = 1

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)


class _FixedRemb:
    """Announces a fixed receive bitrate. aiortc's estimator timestamps arrivals inside the
    Python loop, so loop lag reads as congestion and sources collapse to 30–80 kbps."""

    def __init__(self, bitrate: int) -> None:
        self.bitrate = bitrate
        self._last = 0.0

    def add(self, abs_send_time: int, arrival_time_ms: int, payload_size: int, ssrc: int):
        now = arrival_time_ms / 1000.0
        if now - self._last < 1.0:
            return None
        self._last = now
        return self.bitrate, [ssrc]


def install_tap(
    receiver: RTCRtpReceiver,
    on_frame: OnFrame,
    on_end: Callable[[], None],
    forward_to_decoder: bool,
    remb_bps: int,
    on_report: OnSenderReport | None = None,
) -> Tap:
    """Must run before the receiver starts (in `pc.on("track")`): the decoder thread takes
    its queue when the transport connects."""
    tap = Tap(on_frame, on_end, forward_to_decoder)
    r: Any = receiver
    unwrapper = _Unwrapper()
    r._RTCRtpReceiver__decoder_queue = tap
    r._RTCRtpReceiver__timestamp_mapper = unwrapper
    if on_report is not None:
        _tap_sender_reports(r, unwrapper, on_report)
    if r._RTCRtpReceiver__kind == "audio":
        r._RTCRtpReceiver__jitter_buffer = _PassThroughAudioBuffer()
    else:
        r._RTCRtpReceiver__remote_bitrate_estimator = _FixedRemb(remb_bps)
    return tap


def _tap_sender_reports(receiver: Any, unwrapper: _Unwrapper, on_report: OnSenderReport) -> None:
    """RTCP sender reports map the sender's RTP clock to its wall clock at capture (WebRTC
    stamps each frame with its capture time): aiortc keeps only the wall time; this hands
    on both, before aiortc handles the report as usual."""
    handle = receiver._handle_rtcp_packet

    async def handle_rtcp(packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            wall = (info.ntp_timestamp >> 32) - NTP_UNIX_OFFSET + (
                info.ntp_timestamp & 0xFFFFFFFF) / 2**32
            try:
                on_report(unwrapper.nearest(info.rtp_timestamp), wall, time.monotonic())
            except Exception:  # a timeline bug must not break the receive path
                logger.exception("sender report callback failed")
        await handle(packet)

    receiver._handle_rtcp_packet = handle_rtcp


async def request_keyframe(receiver: RTCRtpReceiver) -> None:
    """Send a PLI to the browser behind `receiver` (aiortc keeps this private)."""
    for source in receiver.getSynchronizationSources():
        await receiver._send_rtcp_pli(source.source)  # type: ignore[attr-defined]


def redirect_keyframe_requests(sender: RTCRtpSender, on_request: Callable[[], None]) -> None:
    """A pass-through sender cannot encode a keyframe: forward its subscriber's PLI/FIR."""
    sender._send_keyframe = on_request  # type: ignore[method-assign]


def use_host_addresses(addresses: list[str] | None) -> None:
    """Restrict (or, with 127.0.0.1, extend) the host candidates aioice gathers.

    aioice never offers loopback; tests and `lgd simulate` keep all traffic on 127.0.0.1.
    None restores the default (every non-loopback interface).
    """
    if addresses is None:
        aioice.ice.get_host_addresses = _default_host_addresses
    else:
        fixed = list(addresses)
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(fixed)


_default_host_addresses = aioice.ice.get_host_addresses

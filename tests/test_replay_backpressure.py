"""Five dashboards replaying an hour of events while a room talks (issue 14, "Must show").

Real server, four real WebRTC peers (a child process) sending speech through the relay,
five dashboard WebSockets reading 60 minutes of a session's events from the start. Every
dashboard gets every event, and the relay loses no packet meanwhile: none dropped from
its queues, none missing by sequence number at the receivers. The other requests' latency
during the replay is a timing figure: `benchmarks/replay_stall.py` prints it.
"""

from __future__ import annotations

import pytest

from benchmarks.replay_stall import run

pytestmark = pytest.mark.slow  # real WebRTC peers, an hour of events


async def test_five_dashboards_replaying_an_hour_while_the_relay_loses_nothing(tmp_path):
    r = await run(60, 5, pin=False, data=tmp_path)
    assert r["events_read"] == [r["events"]] * 5
    assert r["relay_dropped"] == 0 and r["relay_lost"] == 0, r
    # the relay kept forwarding during the replay (not a stalled room that drops nothing)
    assert r["relay_received"] > 0.9 * r["relay_expected"] > 0, r

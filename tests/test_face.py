"""Face and head cues with mediapipe's bundled face mesh on a real portrait with scripted
head motion: face found, nods counted, absent / dark / several faces / camera off reported."""

import numpy as np
import pytest

from diarize.config import AsrConfig, FaceConfig
from diarize.face import FaceAnalyzer
from testkit.synth.video import clip, face_photo, nod, shifted, still, write_y4m

NO_ASR = AsrConfig(enabled=False)  # speech-only: these tests are about the nonverbal stages

FPS = 4.0


@pytest.fixture(scope="module")
def photo():
    return face_photo()


@pytest.fixture(scope="module")
def nodding(photo):
    """8 s still, then 10 s nodding at 0.8 Hz (8 nods), one FaceAnalyzer run."""
    fa = FaceAnalyzer(["A"], FaceConfig(fps=FPS))
    motion = nod(rate_hz=0.8, amp_px=18, start_s=8.0)
    cues = []
    for t, frame in clip(photo, motion, FPS, 18.0):
        cues += fa.push_frame("A", t, frame)
    return cues + fa.flush()


def test_face_found_and_looking(nodding):
    assert nodding and all(c.status == "ok" for c in nodding)
    assert all(c.cues["present"] == 1.0 and c.cues["looking"] == 1.0 for c in nodding)
    assert all(0.0 <= c.cues[k] <= 1.0 for c in nodding for k in ("smile", "brow_tension"))


def test_nods_counted_from_synthetic_nodding(nodding):
    before = sum(c.cues["nod"] for c in nodding if c.at < 8.0)
    during = sum(c.cues["nod"] for c in nodding if c.at >= 8.0)
    assert before == 0
    assert 6 <= during <= 9  # 8 cycles; the first may be needed to lock on
    assert sum(c.cues["shake"] for c in nodding) == 0


def test_no_face_dark_and_several_faces_are_reported(photo):
    rng = np.random.default_rng(3)
    fa = FaceAnalyzer(["noise", "dark", "two"], FaceConfig(fps=FPS))
    two = np.concatenate([photo[:320, 80:340]] * 2, axis=1)  # two people in one picture
    cues = []
    for k in range(12):
        t = k / FPS
        cues += fa.push_frame("noise", t, rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
        cues += fa.push_frame("dark", t, np.full((480, 640, 3), 8, np.uint8))
        cues += fa.push_frame("two", t, two)
    cues += fa.flush()
    status = {c.who: {x.status for x in cues if x.who == c.who} for c in cues}
    assert status == {"noise": {"no_face"}, "dark": {"dark"}, "two": {"several_faces"}}
    assert all("smile" not in c.cues for c in cues)  # nothing made up without one face


def test_camera_off_and_never_on_are_reported_without_crashing(photo):
    fa = FaceAnalyzer(["on", "off"], FaceConfig(fps=FPS, camera_off_s=3.0))
    cues = []
    for t, frame in clip(photo, still(), FPS, 4.0):
        cues += fa.push_frame("on", t, frame)
        cues += fa.check_silence(t)
    for t in np.arange(4.0, 12.0, 0.5):  # "on" stops sending at 4 s
        cues += fa.check_silence(float(t))
    off = [c for c in cues if c.status == "camera_off"]
    assert {c.who for c in off} == {"on", "off"}
    assert min(c.at for c in off if c.who == "on") >= 3.75 + 3.0
    assert any(c.who == "on" and c.status == "ok" for c in cues)
    with pytest.raises(ValueError, match="uint8"):
        fa.push_frame("on", 13.0, np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError, match="unknown"):
        fa.push_frame("nobody", 13.0, photo)


def test_y4m_clip_decodes_to_frames_on_the_session_clock(photo, tmp_path):
    from media.video import sample_frames

    small = photo[::2, ::2]
    path = write_y4m(tmp_path / "a.y4m", (f for _, f in clip(small, nod(), 10, 3.0)), 10)
    frames = list(sample_frames(path, FPS, offset_s=1.0))
    times = [t for t, _ in frames]
    assert times[0] == pytest.approx(1.0) and len(frames) == 12
    assert np.allclose(np.diff(times), 1 / FPS, atol=0.051)
    assert frames[0][1].shape == (256, 256, 3) and frames[0][1].dtype == np.uint8

    def luma(x):
        return x.astype(float) @ [0.299, 0.587, 0.114]

    assert np.abs(luma(frames[0][1]) - luma(shifted(small, 0, 0))).mean() < 3  # same picture


def test_video_from_another_thread_while_audio_flows(photo):
    """The live tap calls feed_video from an executor while audio blocks are fed: both
    share the driver; a candidate whose camera stays off is reported, not a crash."""
    from concurrent.futures import ThreadPoolExecutor

    from analysis.driver import Analysis
    from analysis.settings import Settings
    from core.events import FaceCue
    from core.session import SessionInfo

    info = SessionInfo("t", [("a", "a"), ("b", "b")], "zh", "")
    p = Analysis(info, Settings(affect_analysis="observe", asr=NO_ASR))
    rng = np.random.default_rng(0)
    frames = list(clip(photo[::2, ::2], nod(start_s=1.0), FPS, 8.0))
    audio, video, pushed = [], [], 0
    with ThreadPoolExecutor(1) as pool:
        for t, f in frames:  # each frame is analysed while the audio up to it is pushed
            fut = pool.submit(p.feed_video, "a", t, f)
            while pushed * 0.02 < t + 0.25:
                audio += p.feed((0.01 * rng.standard_normal((2, 320))).astype(np.float32))
                pushed += 1
            video += fut.result()
    tail: list = []
    p.sink = tail.extend
    p.finish()
    cues = [e for e in audio + video + tail if isinstance(e, FaceCue)]
    assert {c.status for c in cues if c.who == "a"} == {"ok"}
    assert {c.status for c in cues if c.who == "b"} == {"camera_off"}

from pathlib import Path

import pytest

from analysis.settings import Settings, known_keys


def test_defaults_and_env_overrides():
    s = Settings.from_env({"LGD_DATA_DIR": "/tmp/x", "LGD_TURNS_BACKCHANNEL_MAX_S": "0.6",
                           "LGD_ACTIVITY_BRIDGE_S": "0.3", "PATH": "/bin"})
    assert s.data_dir == Path("/tmp/x")
    assert s.turns.backchannel_max_s == 0.6
    assert s.activity.bridge_s == 0.3
    assert s.redis_url is None and Settings.from_env({}).turns.backchannel_max_s == 0.8


def test_unknown_and_malformed_keys_fail_loudly():
    with pytest.raises(ValueError, match="LGD_TURNS_BACKCHANEL_MAX_S"):
        Settings.from_env({"LGD_TURNS_BACKCHANEL_MAX_S": "1"})
    with pytest.raises(ValueError, match="LGD_ACTIVITY_BRIDGE_S"):
        Settings.from_env({"LGD_ACTIVITY_BRIDGE_S": "soon"})
    assert "LGD_REDIS_URL" in known_keys()

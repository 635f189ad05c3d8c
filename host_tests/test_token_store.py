"""The token store on a host: tokens and the device code are their owner's alone (0600 files in
a 0700 directory, a planted link not followed), and `devauth run` starts the firmware with a
private umask for what MicroPython's os cannot chmod."""

import json
import os
import stat
import sys

from devauth.oauth import tokens
from devauth_tools import runner


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_token_files_are_0600_in_a_0700_directory_whatever_the_umask(tmp_path):
    state = str(tmp_path / "state")
    old = os.umask(0o022)
    try:
        os.mkdir(state, 0o755)  # made earlier, by an older version or by hand
        with open(state + "/token.json.tmp", "w") as f:  # a stale temporary file, 0644
            f.write("{}")
        tokens.write(state, tokens.TOKEN, {"access_token": "AT:+\u00e9", "expires_at": "soon"})
        tokens.write(state, tokens.PENDING, {"device_code": "DC"})
    finally:
        os.umask(old)
    assert mode(state) == 0o700
    assert mode(state + "/token.json") == 0o600 and mode(state + "/pending.json") == 0o600
    assert sorted(os.listdir(state)) == ["pending.json", "token.json"]
    assert tokens.load_token(state) is None  # "soon": set aside, and still private
    assert mode(state + "/token.json.corrupt") == 0o600


def test_a_planted_link_is_not_written_through(tmp_path):
    state = str(tmp_path / "state")
    tokens.makedirs(state)
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    os.symlink(str(victim), state + "/token.json.tmp")
    tokens.write(state, tokens.TOKEN, {"access_token": "AT"})
    assert victim.read_text() == "untouched"
    assert not os.path.islink(state + "/token.json") and mode(state + "/token.json") == 0o600


def test_the_firmware_is_started_with_a_private_umask(tmp_path, monkeypatch):
    out = tmp_path / "made.json"
    make = "import json; json.dump({}, open(%r, 'w'))" % str(out)
    old = os.umask(0o022)
    try:
        assert runner.launch([sys.executable, "-c", make]) == 0
    finally:
        os.umask(old)
    assert mode(str(out)) == 0o600
    assert json.loads(out.read_text()) == {}
    # run_firmware (tests, bench) too
    other = tmp_path / "other.txt"
    monkeypatch.setattr(
        runner,
        "firmware_command",
        lambda cfg, **kw: [sys.executable, "-c", make.replace(str(out), str(other))],
    )
    old = os.umask(0o022)
    try:
        assert runner.run_firmware("devauth.json").returncode == 0
    finally:
        os.umask(old)
    assert mode(str(other)) == 0o600

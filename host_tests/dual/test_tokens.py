"""devauth.oauth.tokens: a power cut at any step of a write leaves the old or the new file, on
a filesystem that renames over a file (LittleFS, POSIX) and on one that cannot (FAT); every
field is checked on reading. Runs on CPython and MicroPython."""

import os

from devauth.oauth import schema, tokens
from mptest import scratch

BASE = scratch("devauth-test-tokens")
OLD = {"access_token": "AT-old", "token_type": "Bearer", "refresh_token": "RT:+/é", "expires_at": 7}
NEW = {"access_token": "AT-new", "token_type": "Bearer", "refresh_token": "RT-2", "expires_at": 9}
_n = [0]


class Cut(Exception):
    """The power went."""


class CuttingOS:
    """`os` for devauth.oauth.tokens: the power goes instead of the `cut_at`-th change to the
    filesystem (rename, remove, sync); `fat` refuses to rename over an existing file."""

    def __init__(self, real, cut_at, fat):
        self._real = real
        self.cut_at = cut_at
        self.fat = fat
        self.steps = 0

    def __getattr__(self, name):
        return getattr(self._real, name)

    def _step(self):
        if self.steps == self.cut_at:
            raise Cut()
        self.steps += 1

    def rename(self, src, dst):
        if self.fat:
            try:
                self._real.stat(dst)
                raise OSError(17)  # EEXIST: FAT does not replace
            except OSError as e:
                if e.args and e.args[0] == 17:
                    raise
        self._step()
        self._real.rename(src, dst)

    def remove(self, path):
        self._step()
        self._real.remove(path)

    def sync(self):
        self._step()


def _state():
    _n[0] += 1
    path = "%s-%d-%d" % (BASE, os.getpid() if hasattr(os, "getpid") else 0, _n[0])
    tokens.delete(path, tokens.TOKEN)
    tokens.delete(path, tokens.TOKEN + ".corrupt")
    return path


def _cut_runs(fat):
    """Write NEW over OLD with the power cut at step 0, 1, 2 ... until a write completes."""
    real = tokens.os
    seen = []
    cut_at = 0
    while True:
        state = _state()
        tokens.write(state, tokens.TOKEN, OLD)
        fake = CuttingOS(real, cut_at, fat)
        tokens.os = fake
        try:
            tokens.write(state, tokens.TOKEN, NEW)
            done = True
        except Cut:
            done = False
        finally:
            tokens.os = real
        rec = tokens.load_token(state)
        assert rec in (OLD, NEW), "cut at step %d left %r" % (cut_at, rec)
        seen.append(rec["access_token"])
        if done:
            assert rec == NEW
            # after every cut the next write still works and wins
            return seen, fake.steps
        tokens.write(state, tokens.TOKEN, dict(NEW, access_token="AT-next"))
        assert tokens.load_token(state)["access_token"] == "AT-next"
        cut_at += 1


def test_a_power_cut_at_any_step_leaves_the_old_or_the_new_token_when_rename_replaces():
    seen, steps = _cut_runs(fat=False)
    assert seen[0] == "AT-old" and seen[-1] == "AT-new" and steps >= 2


def test_a_power_cut_at_any_step_leaves_the_old_or_the_new_token_on_fat():
    seen, steps = _cut_runs(fat=True)
    # FAT takes more steps (old file to .bak, new file in, .bak removed); every cut is covered
    assert seen[0] == "AT-old" and seen[-1] == "AT-new" and steps >= 4
    assert "AT-old" in seen[1:-1]  # cuts inside the swap, where only .bak held a token


def test_deleting_a_token_also_deletes_its_backup():
    state = _state()
    tokens.write(state, tokens.TOKEN, OLD)
    os.rename(state + "/token.json", state + "/token.json.bak")  # a cut mid-swap on FAT
    assert tokens.load_token(state) == OLD
    tokens.delete(state, tokens.TOKEN)  # sign-out: the token must not come back from .bak
    assert tokens.load_token(state) is None


def test_every_field_is_checked_and_a_bad_file_set_aside_in_one_line():
    state = _state()
    said = []
    tokens.write(state, tokens.TOKEN, dict(OLD, expires_at="soon"))
    assert tokens.load_token(state, said.append) is None
    assert said == [
        "%s/token.json expires_at is not a whole number: set aside as token.json.corrupt" % state
    ]
    assert tokens.load_token(state) is None  # set aside: not reported twice
    with open(state + "/token.json.corrupt") as f:
        assert "soon" in f.read()  # kept for a look, not deleted
    with open(state + "/token.json", "w") as f:
        f.write('{"access_token": ')
    assert tokens.load_token(state, said.append) is None
    assert said[1] == "%s/token.json is not valid JSON: set aside as token.json.corrupt" % state
    tokens.write(state, tokens.TOKEN, [1, 2])
    assert tokens.load_token(state, said.append) is None
    assert said[2].endswith("token.json is not a JSON object: set aside as token.json.corrupt")
    assert sorted(schema.SCHEMA) == sorted([tokens.TOKEN, tokens.PENDING, tokens.METADATA])
    assert schema.check(tokens.TOKEN, {"access_token": "x"}) is None  # optional fields
    assert schema.check(tokens.TOKEN, {"access_token": "x", "expires_at": True}) == (
        "expires_at is not a whole number"
    )
    assert schema.check(tokens.PENDING, {"device_code": "d"}) == "has no user_code"

"""The token store in `state_dir`: tokens, a pending sign-in and cached metadata, as JSON files.

Writing `name` (power-cut safe on LittleFS, FAT and POSIX):
1. the new content goes to `name.tmp`, which is flushed, fsync'd where `os` can (CPython) and
   closed; `os.sync()` where a MicroPython port has it (ESP32, RP2) pushes it to flash before
   the rename and after it;
2. `name.tmp` is renamed over `name` (POSIX and LittleFS replace atomically). FAT cannot rename
   over a file: there `name` is first renamed to `name.bak`, then `name.tmp` to `name`, then
   `name.bak` removed; until then a reader that finds no `name` takes `name.bak`.
So a cut at any point leaves the old content or the new, never none and never half of one.

Reading checks every field's type (devauth.oauth.schema; a file with valid JSON but a wrong
type would otherwise fail on every start): a file that does not parse or does not fit is
renamed `name.corrupt`, one line says so (through `say`), and it counts as absent.

On a host (CPython) the directory is made 0700 and every file 0600: they hold the refresh token
and the device code. MicroPython's `os` has no chmod (a board has no other local users; on the
unix port `devauth run` starts the firmware with umask 077).
"""

import json
import os

from devauth import unload

TOKEN = "token.json"  # access_token, token_type, refresh_token, scope, expires_at, obtained_at
PENDING = "pending.json"  # a device code being polled, so a reboot resumes it
METADATA = "metadata.json"  # discovered server metadata (RFC 8414)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def makedirs(path):
    """Create `path` and its parents (MicroPython's os has no makedirs); `path` itself 0700."""
    cur = "/" if path.startswith("/") else ""
    for part in path.split("/"):
        if part:
            cur += part
            if not _exists(cur):
                os.mkdir(cur)
            cur += "/"
    if hasattr(os, "chmod"):  # CPython; MicroPython's os has no chmod (nor other users)
        os.chmod(path, 0o700)


# os.sync() pushes writes to flash on the ports that have it (ESP32, RP2). A host (CPython)
# fsyncs the file instead: its os.sync() would flush every disk of the machine.
_SYNC = None if hasattr(os, "fsync") else getattr(os, "sync", None)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def write(state_dir, name, obj):
    """Write `obj` as JSON to state_dir/name, power-cut safe (see the module doc); -> the path."""
    makedirs(state_dir)  # 0700 first: no other user can reach a file inside, even for a moment
    path = state_dir + "/" + name
    tmp = path + ".tmp"
    _remove(tmp)  # a stale file (or a planted link) is replaced, never written through
    with open(tmp, "w") as f:
        if hasattr(os, "chmod"):
            os.chmod(tmp, 0o600)
        json.dump(obj, f)
        f.flush()
        if hasattr(os, "fsync"):
            os.fsync(f.fileno())
    if _SYNC:
        _SYNC()
    try:
        os.rename(tmp, path)
    except OSError:  # FAT cannot rename over an existing file: keep the old one as .bak
        bak = path + ".bak"
        _remove(bak)
        os.rename(path, bak)
        os.rename(tmp, path)
        if _SYNC:
            _SYNC()
        _remove(bak)
    if _SYNC:
        _SYNC()
    return path


def read(state_dir, name, say=None):
    """The checked JSON object in state_dir/name, or None (absent, or set aside as .corrupt).

    `say(line)` is told when a file is set aside. A `name.bak` (left by a cut in the middle of
    a FAT write) stands in for a missing `name`.
    """
    path = state_dir + "/" + name
    for p in (path, path + ".bak"):
        try:
            with open(p) as f:
                data = json.load(f)
        except OSError:
            continue
        except ValueError:
            data = None
        if data is None:
            fault = "is not valid JSON"
        else:  # the checker is loaded for this and unloaded: reads are rare, the heap is not
            from devauth.oauth import schema

            fault = schema.check(name, data)
            unload("devauth.oauth.schema")
        if fault is None:
            return data
        try:
            os.rename(p, path + ".corrupt")
        except OSError:
            _remove(p)
        if say is not None:
            # The fault names a field, never its value: these files hold secrets.
            say("%s %s: set aside as %s.corrupt" % (p, fault, name))
        return None
    return None


def delete(state_dir, name):
    path = state_dir + "/" + name
    for p in (path, path + ".bak", path + ".tmp"):
        _remove(p)


def record(token, now):
    """The stored form of a flow.Token; `now` is Unix time or None (clock not set)."""
    expires_at = None
    if token.expires_in is not None and now is not None:
        expires_at = now + token.expires_in
    return {
        "access_token": token.access_token,
        "token_type": token.token_type,
        "refresh_token": token.refresh_token,
        "scope": token.scope,
        "expires_at": expires_at,
        "obtained_at": now,
    }


def load_token(state_dir, say=None):
    return read(state_dir, TOKEN, say)

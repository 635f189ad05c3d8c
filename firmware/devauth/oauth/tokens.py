"""The token store in `state_dir`: tokens, a pending sign-in and cached metadata, as JSON files.

Writing `name` (power-cut safe on LittleFS, FAT and POSIX):
1. the new content goes to `name.tmp`, which is flushed, fsync'd where `os` can (CPython: the
   file, and the directory after each rename) and closed; `os.sync()` where a MicroPython port
   has it (ESP32, RP2) pushes it to flash before and after each rename;
2. `name.tmp` is renamed over `name` (POSIX and LittleFS replace atomically). FAT cannot rename
   over a file: there `name` is first renamed to `name.bak`, then `name.tmp` to `name`, then
   `name.bak` removed; until then a reader that finds no `name` takes `name.bak`.
So a cut at any point leaves the old content or the new, never none and never half of one.

Reading checks every field's type (a file with valid JSON but a wrong type would otherwise fail
on every start): a file that does not parse or does not fit is renamed `name.corrupt`, one line
says so (through `say`), and it counts as absent.

On a host (CPython) the directory is made 0700 and every file 0600: they hold the refresh token
and the device code. MicroPython's `os` has no chmod (a board has no other local users).
"""

import json
import os

TOKEN = "token.json"  # access_token, token_type, refresh_token, scope, expires_at, obtained_at
PENDING = "pending.json"  # a device code being polled, so a reboot resumes it
METADATA = "metadata.json"  # discovered server metadata (RFC 8414)

# The fields of each file, "name:kind", kind s (a non-empty string), i (a whole number) or o (an
# object), "!" when required; a field that is not required may also be null. One string each:
# tuples of tuples would cost the heap a few kilobytes for the same thing.
_SCHEMA = {
    TOKEN: "access_token:s! token_type:s refresh_token:s scope:s expires_at:i obtained_at:i",
    PENDING: "device_code:s! user_code:s! verification_uri:s! verification_uri_complete:s "
    "interval:i! expires_at:i!",
    # config: the fingerprint of the settings it was fetched under (devauth.oauth.discovery)
    METADATA: "issuer:s! config:s device_authorization_endpoint:s token_endpoint:s "
    "revocation_endpoint:s mtls_endpoint_aliases:o",
}


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


def _sync(state_dir):
    """Push what was written to the medium: fsync of the directory on a host (CPython),
    os.sync() where a MicroPython port has it (ESP32, RP2: flash)."""
    if hasattr(os, "fsync"):
        fd = os.open(state_dir, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    elif hasattr(os, "sync"):
        os.sync()


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def write(state_dir, name, obj):
    """Write `obj` as JSON to state_dir/name, power-cut safe (see the module doc); -> the path."""
    makedirs(state_dir)
    path = state_dir + "/" + name
    tmp = path + ".tmp"
    _remove(tmp)  # a stale or planted file (or link) is replaced, never written through
    host = hasattr(os, "fsync")  # CPython: the file is made 0600 (O_EXCL, no link followed)
    if host:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        f = os.fdopen(os.open(tmp, flags, 0o600), "w")
    else:
        f = open(tmp, "w")
    with f:
        json.dump(obj, f)
        f.flush()
        if host:
            os.fsync(f.fileno())
    _sync(state_dir)
    try:
        os.rename(tmp, path)
    except OSError:  # FAT cannot rename over an existing file: keep the old one as .bak
        bak = path + ".bak"
        _remove(bak)
        os.rename(path, bak)
        _sync(state_dir)
        os.rename(tmp, path)
        _sync(state_dir)
        _remove(bak)
    _sync(state_dir)
    return path


def check(name, data):
    """The first field of `data` that does not fit the schema of file `name`, as a phrase, or
    None when it fits (or `name` has no schema)."""
    if not isinstance(data, dict):
        return "is not a JSON object"
    for spec in _SCHEMA.get(name, "").split():
        key, kind = spec.split(":")
        v = data.get(key)
        if v is None:
            if kind[-1] == "!":
                return "has no %s" % key
            continue
        kind = kind[0]
        if kind == "s":
            if not isinstance(v, str) or not v:
                return "%s is not a non-empty string" % key
        elif kind == "i":
            if not isinstance(v, int) or isinstance(v, bool):
                return "%s is not a whole number" % key
        elif not isinstance(v, dict):
            return "%s is not an object" % key
    return None


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
        fault = "is not valid JSON" if data is None else check(name, data)
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

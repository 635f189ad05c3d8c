"""The token store in `state_dir`: tokens, a pending sign-in and cached metadata, as JSON files.

Every file is written to a temporary name, flushed, then renamed over the old one (POSIX rename
and LittleFS replace atomically), so a power cut leaves the old or the new file, never half of
one. A file that does not parse is set aside as `<name>.corrupt` and treated as absent.
"""

import json
import os

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
    """Create `path` and its parents (MicroPython's os has no makedirs)."""
    cur = "/" if path.startswith("/") else ""
    for part in path.split("/"):
        if part:
            cur += part
            if not _exists(cur):
                os.mkdir(cur)
            cur += "/"


def write(state_dir, name, obj):
    """Write `obj` as JSON to state_dir/name atomically; returns the path."""
    makedirs(state_dir)
    path = state_dir + "/" + name
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.flush()
    try:
        os.rename(tmp, path)
    except OSError:  # FAT cannot rename over an existing file
        os.remove(path)
        os.rename(tmp, path)
    return path


def read(state_dir, name):
    """The JSON object in state_dir/name, or None (absent, or corrupt and set aside)."""
    path = state_dir + "/" + name
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError:
        return None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        try:
            os.rename(path, path + ".corrupt")
        except OSError:
            pass
        return None
    return data


def delete(state_dir, name):
    try:
        os.remove(state_dir + "/" + name)
    except OSError:
        pass


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


def load_token(state_dir):
    data = read(state_dir, TOKEN)
    if data is None:
        return None
    if not isinstance(data.get("access_token"), str) or not data["access_token"]:
        delete(state_dir, TOKEN)
        return None
    return data

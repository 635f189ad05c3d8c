"""Keeps the token response in `state_dir/token.json`; a power cut never leaves half a file.

The file is written to a temporary name, flushed, then renamed over the old one (POSIX rename and
LittleFS replace atomically). The full token store (refresh, corruption handling) builds on this.
"""

import json
import os

FILE = "token.json"


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


def save(state_dir, token, obtained_at=None):
    """Write `token` (a flow.Token) atomically; returns the file path."""
    makedirs(state_dir)
    data = {
        "access_token": token.access_token,
        "token_type": token.token_type,
        "expires_in": token.expires_in,
        "refresh_token": token.refresh_token,
        "scope": token.scope,
        "obtained_at": obtained_at,
    }
    path = state_dir + "/" + FILE
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
        f.flush()
    try:
        os.rename(tmp, path)
    except OSError:  # FAT cannot rename over an existing file
        os.remove(path)
        os.rename(tmp, path)
    return path


def load(state_dir):
    """The saved token dict, or None when there is none or it does not parse."""
    try:
        with open(state_dir + "/" + FILE) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("access_token") else None

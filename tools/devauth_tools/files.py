"""Writing files that may hold secrets (private keys, client secrets), the one way the host
tools do it: a fresh file created with O_EXCL and O_NOFOLLOW (a planted link or an old file is
removed, never written through and never keeps its old mode) with the mode asked for, which
the umask can only tighten; directories for them made 0700."""

import os

PRIVATE = 0o600
PUBLIC = 0o644


def write_file(path, data, mode=PRIVATE):
    """Write `data` (bytes or str) to a new file at `path` created with `mode`."""
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            raise IsADirectoryError(path)
        os.remove(path)  # a link is removed itself, its target untouched
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def private_dir(path):
    """`path` (and missing parents) as a directory only its owner can enter."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    if os.path.islink(path):
        raise OSError("%s is a symbolic link, not a directory" % path)
    os.chmod(path, 0o700)
    return path

"""The HTTP response parser under atheris (coverage-guided, libFuzzer) for a bounded run.

The pytest test runs this file as a script for FUZZ_SECONDS (20 s; DEVAUTH_FUZZ_SECONDS to change
it) in a subprocess, starting from a small corpus of valid and hostile replies. The property is
the one of test_fuzz_http.py: a Response or NetworkError/ProtocolError, never another exception,
a bounded number of bytes read (any other outcome is a crash libFuzzer reports with its input).
Skipped, with the reason, only when atheris is not installed.
"""

import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FUZZ_SECONDS = int(os.environ.get("DEVAUTH_FUZZ_SECONDS", "20"))

SEEDS = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n0\r\nT: 1\r\n\r\n",
    b'HTTP/1.0 400 Bad\r\nConnection: close\r\n\r\n{"error": "slow_down"}',
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 X\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n",
]


def test_http_parser_under_atheris():
    import pytest

    try:
        import atheris  # noqa: F401
    except ImportError:
        pytest.skip("atheris is not installed (pip install atheris)")
    corpus = tempfile.mkdtemp(prefix="devauth-atheris-")
    for i, seed in enumerate(SEEDS):
        with open(os.path.join(corpus, "seed%d" % i), "wb") as f:
            f.write(seed)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, os.path.join(ROOT, "firmware")]))
    proc = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "-max_total_time=%d" % FUZZ_SECONDS,
            "-rss_limit_mb=2048",
            "-timeout=10",
            "-max_len=4096",
            "-print_final_stats=1",
            corpus,
        ],
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 120,
        env=env,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    runs = re.search(r"Done (\d+) runs in (\d+) second", out)
    assert runs, out[-2000:]
    print("atheris: %s runs in %s s" % runs.groups())
    assert int(runs.group(1)) > 1000, out[-2000:]


def _main():
    import atheris

    with atheris.instrument_imports(include=["devauth"]):
        import devauth.errors  # noqa: F401
        import devauth.net.http  # noqa: F401
    from devauth.errors import NetworkError, ProtocolError
    from fakes import ScriptedHTTP
    from test_fuzz_http import BOUND, Capped, check_response

    def one_input(data):
        fdp = atheris.FuzzedDataProvider(data)
        endless = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 32)) or None
        stream = Capped(fdp.ConsumeBytes(fdp.remaining_bytes()), endless=endless)
        client = ScriptedHTTP([stream])
        for _ in range(3):  # keep-alive: what is left is the next reply
            if client._io is None:
                break
            try:
                check_response(client.post_form("https://as.example.com/t", b"a=b"))
            except (NetworkError, ProtocolError):
                break
        if stream.consumed > BOUND:
            raise AssertionError("read %d bytes" % stream.consumed)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    shims = os.path.join(ROOT, "tools", "devauth_tools", "shims")
    sys.path[:0] = [shims, os.path.join(ROOT, "firmware"), HERE, os.path.join(HERE, "dual")]
    _main()

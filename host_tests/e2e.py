"""Helpers for the end-to-end tests: configs for the dev server, running the firmware on the
MicroPython unix port, and a scriptable hostile HTTPS server. CPython only."""

import contextlib
import json
import os
import socket
import ssl
import subprocess
import sys
import threading

from devauth_tools import runner
from devauth_tools.devconfig import SECRET, write_config  # noqa: F401 (re-exported for tests)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_stats(line):
    """The firmware's `stats: k=v ...` line -> dict (numbers as int, modules as a list)."""
    out = {}
    for kv in line[len("stats: ") :].split():
        k, v = kv.split("=", 1)
        out[k] = v.split(",") if k == "modules" else int(v)
    return out


class Run:
    """A finished firmware run: exit code, stdout lines, stderr, and the parsed stats line."""

    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.lines = [line for line in proc.stdout.splitlines() if line]
        self.stats = {}
        for line in self.lines:
            if line.startswith("stats: "):
                self.stats = parse_stats(line)

    def __repr__(self):
        return "exit %s\n%s\n%s" % (self.code, self.out, self.err)


_COMPILED = []


def compiled_firmware():
    """firmware/ precompiled with mpy-cross once per test session, as a board would run it."""
    if not _COMPILED:
        import tempfile

        out = tempfile.mkdtemp(prefix="devauth-mpy-")
        runner.compile_firmware(out)
        _COMPILED.append(out)
    return _COMPILED[0]


def run_firmware(config, heap=runner.DEFAULT_HEAP, timeout=120, firmware=None, **kw):
    """Run the precompiled firmware (or `firmware`, e.g. the source tree) with --once --stats."""
    firmware = firmware or compiled_firmware()
    proc = runner.run_firmware(
        config, once=True, heap=heap, stats=True, timeout=timeout, firmware=firmware, **kw
    )
    run = Run(proc)
    assert "Traceback" not in run.out + run.err, run
    return run


def run_firmware_on_cpython(config, timeout=120):
    """The same firmware/main.py on CPython, with the shims standing in for MicroPython modules."""
    code = "import sys; sys.path[:0] = [%r, %r]; import main; sys.exit(main.main(sys.argv[1:]))" % (
        os.path.join(ROOT, "tools", "devauth_tools", "shims"),
        os.path.join(ROOT, "firmware"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "--config", config, "--once", "--stats"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(proc)


class HostileServer:
    """HTTPS on 127.0.0.1 answering each request with `respond(path, index)`.

    `respond` returns bytes to send (the connection stays open for the next request), or a tuple
    ("close", bytes) to send then close, or ("stall", bytes) to send then hold the connection.
    """

    def __init__(self, pki, respond):
        self.respond = respond
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if "server_chain" in pki:  # one PEM file with the key and the certificate chain
            self.ctx.load_cert_chain(pki["server_chain"])
        else:
            self.ctx.load_cert_chain(pki["server_pem"], pki["server_key"])
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.base_url = "https://localhost:%d" % self.port
        self.requests = []
        self._stop = threading.Event()
        self._held = []

    def __enter__(self):
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.sock.close()
        for c in self._held:
            c.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            s = self.ctx.wrap_socket(conn, server_side=True)
            f = s.makefile("rb")
            while True:
                line = f.readline()
                if not line:
                    return
                path = line.split()[1].decode()
                length = 0
                while True:
                    h = f.readline()
                    if h in (b"\r\n", b""):
                        break
                    if h.lower().startswith(b"content-length:"):
                        length = int(h.split(b":")[1])
                body = f.read(length)
                self.requests.append((path, body))
                action = self.respond(path, len(self.requests) - 1)
                mode, data = action if isinstance(action, tuple) else ("keep", action)
                try:
                    s.sendall(data) if not callable(data) else data(s)
                except OSError:
                    return
                if mode == "close":
                    s.close()
                    return
                if mode == "stall":
                    self._held.append(s)
                    return
        except (OSError, ssl.SSLError, IndexError):
            conn.close()


def http_reply(status=200, body=b"{}", headers=()):
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    head = "HTTP/1.1 %d X\r\n" % status + "".join(h + "\r\n" for h in headers)
    return head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body


@contextlib.contextmanager
def dev_as_process(state, *flags):
    """`python -m devauth_tools.dev_as --port 0 --state-dir STATE FLAGS` as a process; yields
    (its first stdout line, server.json) and checks that it stops cleanly on SIGTERM."""
    tools = os.path.join(ROOT, "tools")
    env = dict(os.environ, PYTHONPATH=tools + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "devauth_tools.dev_as", "--port", "0", "--state-dir", state]
    proc = subprocess.Popen(
        cmd + list(flags), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        line = proc.stdout.readline().strip()
        with open(os.path.join(state, "server.json"), encoding="utf-8") as f:
            info = json.load(f)
        yield line, info
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()


@contextlib.contextmanager
def dev_as_servers(state_dir_of):
    """A starter of in-process `DevAS` servers (port 0, interval 1, quiet unless told otherwise);
    `state_dir_of(n)` names the n-th server's state directory. All stop on exit."""
    from devauth_tools.dev_as import DevAS

    servers = []

    def start(**opts):
        opts.setdefault("port", 0)
        opts.setdefault("interval", 1)
        opts.setdefault("quiet", True)
        srv = DevAS(state_dir_of(len(servers)), **opts).start()
        servers.append(srv)
        return srv

    try:
        yield start
    finally:
        for srv in servers:
            srv.stop()


def tls_context(srv, cert=None):
    """A CPython client context trusting the dev server's CA, presenting `cert` ("client",
    "wrong_client") from its PKI when given."""
    ctx = ssl.create_default_context(cafile=srv.pki["ca_pem"])
    if cert:
        ctx.load_cert_chain(srv.pki[cert + "_pem"], srv.pki[cert + "_key"])
    return ctx

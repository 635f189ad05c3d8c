"""`DevAS`: the dev authorization server in a background thread (the in-process API)."""

import json
import os
import shutil
import sys
import tempfile
import threading
import time

from devauth_tools.dev_as.clients import load_client_keys
from devauth_tools.dev_as.constants import (
    ACCESS_TOKEN_EXPIRES_IN,
    STATS_PATH,
    USER_AUTHZ_PATH,
)
from devauth_tools.dev_as.pages import create_app
from devauth_tools.dev_as.server import HANDSHAKE_TIMEOUT, _Server, _url, make_tls_context
from devauth_tools.dev_as.store import _Store
from devauth_tools.testca import load_or_make_pki


class DevAS:
    """The dev authorization server in a background thread.

    `state_dir`: where the PKI and `server.json` go (a temp dir, removed on stop, if None).
    Options are the command-line flags: `host`, `port` (0 = a free port), `auto_approve`
    (seconds after issue; None = only a person or `approve()` decides), `deny` (auto-approval
    denies), `interval`, `expires_in`, `no_interval`, `slow_down_every`, `fail_every`,
    `close_after_response`, `no_keep_alive`, `access_token_lifetime` (seconds, 3600),
    `mtls_port` (None: no second listener; 0 = a free port: an HTTPS listener that requires a
    client certificate, serves the same endpoints, is advertised as RFC 8705
    `mtls_endpoint_aliases`, and is then the only place `tls_client_auth` is accepted); also
    `advertise_host` (the host name in `base_url` and, besides localhost and 127.0.0.1, in the
    server certificate) and `quiet`.

    After `start()`: `port`, `base_url`, `mtls_port`, `mtls_base_url` (None without mTLS
    listener), `pki` (testca paths), `jwks` (the private_key_jwt clients' public JWK Set),
    `clients` (what `server.json` lists), `metadata()`.
    """

    def __init__(
        self,
        state_dir=None,
        *,
        host="127.0.0.1",
        port=8443,
        auto_approve=None,
        deny=False,
        interval=5,
        expires_in=600,
        no_interval=False,
        slow_down_every=None,
        fail_every=None,
        close_after_response=False,
        no_keep_alive=False,
        advertise_host="localhost",
        access_token_lifetime=ACCESS_TOKEN_EXPIRES_IN,
        mtls_port=None,
        quiet=False,
        log_stream=None,
    ):
        if deny and auto_approve is None:
            raise ValueError("deny needs auto_approve (it makes the auto-approval deny)")
        if close_after_response and no_keep_alive:
            raise ValueError("close_after_response and no_keep_alive exclude each other")
        for name, value in (("slow_down_every", slow_down_every), ("fail_every", fail_every)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        if int(access_token_lifetime) < 1:
            raise ValueError("access_token_lifetime must be at least 1")
        if mtls_port is not None and mtls_port < 0:
            raise ValueError("mtls_port must be 0 (a free port) or a port number")
        self.host = host
        self.requested_port = port
        self.advertise_host = advertise_host
        self._own_dir = state_dir is None
        self.state_dir = os.path.abspath(state_dir or tempfile.mkdtemp(prefix="devauth-dev-as-"))
        self.opts = {
            "auto_approve": auto_approve,
            "deny": deny,
            "interval": int(interval),
            "expires_in": int(expires_in),
            "no_interval": no_interval,
            "slow_down_every": slow_down_every,
            "fail_every": fail_every,
            "close_after_response": close_after_response,
            "no_keep_alive": no_keep_alive,
            "access_token_lifetime": int(access_token_lifetime),
            "mtls_port": mtls_port,
        }
        self._quiet = quiet
        self._log_stream = log_stream
        self._log_lock = threading.Lock()
        self.store = _Store(self.opts, self._log)
        self.app = create_app(self.store)
        self.port = None
        self.base_url = None
        self.mtls_port = None
        self.mtls_base_url = None
        self.pki = None
        self.jwks = None
        self.server_json = os.path.join(self.state_dir, "server.json")
        self._server = None
        self._thread = None
        self._mtls_server = None
        self._mtls_thread = None

    def _log(self, line):
        if self._quiet:
            return
        stream = self._log_stream or sys.stderr
        with self._log_lock:
            stream.write(f"dev-as: {line}\n")
            stream.flush()

    @property
    def clients(self):
        return {cid: c.describe() for cid, c in self.store.clients.items()}

    def start(self):
        if self._server is not None:
            return self
        os.makedirs(self.state_dir, exist_ok=True)
        hosts = ["localhost", "127.0.0.1"]
        if self.advertise_host not in hosts:
            hosts.append(self.advertise_host)
        self.pki = load_or_make_pki(self.state_dir, hosts)
        load_client_keys(self.store.clients, self.pki)
        with open(self.pki["jwks_json"], encoding="utf-8") as f:
            self.jwks = json.load(f)
        self._server = self._listen(self.requested_port, make_tls_context(self.pki), "main")
        self.port = self._server.port
        self.base_url = _url(self.advertise_host, self.port)
        self.store.base_url = self.base_url
        if self.opts["mtls_port"] is not None:
            try:
                ctx = make_tls_context(self.pki, require_client_cert=True)
                self._mtls_server = self._listen(self.opts["mtls_port"], ctx, "mtls")
            except OSError:
                self._server.server_close()
                self._server = None
                raise
            self.mtls_port = self._mtls_server.port
            self.mtls_base_url = _url(self.advertise_host, self.mtls_port)
            self.store.mtls_base_url = self.mtls_base_url
        self._write_server_json()
        self._thread = self._serve(self._server)
        if self._mtls_server is not None:
            self._mtls_thread = self._serve(self._mtls_server)
        return self

    def _listen(self, port, ctx, listener):
        try:
            return _Server(self.host, port, self.app, self.store, ctx, listener)
        except SystemExit as exc:  # werkzeug exits when it cannot bind
            raise OSError(f"dev-as: cannot listen on {self.host}:{port}") from exc

    def _serve(self, server):
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"dev-as:{server.port}",
            daemon=True,
        )
        thread.start()
        return thread

    def _write_server_json(self):
        info = {
            "base_url": self.base_url,
            "port": self.port,
            "ca_der": self.pki["ca_der"],
            "ca_pem": self.pki["ca_pem"],
            "pki": self.pki,
            "clients": self.clients,
            "jwks": self.jwks,
            **self.metadata(),
            "verification_uri": self.base_url + USER_AUTHZ_PATH,
            "stats_url": self.base_url + STATS_PATH,
            "mtls_port": self.mtls_port,
            "mtls_base_url": self.mtls_base_url,
            "access_token_lifetime": self.opts["access_token_lifetime"],
            "pid": os.getpid(),
        }
        tmp = self.server_json + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, self.server_json)

    def stop(self):
        server, self._server = self._server, None
        if server is None:
            return
        mtls, self._mtls_server = self._mtls_server, None
        pairs = [(server, self._thread)] + ([(mtls, self._mtls_thread)] if mtls else [])
        for srv, _ in pairs:
            srv.shutdown()  # the accept loop ends; serve_forever then joins connection threads
            srv.close_connections()
        for srv, thread in pairs:
            thread.join(timeout=HANDSHAKE_TIMEOUT + 5)
            srv.server_close()
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # observing and steering
    def stats(self):
        """Counters since start (every request counts, stats too): "connections",
        "tls_handshakes", "tls_handshake_failures", "requests", "device_authorizations",
        "token_requests", "revocation_requests" (requests to those endpoints), "tokens_issued",
        "refreshes" (refresh tokens used, so rotated), "revocations" (tokens revoked),
        "replays_rejected" (client assertions with a jti seen before), "slow_downs",
        "injected_failures", and "auth_methods": {method: successful client authentications}
        (e.g. {"private_key_jwt": 3}: one per request, each poll too)."""
        return self.store.stats()

    def metadata(self):
        """The RFC 8414 metadata document the well-known paths serve."""
        return self.store.metadata()

    def token_info(self, token):
        """What the server knows of an access or refresh token it issued, or None:
        {"token_type_hint", "active", "client_id", "scope", "expires_at" (access tokens)}."""
        return self.store.token_info(token)

    def approve(self, user_code):
        """Approve a pending user code (any case, dash optional) as a person on the page would."""
        self._decide(user_code, True)

    def deny(self, user_code):
        self._decide(user_code, False)

    def _decide(self, user_code, approved):
        status, _ = self.store.decide(user_code, approved)
        if status == "unknown":
            raise KeyError(f"unknown or expired user code {user_code!r}")
        if status != "pending":
            raise ValueError(f"user code {user_code!r} was already {status}")

    def pending_user_codes(self):
        """User codes issued, not expired and not yet decided, oldest first."""
        return self.store.pending_user_codes()

    def wait_for_user_code(self, timeout=10.0):
        """The newest pending user code, waiting up to `timeout` s for one; None if none came."""
        deadline = time.monotonic() + timeout
        with self.store.changed:
            while True:
                codes = self.store.pending_user_codes()
                if codes:
                    return codes[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.store.changed.wait(left)

"""`devauth check`: the firmware's own code on CPython against `devauth dev-as`, step by step, and
one FAIL line naming the cause and the fix for each kind of failure. CPython only."""

import os
import re
import socket
import time

import pytest
from devauth.config import AUTH_METHODS
from devauth_tools import check
from devauth_tools.dev_as import Client
from devauth_tools.devconfig import JWT_SECRET, SECRET, write_config

STEPS = ("config", "DNS", "TCP", "TLS", "device authorization", "first poll")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from devauth_tools.dev_as import DevAS

    with DevAS(str(tmp_path_factory.mktemp("as")), port=0, interval=1, quiet=True) as s:
        # A client the server knows but may not use the device grant (RFC 8628 §3.5:
        # unauthorized_client at the token endpoint).
        c = Client("no-device:grant+1", "none")
        c.grant_types = ("refresh_token",)
        s.store.clients[c.client_id] = c
        yield s


@pytest.fixture(scope="module")
def mtls_server(tmp_path_factory):
    """A dev server with an mTLS listener (it requires a client certificate)."""
    from devauth_tools.dev_as import DevAS

    with DevAS(
        str(tmp_path_factory.mktemp("mtls")), port=0, interval=1, mtls_port=0, quiet=True
    ) as s:
        yield s


def run(path, **kw):
    lines = []
    code = check.run(str(path), out=lines.append, **kw)
    text = "\n".join(lines)
    assert "Traceback" not in text
    return code, lines, text


def status(lines, step):
    """The verdict ("ok"/"FAIL") of each line of `step`."""
    return [line.split()[0] for line in lines if line[8:].startswith(step + " ")]


def fail_line(lines):
    failed = [line for line in lines if line.startswith("  FAIL")]
    assert len(failed) == 1, lines
    assert ". Fix: " in failed[0]
    return failed[0]


class SkewedClock:
    """The firmware's clock with the wall clock off by `offset` seconds (a device without NTP)."""

    def __init__(self, offset):
        from devauth import clock

        self.offset = offset
        self.ticks_ms, self.ticks_diff = clock.ticks_ms, clock.ticks_diff
        self.ticks_add, self.sleep_ms = clock.ticks_add, clock.sleep_ms

    def unix_time(self):
        return int(time.time()) + self.offset


@pytest.mark.parametrize("method", AUTH_METHODS)
def test_every_step_passes_for_each_client_authentication_method(srv, tmp_path, method):
    code, lines, text = run(write_config(tmp_path, srv.base_url, srv.pki, method))
    assert code == 0, text
    for step in STEPS:
        assert status(lines, step) == ["ok"], (step, text)
    assert "authorization_pending" in text and "code " in text
    assert SECRET not in text and JWT_SECRET not in text
    assert lines[-1].startswith("devauth check: every step passed")


def test_sign_in_waits_for_the_approval_and_shows_no_token(srv, tmp_path):
    cfg = write_config(tmp_path, srv.base_url, srv.pki, "client_secret_basic")
    lines = []
    issued = srv.stats()["tokens_issued"]

    def out(line):  # a person reads the code off the console and approves it
        lines.append(line)
        if line.startswith("To sign in, visit "):
            srv.approve(line.split()[-1])

    assert check.run(cfg, out=out, sign_in=True) == 0, lines
    text = "\n".join(lines)
    assert status(lines, "first poll") == ["ok"] and "authorization_pending" in text
    assert status(lines, "sign-in") == ["ok"]
    assert "Bearer token, expires in 3600 s" in text and "refresh token: yes" in text
    assert srv.stats()["tokens_issued"] == issued + 1 and SECRET not in text


def test_a_wrong_ca_names_the_chain_and_says_run_init(srv, tmp_path):
    cfg = write_config(
        tmp_path, srv.base_url, srv.pki, "none", ca_certificates=srv.pki["untrusted_ca_der"]
    )
    code, lines, text = run(cfg)
    assert code == 1
    line = fail_line(lines)
    assert status(lines, "TLS") == ["FAIL"] and "rejected" in line
    assert "ca_certificates is not the CA that signs this server" in line
    assert "CN=localhost" in line and "devauth init" in line
    assert not status(lines, "device authorization")  # nothing sent past a failed step


def test_a_scope_the_client_may_not_have_is_invalid_scope(srv, tmp_path):
    cfg = write_config(tmp_path, srv.base_url, srv.pki, "none", scope="openid pr\u00f8file")
    code, lines, _ = run(cfg)
    line = fail_line(lines)
    assert code == 1 and status(lines, "device authorization") == ["FAIL"]
    assert "invalid_scope" in line and "pr\u00f8file" in line and "set scope to" in line


@pytest.mark.parametrize("client_id", ["dev:ice+1", "basic-device"])
def test_an_unknown_client_or_a_wrong_secret_is_invalid_client(srv, tmp_path, client_id):
    wrong = "not-the-secret:+/%"
    cfg = write_config(
        tmp_path,
        srv.base_url,
        srv.pki,
        "client_secret_basic",
        client_id=client_id,
        client_secret=wrong,
    )
    code, lines, text = run(cfg)
    line = fail_line(lines)
    assert code == 1 and status(lines, "device authorization") == ["FAIL"]
    assert "invalid_client" in line and "check client_id, token_endpoint_auth_method" in line
    assert wrong not in text


def test_a_client_without_the_device_grant_is_unauthorized_client(srv, tmp_path):
    cfg = write_config(tmp_path, srv.base_url, srv.pki, "none", client_id="no-device:grant+1")
    code, lines, _ = run(cfg)
    line = fail_line(lines)
    assert code == 1 and status(lines, "device authorization") == ["ok"]
    assert status(lines, "first poll") == ["FAIL"]
    assert "unauthorized_client" in line and "Device Authorization grant type" in line


@pytest.mark.parametrize("offset, word", [(600, "ahead of"), (-7200, "behind")])
def test_a_jwt_client_with_a_wrong_clock_is_told_to_set_the_clock(srv, tmp_path, offset, word):
    cfg = write_config(tmp_path, srv.base_url, srv.pki, "private_key_jwt")
    code, lines, _ = run(cfg, clock=SkewedClock(offset))
    line = fail_line(lines)
    assert code == 1 and "invalid_client" in line
    seconds = re.search(r"this clock is (\d+) s (ahead of|behind) the server's", line)
    assert seconds and seconds.group(2) == word, line
    assert abs(int(seconds.group(1)) - abs(offset)) <= 2  # the Date header counts whole seconds
    assert "set the clock (NTP)" in line
    code, lines, _ = run(cfg, clock=SkewedClock(0))  # the same config with the right time
    assert code == 0


def test_a_host_that_does_not_resolve_fails_at_dns(srv, tmp_path):
    base = "https://devauth-check.invalid:%d" % srv.port
    code, lines, _ = run(write_config(tmp_path, base, srv.pki, "none"))
    line = fail_line(lines)
    assert code == 1 and status(lines, "DNS") == ["FAIL"]
    assert "cannot resolve devauth-check.invalid" in line
    assert "check the host name in device_authorization_endpoint" in line


def test_a_port_nobody_listens_on_is_refused_at_tcp(srv, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = s.getsockname()[1]
        cfg = write_config(tmp_path, "https://localhost:%d" % port, srv.pki, "none")
        code, lines, _ = run(cfg)
    line = fail_line(lines)
    assert code == 1 and status(lines, "DNS") == ["ok"] and status(lines, "TCP") == ["FAIL"]
    assert "port %d refused the connection" % port in line
    assert "check the port in device_authorization_endpoint" in line


def test_a_config_mistake_is_exit_2_with_the_key(tmp_path):
    path = os.path.join(str(tmp_path), "devauth.json")
    with open(path, "w") as f:
        f.write('{"client_id": "x", "token_endpoint": "https://a.example/t"}')
    code, lines, _ = run(path)
    assert code == 2
    assert "device_authorization_endpoint is missing" in fail_line(lines)


def test_the_issuer_is_discovered_first(srv, tmp_path):
    cfg = write_config(
        tmp_path,
        srv.base_url,
        srv.pki,
        "none",
        issuer=srv.metadata()["issuer"],
        device_authorization_endpoint=None,
        token_endpoint=None,
    )
    code, lines, text = run(cfg)
    assert code == 0, text
    assert status(lines, "discovery") == ["ok"] and status(lines, "TLS") == ["ok"]


def test_a_certificate_for_another_name_says_so(srv, tmp_path):
    from devauth_tools.testca import make_pki
    from e2e import HostileServer, http_reply

    other = make_pki(str(tmp_path / "pki"), server_hosts=("as.example.net",))
    with HostileServer(other, lambda path, i: http_reply()) as hs:
        cfg = write_config(tmp_path, hs.base_url, other, "none")
        code, lines, _ = run(cfg)
    line = fail_line(lines)
    assert code == 1 and status(lines, "TLS") == ["FAIL"]
    assert "the certificate is not for localhost" in line


# -- the API hosts of api_ca_certificates ----------------------------------------------------


def test_each_api_host_is_tried_with_its_own_trust_anchors(srv, tmp_path):
    """The API here is the dev server under its other name (127.0.0.1): its own entry, tried
    after the sign-in's steps; "*" names no host and is skipped."""
    key = "127.0.0.1:%d" % srv.port
    api = {key: srv.pki["ca_der"], "*": srv.pki["untrusted_ca_der"]}
    cfg = write_config(tmp_path, srv.base_url, srv.pki, "none", api_ca_certificates=api)
    code, lines, text = run(cfg)
    assert code == 0, text
    for step in STEPS + ("API DNS", "API TCP", "API TLS"):
        assert status(lines, step) == ["ok"], (step, text)
    api_lines = [line for line in lines if line[8:].startswith("API ")]
    assert api_lines == [
        '  skip  API host              api_ca_certificates ("*") names no host to try: skipped',
        "  ok    API DNS               127.0.0.1 -> 127.0.0.1",
        "  ok    API TCP               127.0.0.1 port %d accepts connections" % srv.port,
        "  ok    API TLS               server certificate for 127.0.0.1 verified by "
        "api_ca_certificates[%s] (OU=dev-as server CA,O=devauth)" % key,
    ]  # no client certificate configured: none presented
    first_poll = [i for i, line in enumerate(lines) if line[8:].startswith("first poll")]
    assert lines.index(api_lines[0]) > first_poll[0]  # after the sign-in's steps
    assert lines[-1].startswith("devauth check: every step passed")


def test_a_wrong_ca_for_an_api_host_names_its_key_and_the_chain(srv, tmp_path):
    key = "localhost:%d" % srv.port
    api = {key: srv.pki["untrusted_ca_der"]}
    cfg = write_config(tmp_path, srv.base_url, srv.pki, "none", api_ca_certificates=api)
    code, lines, text = run(cfg)
    assert code == 1
    line = fail_line(lines)
    assert status(lines, "TLS") == ["ok"]  # the sign-in's anchors are right
    assert status(lines, "first poll") == ["ok"]  # and its steps all ran
    assert status(lines, "API TLS") == ["FAIL"]
    assert "server certificate for localhost rejected" in line
    assert "api_ca_certificates[%s] is not the CA that signs this server" % key in line
    assert "(it presents CN=localhost,OU=dev-as server,O=devauth)" in line
    assert "name the root of that chain there" in line
    assert "every step passed" not in text


def test_an_api_host_that_wants_the_client_certificate_gets_it(mtls_server, tmp_path):
    """RFC 8705 §3: the API connection presents the client certificate (tls_client_auth); the
    mTLS listener refuses a connection without one."""
    srv = mtls_server
    key = "127.0.0.1:%d" % srv.mtls_port  # the API: the mTLS listener, by its other name
    api = {key: srv.pki["ca_der"]}
    mtls = srv.mtls_base_url  # where a tls_client_auth client signs in (RFC 8705 §5)
    cfg = write_config(tmp_path, mtls, srv.pki, "tls_client_auth", api_ca_certificates=api)
    code, lines, text = run(cfg)
    assert code == 0, text
    tls = [line for line in lines if line[8:].startswith("API TLS")]
    assert len(tls) == 1 and "verified by api_ca_certificates[%s]" % key in tls[0]
    assert tls[0].endswith("; client certificate CN=devauth-test-device,O=devauth presented")
    cfg = write_config(tmp_path, srv.base_url, srv.pki, "none", api_ca_certificates=api)
    code, lines, text = run(cfg)
    line = fail_line(lines)
    assert code == 1 and status(lines, "TLS") == ["ok"] and status(lines, "API TLS") == ["FAIL"]
    assert "does it require a client certificate (tls_client_certificate" in line


def test_every_api_host_is_tried_and_a_bad_one_named(srv, tmp_path):
    api = {
        "api.devauth-check.invalid:8443": srv.pki["ca_der"],  # not in DNS
        "localhost:h\u00e9": srv.pki["ca_der"],  # not a port
        "127.0.0.1:%d" % srv.port: srv.pki["ca_der"],  # good
    }
    cfg = write_config(tmp_path, srv.base_url, srv.pki, "none", api_ca_certificates=api)
    code, lines, text = run(cfg)
    failed = [line for line in lines if line.startswith("  FAIL")]
    assert code == 1 and len(failed) == 2 and all(". Fix: " in line for line in failed)
    assert failed[0].startswith("  FAIL  API DNS")
    assert "cannot resolve api.devauth-check.invalid" in failed[0]
    assert "check the host name in api_ca_certificates[api.devauth-check.invalid:8443]" in failed[0]
    assert failed[1].startswith("  FAIL  API host") and "[localhost:h\u00e9]" in failed[1]
    assert "name the host as host or host:port" in failed[1]
    assert status(lines, "API TLS") == ["ok"]  # the good one is still tried


def test_an_api_host_without_a_port_is_tried_on_443(srv, tmp_path):
    api = {"devauth-check.invalid": srv.pki["ca_der"]}
    cfg = write_config(tmp_path, srv.base_url, srv.pki, "none", api_ca_certificates=api)
    code, lines, _ = run(cfg)
    assert code == 1
    assert "  note  api_ca_certificates[devauth-check.invalid] names no port: tried on 443" in lines
    assert status(lines, "API DNS") == ["FAIL"]

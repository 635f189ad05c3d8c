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

"""End to end: firmware/main.py on the MicroPython unix port against `devauth dev-as` over real
TLS (Authlib's RFC 8628 server), for every client authentication method and every way a sign-in
ends. Exit codes, the console contract and the absence of secrets are asserted."""

import json
import os

import pytest
from devauth_tools.dev_as import DevAS
from e2e import SECRET, run_firmware, run_firmware_on_cpython, write_config

CONTRACT = "To sign in, visit https://localhost:%d/as/user_authz.oauth2 and enter code "


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("pki")


def server(pki_dir, **kw):
    kw.setdefault("auto_approve", 0.3)
    kw.setdefault("interval", 1)
    return DevAS(str(pki_dir), port=0, **kw)


def assert_no_secrets(run, tmp_path):
    token_file = os.path.join(str(tmp_path), "state", "token.json")
    secrets = [SECRET, "s3cr"]
    if os.path.exists(token_file):
        saved = json.load(open(token_file))
        secrets += [saved["access_token"], saved.get("refresh_token") or "-" * 40]
    for s in secrets:
        assert s not in run.out + run.err


@pytest.mark.parametrize(
    "method", ["none", "client_secret_basic", "client_secret_post", "tls_client_auth"]
)
def test_signs_in_with_each_client_authentication_method(pki_dir, tmp_path, method):
    with server(pki_dir) as srv:
        run = run_firmware(write_config(tmp_path, srv.base_url, srv.pki, method))
        stats = srv.stats()
    assert run.code == 0, run
    assert run.lines[0].startswith(CONTRACT % srv.port), run
    assert run.lines[0].split("enter code ")[1].count("-") == 1
    assert "Signed in." in run.lines
    saved = json.load(open(os.path.join(str(tmp_path), "state", "token.json")))
    assert saved["token_type"] == "Bearer" and saved["access_token"]
    assert_no_secrets(run, tmp_path)
    # Keep-alive: the device authorization request and every poll on one TLS connection.
    assert run.stats["handshakes"] == 1 and run.stats["requests"] >= 2, run
    assert stats["tls_handshakes"] == 1, stats


def test_the_same_firmware_signs_in_on_cpython(pki_dir, tmp_path):
    with server(pki_dir) as srv:
        run = run_firmware_on_cpython(
            write_config(tmp_path, srv.base_url, srv.pki, "tls_client_auth")
        )
    assert run.code == 0, run
    assert "Signed in." in run.lines


def test_denied_exits_3(pki_dir, tmp_path):
    with server(pki_dir, deny=True) as srv:
        run = run_firmware(write_config(tmp_path, srv.base_url, srv.pki))
    assert run.code == 3, run
    assert run.lines[-2].startswith("Denied: token endpoint: access_denied"), run


def test_expired_exits_4(pki_dir, tmp_path):
    with server(pki_dir, auto_approve=None, expires_in=3) as srv:
        run = run_firmware(write_config(tmp_path, srv.base_url, srv.pki))
    assert run.code == 4, run
    assert run.lines[-2].startswith("Code expired: "), run


def test_slow_down_is_obeyed(pki_dir, tmp_path):
    with server(pki_dir, auto_approve=2.5, slow_down_every=2) as srv:
        run = run_firmware(write_config(tmp_path, srv.base_url, srv.pki))
    assert run.code == 0, run
    assert any("slow down" in line for line in run.lines), run


def test_missing_interval_polls_every_five_seconds(pki_dir, tmp_path):
    with server(pki_dir, no_interval=True, auto_approve=0.2) as srv:
        run = run_firmware(write_config(tmp_path, srv.base_url, srv.pki))
        stats = srv.stats()
    assert run.code == 0, run
    assert stats["token_requests"] == 1  # approved at 0.2 s, first poll only after 5 s


def test_server_errors_are_retried_until_success(pki_dir, tmp_path):
    with server(pki_dir, fail_every=2, auto_approve=1.5) as srv:
        run = run_firmware(write_config(tmp_path, srv.base_url, srv.pki))
    assert run.code == 0, run
    assert any(line.startswith("Waiting ") and "HTTP 503" in line for line in run.lines), run


def test_server_closing_idle_connections_is_transparent(pki_dir, tmp_path):
    with server(pki_dir, close_after_response=True, auto_approve=1.5) as srv:
        run = run_firmware(write_config(tmp_path, srv.base_url, srv.pki))
    assert run.code == 0, run
    assert run.stats["handshakes"] == run.stats["requests"] >= 2, run
    assert not any(line.startswith("Waiting") for line in run.lines), run


def test_untrusted_server_certificate_is_refused(pki_dir, tmp_path):
    with server(pki_dir) as srv:
        cfg = write_config(
            tmp_path, srv.base_url, srv.pki, ca_certificates=srv.pki["untrusted_ca_der"]
        )
        run = run_firmware(cfg)
        stats = srv.stats()
    assert run.code == 1, run
    assert run.lines[-2].startswith(
        "TLS cert not trusted: server certificate for localhost rejected"
    ), run
    assert stats["requests"] == 0


@pytest.mark.parametrize("cert", [None, "wrong"])
def test_tls_client_auth_without_the_registered_certificate_is_rejected(pki_dir, tmp_path, cert):
    with server(pki_dir) as srv:
        if cert is None:  # mtls-device, but no certificate presented
            cfg = write_config(tmp_path, srv.base_url, srv.pki, client_id="mtls-device")
        else:
            cfg = write_config(
                tmp_path,
                srv.base_url,
                srv.pki,
                "tls_client_auth",
                tls_client_certificate=srv.pki["wrong_client_pem"],
                tls_client_key=srv.pki["wrong_client_key"],
            )
        run = run_firmware(cfg)
    assert run.code == 1, run
    assert run.lines[-2].startswith("Client rejected: device authorization: invalid_client"), run


def test_der_client_certificate_and_key_work(pki_dir, tmp_path):
    with server(pki_dir) as srv:
        cfg = write_config(
            tmp_path,
            srv.base_url,
            srv.pki,
            "tls_client_auth",
            tls_client_certificate=srv.pki["client_der"],
            tls_client_key=srv.pki["client_key_der"],
        )
        run = run_firmware(cfg)
    assert run.code == 0, run


def test_urequests_transport_signs_in_and_warns(pki_dir, tmp_path):
    with server(pki_dir) as srv:
        run = run_firmware(
            write_config(
                tmp_path,
                srv.base_url,
                srv.pki,
                "client_secret_post",
                http_client="urequests",
                urequests_send_secrets_unverified=True,
            )
        )
    assert run.code == 0, run
    assert run.lines[0].startswith("Warning: http_client urequests does not verify"), run
    assert_no_secrets(run, tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"client_id": None}, "Config error: client_id is missing"),
        (
            {"token_endpoint_auth_method": "magic"},
            "Config error: token_endpoint_auth_method 'magic'",
        ),
        ({"ca_certificates": "nope.der"}, "Config error: ca_certificates: cannot read"),
        (
            {"token_endpoint": "http://localhost/as/token.oauth2"},
            "Config error: token_endpoint uses http://",
        ),
    ],
)
def test_config_mistakes_exit_2_with_one_line(tmp_path, change, message):
    pki = {"ca_der": "ca.der"}
    cfg = write_config(tmp_path, "https://localhost:1", pki, **change)
    open(os.path.join(str(tmp_path), "ca.der"), "wb").write(b"0\x00")
    run = run_firmware(cfg)
    assert run.code == 2, run
    assert len(run.lines) == 1 and run.lines[0].startswith(message), run


def test_missing_config_file_exits_2(tmp_path):
    run = run_firmware(os.path.join(str(tmp_path), "none.json"))
    assert run.code == 2 and run.lines == ["Config error: cannot read %s/none.json" % tmp_path]

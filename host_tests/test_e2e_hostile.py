"""The firmware on the unix port against a broken or hostile HTTPS server: every bad answer gives
a clear one-line error or a retry, never a traceback, never out-of-memory (run on a small heap)."""

import ssl

import pytest
from devauth_tools.testca import load_or_make_pki
from e2e import HostileServer, http_reply, run_firmware, write_config

SMALL_HEAP = "96K"  # the measured minimum (`make bench`) plus 20%
CODE = {
    "device_code": "DEVICE-CODE-SECRET",
    "user_code": "ABCD-EFGH",
    "verification_uri": "https://localhost/as/user_authz.oauth2",
    "expires_in": 30,
    "interval": 1,
}
TOKEN = {"access_token": "ACCESS-SECRET", "token_type": "Bearer", "expires_in": 60}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return load_or_make_pki(str(tmp_path_factory.mktemp("hostile-pki")))


def sign_in(pki, tmp_path, token_replies, device_reply=None):
    """Device authorization answered with `device_reply`, polls with `token_replies` in turn."""

    def respond(path, i):
        if path.endswith("device_authz.oauth2"):
            return device_reply if device_reply is not None else http_reply(200, CODE)
        n = len([p for p, _ in srv.requests if p.endswith("token.oauth2")]) - 1
        return token_replies[min(n, len(token_replies) - 1)]

    with HostileServer(pki, respond) as srv:
        run = run_firmware(write_config(tmp_path, srv.base_url, pki), heap=SMALL_HEAP, timeout=90)
    for secret in ("DEVICE-CODE-SECRET", "ACCESS-SECRET"):
        assert secret not in run.out + run.err
    return run


def endless_chunks(sock):
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"1000\r\n" + b"x" * 4096 + b"\r\n"
    for _ in range(4096):  # 16 MB, bounded so the test ends even if the client kept reading
        sock.sendall(chunk)


def ten_megabytes(sock):
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n")
    for _ in range(2560):
        sock.sendall(b"{" * 4096)


def test_html_502_then_a_token_is_retried(pki, tmp_path):
    run = sign_in(
        pki,
        tmp_path,
        [http_reply(502, b"<html><body>Bad Gateway</body></html>"), http_reply(200, TOKEN)],
    )
    assert run.code == 0, run
    assert any("HTTP 502" in line for line in run.lines), run


def test_connection_dropped_mid_response_is_retried(pki, tmp_path):
    cut = ("close", http_reply(200, TOKEN)[:-20])
    run = sign_in(pki, tmp_path, [cut, http_reply(200, TOKEN)])
    assert run.code == 0, run
    assert any("closed mid-reply" in line for line in run.lines), run


@pytest.mark.parametrize(
    "reply, message",
    [
        (
            http_reply(200, b'{"access_token": "ACCESS-SECRET", "tok'),
            "token endpoint: reply is not valid JSON",
        ),
        (
            http_reply(200, {"access_token": 5, "token_type": "Bearer"}),
            "token reply: access_token is not",
        ),
        (http_reply(200, b"\xff\xfe\x00garbage"), "token endpoint: reply is not valid JSON"),
        (ten_megabytes, "reply body of 10485760 bytes is over the 8192-byte limit"),
        (endless_chunks, "reply body is over the 8192-byte limit"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Header: 1\r\n" * 5000 + b"\r\n{}", "reply headers are over"),
    ],
)
def test_bad_token_replies_end_with_one_clear_line(pki, tmp_path, reply, message):
    run = sign_in(pki, tmp_path, [reply])
    assert run.code == 1, run
    assert message in run.lines[-2], run
    assert run.lines[-2].startswith("Bad server reply: "), run


@pytest.mark.parametrize(
    "code, message",
    [
        (dict(CODE, user_code="X" * 1000), "user_code is over 32 characters"),
        (dict(CODE, expires_in=-1), "expires_in -1 is outside"),
        (dict(CODE, interval=10**9), "interval 1000000000 is outside"),
        (
            dict(CODE, verification_uri="ftp://evil"),
            "verification_uri is not a printable http(s) URL",
        ),
        (dict(CODE, user_code=["A"]), "user_code is not a non-empty string"),
    ],
)
def test_hostile_device_authorization_replies_are_refused(pki, tmp_path, code, message):
    run = sign_in(pki, tmp_path, [http_reply(200, TOKEN)], device_reply=http_reply(200, code))
    assert run.code == 1, run
    assert run.lines[0].startswith("Bad server reply: device authorization reply: " + message), run


def test_ten_thousand_character_user_code_is_refused_within_the_body_limit(pki, tmp_path):
    reply = http_reply(200, dict(CODE, user_code="X" * 10000))
    run = sign_in(pki, tmp_path, [http_reply(200, TOKEN)], device_reply=reply)
    assert run.code == 1, run
    assert run.lines[0] == "Bad server reply: reply body of 10149 bytes is over the 8192-byte limit"


def test_zero_interval_is_not_hammered(pki, tmp_path):
    run = sign_in(
        pki,
        tmp_path,
        [http_reply(200, TOKEN)],
        device_reply=http_reply(200, dict(CODE, interval=0)),
    )
    assert run.code == 0, run


def test_a_server_certificate_for_another_host_is_refused(tmp_path):
    import trustme

    ca = trustme.CA()
    chain = tmp_path / "wrong-host.pem"
    ca.issue_cert("wrong-host.example").private_key_and_cert_chain_pem.write_to_path(str(chain))
    ca_der = tmp_path / "ca.der"
    ca_der.write_bytes(ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode()))
    pki = {"server_chain": str(chain), "ca_der": str(ca_der)}
    with HostileServer(pki, lambda path, i: http_reply(200, CODE)) as srv:
        run = run_firmware(write_config(tmp_path, srv.base_url, pki), heap=SMALL_HEAP)
        served = list(srv.requests)
    assert run.code == 1, run
    assert run.lines[0].startswith(
        "TLS cert not trusted: server certificate for localhost rejected"
    ), run
    assert "does not match" in run.lines[0], run
    assert served == []

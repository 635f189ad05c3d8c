"""devauth.config and devauth.jose.pem: every mistake is one line naming the key (dual test)."""

import binascii
import json
import os

from devauth import config
from devauth.errors import ConfigError
from devauth.jose.pem import der_blocks
from mptest import raises, scratch

CERT_PEM = b"""-----BEGIN CERTIFICATE-----
MIIBGjCBwaADAgECAgEBMAoGCCqGSM49BAMCMBcxFTATBgNVBAMMDGRldmF1dGgg
dGVzdDAeFw0yNjAxMDEwMDAwMDBaFw0zNTEyMzAwMDAwMDBaMBcxFTATBgNVBAMM
DGRldmF1dGggdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEpN5nxcpE7O
p42h6EUEDh3ZHP3qyEp9OzEiOlTbsYuqaZAZ3BgnqDGHE0y/3/q4uFa1Xy4O3L/D
pQg1sOYAPiMwCgYIKoZIzj0EAwIDSAAwRQIgEsv5AGkD12GicO2FtWTIkhhx5Gqj
2KYBWR5XJev54EwCIQDw7FIehSZXh8Fli3JiWKo0VQhHeA7UG/3lMpZ9bejiyQ==
-----END CERTIFICATE-----
"""
KEY_PEM = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIAWFOVAUODwh3D6KuFuyo3Jwhm8mj7VVdujjBMzReKN/oAoGCCqGSM49
AwEHoUQDQgAESk3mfFykTs6njaHoRQQOHdkc/erISn07MSI6VNuxi6ppkBncGCeo
MYcTTL/f+ri4VrVfLg7cv8OlCDWw5gA+Iw==
-----END EC PRIVATE KEY-----
"""
CERT_DER = binascii.a2b_base64(b"".join(CERT_PEM.split(b"\n")[1:-2]))
DIR = scratch("devauth-test-config")

BASE = {
    "client_id": "df_client",
    "scope": "openid",
    "device_authorization_endpoint": "https://as.example.com/as/device_authz.oauth2",
    "token_endpoint": "https://as.example.com/as/token.oauth2",
    "ca_certificates": "ca.pem",
}


def _write(name, data):
    try:
        os.mkdir(DIR)
    except OSError:
        pass
    with open(DIR + "/" + name, "wb") as f:
        f.write(data)
    return DIR + "/" + name


def _load(changes=None, **kw):
    d = dict(BASE)
    d.update(changes or {})
    d.update(kw)
    for k in [k for k in d if d[k] is None]:
        d.pop(k)
    _write("ca.pem", CERT_PEM + CERT_PEM)
    _write("ca.der", CERT_DER)
    _write("client.pem", CERT_PEM)
    _write("client.key", KEY_PEM)
    return config.load(_write("devauth.json", json.dumps(d).encode()))


def _error(changes):
    e = raises(ConfigError, _load, changes)
    assert "\n" not in str(e) and e.exit_code == 2
    return str(e)


def test_a_good_config_loads_with_paths_relative_to_the_file():
    c = _load()
    assert c.client_id == "df_client" and c.token_endpoint_auth_method == "none"
    assert c.ca_certificates == [CERT_DER, CERT_DER]  # a PEM bundle of two certificates
    assert c.state_dir == DIR + "/state"
    assert c.allow_insecure_http is False and c.http_client == "builtin"


def test_der_and_lists_of_certificate_files_are_accepted():
    assert _load(ca_certificates=["ca.der", "ca.pem"]).ca_certificates == [CERT_DER] * 3


def test_tls_client_auth_reads_certificate_and_key_as_der():
    c = _load(
        token_endpoint_auth_method="tls_client_auth",
        tls_client_certificate="client.pem",
        tls_client_key="client.key",
    )
    assert c.tls_client_certificate == CERT_DER
    assert c.tls_client_key[0] == 0x30 and len(c.tls_client_key) == 121


def test_secrets_do_not_show_in_repr():
    c = _load(token_endpoint_auth_method="client_secret_post", client_secret="S3CRET")
    assert "S3CRET" not in repr(c)


def test_mistakes_name_the_key():
    cases = [
        ({"client_id": None}, "client_id is missing"),
        ({"client_id": 7}, "client_id must be a non-empty string"),
        (
            {"token_endpoint_auth_method": "magic"},
            "token_endpoint_auth_method 'magic' is not one of",
        ),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "client_secret is missing"),
        ({"client_secret": "x"}, "client_secret is set but none does not use it"),
        (
            {"token_endpoint": "http://as.example.com/t"},
            "token_endpoint uses http:// (set allow_insecure_http",
        ),
        ({"token_endpoint": "ftp://x/y"}, "token_endpoint must start with https://"),
        ({"token_endpoint": "https://:99/x"}, "token_endpoint has no host"),
        (
            {"device_authorization_endpoint": "https://h:99999/x"},
            "device_authorization_endpoint has a bad port",
        ),
        ({"ca_certificates": "missing.pem"}, "ca_certificates: cannot read"),
        ({"ca_certificates": None}, "ca_certificates is missing"),
        ({"ca_certificates": "devauth.json"}, "ca_certificates: not PEM or DER"),
        ({"allow_insecure_http": "yes"}, "allow_insecure_http must be true or false"),
        ({"tokn_endpoint": "x"}, "unknown key tokn_endpoint"),
        ({"timeout": 0}, "timeout must be a whole number"),
        (
            {"token_endpoint_auth_method": "tls_client_auth"},
            "tls_client_auth needs tls_client_certificate",
        ),
        ({"http_client": "curl"}, "http_client 'curl' is not one of builtin, urequests"),
        ({"wifi": {"ssid": "lab", "ntp_server": 5}}, "wifi.ntp_server must be a string"),
        ({"wifi": {"ssid": "lab", "pasword": "x"}}, "unknown key wifi.pasword"),
        (
            {
                "http_client": "urequests",
                "token_endpoint_auth_method": "tls_client_auth",
                "tls_client_certificate": "client.pem",
                "tls_client_key": "client.key",
            },
            "urequests cannot present a client certificate",
        ),
    ]
    for change, expected in cases:
        msg = _error(change)
        assert expected in msg, msg


def test_http_is_allowed_only_with_the_opt_in():
    c = _load(
        device_authorization_endpoint="http://127.0.0.1:8080/as/device_authz.oauth2",
        token_endpoint="http://127.0.0.1:8080/as/token.oauth2",
        allow_insecure_http=True,
        ca_certificates=None,
    )
    assert c.allow_insecure_http


def test_missing_and_broken_files_are_reported():
    e = raises(ConfigError, config.load, DIR + "/nope.json")
    assert str(e) == "cannot read %s/nope.json" % DIR
    e = raises(ConfigError, config.load, _write("bad.json", b"{client_id: 1"))
    assert "is not valid JSON" in str(e)
    e = raises(ConfigError, config.load, _write("list.json", b"[1]"))
    assert "must hold a JSON object" in str(e)


def test_split_url():
    assert config.split_url("https://h/p?q=1") == ("https", "h", 443, "/p?q=1")
    assert config.split_url("https://h:9031") == ("https", "h", 9031, "/")
    assert config.split_url("http://[::1]:8080/x") == ("http", "::1", 8080, "/x")
    raises(ValueError, config.split_url, "https://user:pw@h/")


def test_pem_blocks_and_errors():
    assert der_blocks(CERT_PEM, "k") == [CERT_DER]
    assert der_blocks(CERT_DER, "k") == [CERT_DER]
    assert "file is empty" in str(raises(ValueError, der_blocks, b"  \n", "k"))
    enc = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
    e = raises(ValueError, der_blocks, enc, "tls_client_key")
    assert str(e) == "tls_client_key: encrypted private keys are not supported"
    assert "not terminated" in str(raises(ValueError, der_blocks, b"-----BEGIN X-----\nAAAA", "k"))


def test_urls_that_would_bend_a_request_are_refused_naming_the_key():
    for key in ("issuer", "device_authorization_endpoint", "token_endpoint", "revocation_endpoint"):
        for url, fault in (
            ("https://as.example.com/t oken", "must not contain spaces, control"),
            ("https://as.example.com/t\r\nX-Evil: 1", "must not contain spaces, control"),
            ("https://as.example.com/t\u00e9", "non-ASCII characters"),
            ("https://u@as.example.com/t", "must not contain credentials"),
            ("https://", "has no host"),
            ("https://as.exam ple.com/", "must not contain spaces"),
        ):
            msg = _error({key: url})
            assert msg.startswith(key + " ") and fault in msg, msg
            assert "\n" not in msg and "\r" not in msg


def test_urequests_refuses_to_send_a_credential_unless_told_the_risk():
    secret = "s3cr3t:with+plus-and-a-long-tail-of-32-bytes!"
    for method, extra in (
        ("client_secret_basic", {"client_secret": secret}),
        ("client_secret_post", {"client_secret": secret}),
        ("client_secret_jwt", {"client_secret": secret}),
        ("private_key_jwt", {"private_key": "client.key"}),
    ):
        change = dict(extra, http_client="urequests", token_endpoint_auth_method=method)
        msg = _error(change)
        assert msg == (
            "http_client urequests would send the %s credential to an unverified server; use "
            "the builtin client (or set urequests_send_secrets_unverified to true)" % method
        ), msg
        assert secret not in msg
        change["urequests_send_secrets_unverified"] = True
        c = _load(change)
        assert c.http_client == "urequests" and c.urequests_send_secrets_unverified
    c = _load(http_client="urequests")  # a public client sends no credential
    assert c.token_endpoint_auth_method == "none" and not c.urequests_send_secrets_unverified
    e = _error({"http_client": "urequests", "urequests_send_secrets_unverified": "yes"})
    assert e == "urequests_send_secrets_unverified must be true or false"


def test_discovery_allowed_hosts_is_a_list_of_host_names():
    c = _load(issuer="https://as.example.com", discovery_allowed_hosts=["SSO.example.net"])
    assert c.discovery_allowed_hosts == ["sso.example.net"]
    assert _load().discovery_allowed_hosts == []
    for value, fault in (
        ("sso.example.net", "must be a list of host names"),
        (["https://sso.example.net"], "no scheme, port or path"),
        (["sso.example.net:443"], "no scheme, port or path"),
        ([""], "no scheme, port or path"),
        (["sso example"], "must not contain spaces"),
        (["u@sso"], "must not contain credentials"),
    ):
        msg = _error({"discovery_allowed_hosts": value})
        assert msg.startswith("discovery_allowed_hosts") and fault in msg, msg

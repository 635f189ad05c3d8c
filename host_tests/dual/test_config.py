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


# -- provider presets and extra parameters --------------------------------------------------

NO_ENDPOINTS = {"device_authorization_endpoint": None, "token_endpoint": None}


def _provider(name, **kw):
    d = dict(NO_ENDPOINTS, provider=name)
    d.update(kw)
    return d


def test_presets_fill_the_endpoints_from_where_the_server_is():
    cases = [
        (
            _provider("pingfederate", base_url="https://sso.example.com:9031/"),
            "https://sso.example.com:9031/as/device_authz.oauth2",
            "https://sso.example.com:9031/as/token.oauth2",
        ),
        (_provider("github"), "https://github.com/login/device/code", None),
        (
            _provider("entra", tenant="contoso.onmicrosoft.com", scope=None),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode",
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
        ),
        (
            _provider("auth0", domain="dev-x.eu.auth0.com"),
            None,
            "https://dev-x.eu.auth0.com/oauth/token",
        ),
        (
            _provider("okta", base_url="https://dev-1.okta.com/oauth2/default"),
            "https://dev-1.okta.com/oauth2/default/v1/device/authorize",
            None,
        ),
        (
            _provider("keycloak", base_url="https://kc.example.com", realm="iot-devices"),
            "https://kc.example.com/realms/iot-devices/protocol/openid-connect/auth/device",
            "https://kc.example.com/realms/iot-devices/protocol/openid-connect/token",
        ),
        (
            _provider("dex", base_url="https://dex.example.com/dex"),
            None,
            "https://dex.example.com/dex/token",
        ),
        (
            _provider("zitadel", domain="x.zitadel.cloud"),
            "https://x.zitadel.cloud/oauth/v2/device_authorization",
            None,
        ),
    ]
    for change, device, token in cases:
        c = _load(change)
        assert device in (None, c.device_authorization_endpoint), c.device_authorization_endpoint
        assert token in (None, c.token_endpoint), c.token_endpoint
    assert (
        _load(_provider("entra", tenant="common", scope=None)).scope
        == "openid profile offline_access"
    )
    assert _load(_provider("github")).revocation_endpoint is None
    assert (
        _load(_provider("auth0", domain="a.auth0.com")).revocation_endpoint
        == "https://a.auth0.com/oauth/revoke"
    )


def test_explicit_keys_win_over_a_preset():
    c = _load(
        _provider("keycloak", base_url="https://kc.example.com", realm="r"),
        token_endpoint="https://proxy.example.com/token",
        scope="openid",
    )
    assert c.token_endpoint == "https://proxy.example.com/token"
    assert c.device_authorization_endpoint.startswith("https://kc.example.com/realms/r/")
    c = _load(
        _provider("google"), token_endpoint_auth_method="client_secret_basic", client_secret="s"
    )
    assert c.token_endpoint_auth_method == "client_secret_basic" and c.scope == "openid"
    c = _load(
        _provider("dex", base_url="https://dex.example.com", issuer="https://dex.example.com")
    )
    assert c.device_authorization_endpoint is None  # the issuer's metadata says


def test_a_preset_sets_what_its_provider_needs():
    c = _load(_provider("google", scope=None, client_secret="GOCSPX-s"))
    assert c.token_endpoint_auth_method == "client_secret_post" and c.scope == "openid email"
    assert c.token_endpoint == "https://oauth2.googleapis.com/token"
    c = _load(
        _provider(
            "entra-v1", tenant="common", extra_params={"resource": "https://graph.microsoft.com"}
        )
    )
    assert c.device_grant == ("device_code", "code")
    assert c.extra_params == c.token_params == [("resource", "https://graph.microsoft.com")]
    assert c.token_endpoint == "https://login.microsoftonline.com/common/oauth2/token"
    assert _load().device_grant is None and list(_load().extra_params) == []


def test_providers_are_unloaded_after_the_config_is_read():
    import sys

    _load(_provider("github"))
    assert "devauth.providers" not in sys.modules


def test_extra_params_are_checked_and_sorted():
    c = _load(
        extra_params={"resource": "urn:x", "audience": "https://api/\u00e9"},
        token_extra_params={"resource": "urn:x"},
    )
    assert c.extra_params == [("audience", "https://api/\u00e9"), ("resource", "urn:x")]
    assert c.token_params == [("resource", "urn:x")]


def test_provider_mistakes_name_the_key():
    cases = [
        (
            _provider("ping"),
            "provider 'ping' is not one of auth0, dex, entra, entra-v1, github, google, keycloak, ",
        ),
        (_provider(["github"]), "provider \"['github']\" is not one of"),
        (_provider("salesforce"), "provider salesforce is not supported: Salesforce's device flow"),
        (_provider("aws"), "provider aws is not supported: AWS IAM Identity Center"),
        (_provider("auth0"), "domain is missing"),
        (_provider("keycloak", base_url="https://kc"), "realm is missing"),
        (_provider("keycloak", base_url="https://kc", realm="a/b"), "realm must be a name"),
        (_provider("entra", tenant="x?y=1"), "tenant must be a name"),
        (_provider("auth0", domain="https://a.auth0.com"), "domain must be a name"),
        (_provider("okta", base_url="http://okta"), "base_url must start with https://"),
        (_provider("github", tenant="x"), "tenant is set but provider github does not use it"),
        ({"realm": "x"}, "realm is set but no provider uses it"),
        (_provider("google"), "client_secret is missing"),
        (_provider("entra-v1", tenant="common"), "provider entra-v1 needs extra_params.resource"),
        ({"extra_params": "audience=x"}, 'extra_params must be {"name": "value", ...}'),
        ({"extra_params": {"scope": "x"}}, "extra_params.scope is set by devauth"),
        (
            {"token_extra_params": {"client_id": "x"}},
            "token_extra_params.client_id is set by devauth",
        ),
        ({"extra_params": {"a b": "x"}}, "extra_params: 'a b' is not a parameter name"),
        ({"extra_params": {"audience": 5}}, "extra_params.audience must be a string of 1 to 512"),
        ({"extra_params": {"audience": "x" * 513}}, "extra_params.audience must be a string"),
        ({"extra_params": dict(("p%d" % i, "v") for i in range(9))}, "(at most 8)"),
    ]
    for change, expected in cases:
        msg = _error(change)
        assert expected in msg, msg

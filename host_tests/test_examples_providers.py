"""Every provider example in examples/ loads through the firmware's config loader, and the
preset gives it the endpoints and settings examples/README.md promises."""

import os
import shutil
import ssl

import pytest
import trustme
from devauth import config

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
ENTRA = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2"

# name: (device authorization endpoint, token endpoint, auth method, scope, extra, token extra)
EXPECTED = {
    "github": (
        "https://github.com/login/device/code",
        "https://github.com/login/oauth/access_token",
        "none",
        "read:user",
        [],
        [],
    ),
    "google": (
        "https://oauth2.googleapis.com/device/code",
        "https://oauth2.googleapis.com/token",
        "client_secret_post",
        "openid email",
        [],
        [],
    ),
    "entra": (
        ENTRA + "/v2.0/devicecode",
        ENTRA + "/v2.0/token",
        "none",
        "openid profile offline_access User.Read",
        [],
        [],
    ),
    "entra-v1": (
        ENTRA + "/devicecode",
        ENTRA + "/token",
        "none",
        None,
        [("resource", "https://graph.microsoft.com")],
        [("resource", "https://graph.microsoft.com")],
    ),
    "auth0": (
        "https://example.eu.auth0.com/oauth/device/code",
        "https://example.eu.auth0.com/oauth/token",
        "none",
        "openid profile offline_access",
        [("audience", "https://api.example.com")],
        [],
    ),
    "okta": (
        "https://example.okta.com/oauth2/default/v1/device/authorize",
        "https://example.okta.com/oauth2/default/v1/token",
        "none",
        "openid profile offline_access",
        [],
        [],
    ),
    "keycloak": (
        "https://sso.example.com/realms/devices/protocol/openid-connect/auth/device",
        "https://sso.example.com/realms/devices/protocol/openid-connect/token",
        "none",
        "openid",
        [],
        [],
    ),
    "dex": (
        "https://dex.example.com/dex/device/code",
        "https://dex.example.com/dex/token",
        "none",
        "openid profile offline_access",
        [],
        [],
    ),
    "zitadel": (
        "https://example-abc123.zitadel.cloud/oauth/v2/device_authorization",
        "https://example-abc123.zitadel.cloud/oauth/v2/token",
        "none",
        "openid profile offline_access",
        [],
        [],
    ),
    "resource-server": (
        "https://as.example.com/device_authorization",
        "https://as.example.com/token",
        "none",
        "read",
        [("resource", "https://api.example.com/")],
        [("resource", "https://api.example.com/")],
    ),
}


@pytest.fixture(scope="module")
def ca_der():
    return ssl.PEM_cert_to_DER_cert(trustme.CA().cert_pem.bytes().decode())


def test_every_provider_example_is_tested():
    names = {f[:-5] for f in os.listdir(EXAMPLES) if f.endswith(".json")}
    mine = {n for n in names if not n.startswith("pingfederate-")}  # those have their own test
    assert mine == set(EXPECTED)
    readme = open(os.path.join(EXAMPLES, "README.md"), encoding="utf-8").read()
    for name in EXPECTED:
        assert "`%s.json`" % name in readme


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_provider_example_loads_with_its_preset(tmp_path, ca_der, name):
    shutil.copy(os.path.join(EXAMPLES, name + ".json"), tmp_path / "devauth.json")
    (tmp_path / "ca.der").write_bytes(ca_der)
    c = config.load(str(tmp_path / "devauth.json"))
    device, token, method, scope, extra, token_extra = EXPECTED[name]
    assert c.device_authorization_endpoint == device
    assert c.token_endpoint == token
    assert c.token_endpoint_auth_method == method
    assert c.scope == scope
    assert c.extra_params == extra and c.token_params == token_extra
    assert c.ca_certificates == [ca_der]
    assert c.device_grant == (("device_code", "code") if name == "entra-v1" else None)


@pytest.mark.parametrize("name", ["salesforce", "aws"])
def test_unsupported_providers_say_so(tmp_path, name):
    (tmp_path / "devauth.json").write_text('{"provider": "%s", "client_id": "x"}' % name)
    with pytest.raises(config.ConfigError, match="provider %s is not supported: " % name):
        config.load(str(tmp_path / "devauth.json"))

"""examples/pingfederate-<method>.json: one per client authentication method PingFederate offers,
each loaded through the firmware's config loader with the files it names in place, and each
described in examples/README.md's PingFederate section. CPython only."""

import json
import os
import shutil

import pytest
from devauth import config
from devauth_tools.testca import make_pki

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
METHODS = config.AUTH_METHODS
PF_PATHS = {
    "device_authorization_endpoint": "/as/device_authz.oauth2",
    "token_endpoint": "/as/token.oauth2",
    "revocation_endpoint": "/as/revoke_token.oauth2",
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(str(tmp_path_factory.mktemp("pki")))


def place(example, directory, pki):
    """Copy the example into `directory` with a real file at every name it gives."""
    with open(os.path.join(EXAMPLES, example), encoding="utf-8") as f:
        data = json.load(f)
    sources = {
        "ca_certificates": pki["ca_der"],
        "tls_client_certificate": pki["client_pem"],
        "tls_client_key": pki["client_key"],
        "private_key": pki["jwt_ec_key"],
    }
    for key, source in sources.items():
        if key in data:
            target = os.path.join(directory, data[key])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(source, target)
    path = os.path.join(directory, example)
    shutil.copy(os.path.join(EXAMPLES, example), path)
    return data, path


def test_there_is_one_example_per_pingfederate_method():
    names = sorted(n for n in os.listdir(EXAMPLES) if n.startswith("pingfederate-"))
    assert names == sorted("pingfederate-%s.json" % m for m in METHODS)


@pytest.mark.parametrize("method", METHODS)
def test_each_example_loads_on_the_firmware(tmp_path, pki, method):
    data, path = place("pingfederate-%s.json" % method, str(tmp_path), pki)
    cfg = config.load(path)
    assert cfg.token_endpoint_auth_method == method
    for key, suffix in PF_PATHS.items():
        url = getattr(cfg, key)
        assert url.startswith("https://pf.example.com:90") and url.endswith(suffix), url
    assert len(cfg.ca_certificates) == 1 and cfg.wifi["ssid"]
    if method in ("client_secret_basic", "client_secret_post", "client_secret_jwt"):
        assert cfg.client_secret and cfg.client_secret.startswith("PASTE-")
    if method == "client_secret_jwt":
        assert len(cfg.client_secret.encode()) >= 32 and cfg.token_endpoint_auth_signing_alg
    if method == "private_key_jwt":
        assert cfg.private_key is not None and cfg.token_endpoint_auth_signing_alg == "ES256"
        assert cfg.private_key_id == data["private_key_id"]
    if method == "tls_client_auth":
        assert cfg.tls_client_certificate and cfg.tls_client_key
        assert ":9032/" in cfg.token_endpoint  # the secondary (mutual TLS) port


def test_the_readme_says_what_to_set_in_pingfederate_for_each():
    with open(os.path.join(EXAMPLES, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## PingFederate") :]
    assert "Device Authorization" in section and "Allowed Grant Types" in section
    rows = {
        line.split("|")[1].strip(): line
        for line in section.splitlines()
        if line.startswith("| `pingfederate-")
    }
    want = {
        "none": "**None**",
        "client_secret_basic": "**Client Secret**",
        "client_secret_post": "**Client Secret**",
        "tls_client_auth": "**Client TLS Certificate**",
        "private_key_jwt": "**Private Key JWT**",
        "client_secret_jwt": "**Client Secret JWT**",
    }
    for method, setting in want.items():
        row = rows["`pingfederate-%s.json`" % method]
        assert row.split("|")[2].strip().startswith(setting), row

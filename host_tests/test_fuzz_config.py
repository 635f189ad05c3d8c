"""Property tests of the config loader (devauth.config.from_dict / load) and of the QR encoder's
input (devauth.oled.qr.encode).

The config loader, given any JSON object (known keys with any JSON values, unknown keys) and
files of any content (a real CA certificate, PEM with broken base64, random bytes, nothing),
returns a Config or raises ConfigError with one printable line: never another exception, and a
Config it returns is usable (https endpoints unless allowed, a timeout of 1..300, DER trust
anchors). The QR encoder, given any bytes or text, level, version and mask, returns a symbol of
the documented size or raises ValueError (QRError for data that does not fit).
"""

import json
import os
import tempfile

from devauth import config as devconfig
from devauth.errors import ConfigError
from devauth.oled.qr import QRError, capacity, encode
from devauth_tools.testca import load_or_make_pki
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_DIR = tempfile.mkdtemp(prefix="devauth-fuzz-config-")
_PKI = load_or_make_pki(os.path.join(_DIR, "pki"))
FILES = {
    "ca.der": open(_PKI["ca_der"], "rb").read(),
    "ca.pem": open(_PKI["ca_pem"], "rb").read(),
    "client.pem": open(_PKI["client_pem"], "rb").read(),
    "client.key": open(_PKI["client_key"], "rb").read(),
    "jwt-rsa.key": open(_PKI["jwt_rsa_key"], "rb").read(),
    "jwt-ec.key": open(_PKI["jwt_ec_key"], "rb").read(),
    "empty": b"",
    "bad.pem": b"-----BEGIN CERTIFICATE-----\n!!notbase64!!\n-----END CERTIFICATE-----\n",
    "cut.pem": b"-----BEGIN PRIVATE KEY-----\nMIIB",
}
for name, data in FILES.items():
    with open(os.path.join(_DIR, name), "wb") as f:
        f.write(data)
RANDOM_FILE = "random.bin"  # rewritten with hypothesis bytes per example

URLS = st.sampled_from(
    [
        "https://as.example.com/as/token.oauth2",
        "http://as.example.com/as/token.oauth2",
        "https://[::1]:9031/x",
        "https://user@as.example.com/",
        "https://as.example.com:99999/",
        "https://",
        "ftp://x",
        "https://as.example.com/#frag",
    ]
)
FILENAMES = st.one_of(
    st.sampled_from(sorted(FILES) + [RANDOM_FILE, "missing.der", "/nonexistent/ca.der", ""]),
    st.lists(st.sampled_from(sorted(FILES) + [RANDOM_FILE, "missing"]), max_size=3),
)
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False), st.text()
)
VALUES = {
    "client_id": st.one_of(st.just("public-device"), SCALAR),
    "token_endpoint_auth_method": st.one_of(st.sampled_from(devconfig.AUTH_METHODS), SCALAR),
    "http_client": st.one_of(st.sampled_from(devconfig.HTTP_CLIENTS), SCALAR),
    "device_authorization_endpoint": st.one_of(URLS, SCALAR),
    "token_endpoint": st.one_of(URLS, SCALAR),
    "revocation_endpoint": st.one_of(URLS, SCALAR),
    "issuer": st.one_of(URLS, SCALAR),
    "ca_certificates": st.one_of(FILENAMES, SCALAR),
    "tls_client_certificate": st.one_of(FILENAMES, SCALAR),
    "tls_client_key": st.one_of(FILENAMES, SCALAR),
    "private_key": st.one_of(FILENAMES, SCALAR),
    "client_secret": st.one_of(st.text(min_size=32, max_size=40), SCALAR),
    "token_endpoint_auth_signing_alg": st.one_of(
        st.sampled_from(["HS256", "RS256", "ES256"]), SCALAR
    ),
    "client_assertion_audience": st.one_of(st.just("issuer"), SCALAR),
    "timeout": st.one_of(st.integers(-5, 400), SCALAR),
    "allow_insecure_http": SCALAR,
    "wifi": st.one_of(
        st.fixed_dictionaries({"ssid": st.text(max_size=8), "password": st.text(max_size=8)}),
        SCALAR,
    ),
}
OTHER_KEYS = ["scope", "state_dir", "board", "private_key_id", "colour"]
VALID = {
    "client_id": "public-device",
    "device_authorization_endpoint": "https://localhost/as/device_authz.oauth2",
    "token_endpoint": "https://localhost/as/token.oauth2",
    "ca_certificates": "ca.der",
}
KEY = st.sampled_from(sorted(VALUES) + OTHER_KEYS)


@st.composite
def configs(draw):
    """A valid config with random keys replaced, added or deleted: reaches every check."""
    data = dict(VALID)
    for key in draw(st.lists(KEY, max_size=4, unique=True)):
        data[key] = draw(VALUES.get(key, SCALAR))
    for key in draw(st.lists(st.sampled_from(sorted(VALID)), max_size=1, unique=True)):
        data.pop(key, None)
    return data


LOADED = []


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(configs(), st.binary(max_size=600))
def test_any_config_loads_or_raises_config_error(data, random_file):
    with open(os.path.join(_DIR, RANDOM_FILE), "wb") as f:
        f.write(random_file)
    try:
        c = devconfig.from_dict(data, _DIR + "/")
    except ConfigError as e:
        msg = str(e)
        assert msg and "\n" not in msg, repr(msg)
        return
    assert c.client_id and isinstance(c.client_id, str)
    assert 1 <= c.timeout <= 300
    for url in (c.device_authorization_endpoint, c.token_endpoint, c.issuer):
        if url is not None and not c.allow_insecure_http:
            assert url.startswith("https://")
    for der in c.ca_certificates:
        assert isinstance(der, bytes) and der[:1] == b"\x30"
    assert (c.tls_client_certificate is None) == (c.tls_client_key is None)
    LOADED.append(c.token_endpoint_auth_method)


def test_the_properties_reached_configs_that_load():
    # Runs after the property above (file order): a fuzzer that only ever hit the first
    # check would prove little.
    assert len(LOADED) >= 25, len(LOADED)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_config_file_loads_or_raises_config_error(raw):
    path = os.path.join(_DIR, "devauth.json")
    with open(path, "wb") as f:
        f.write(raw)
    try:
        devconfig.load(path)
    except ConfigError:
        pass


def test_a_valid_config_still_loads():
    data = {
        "client_id": "public-device",
        "device_authorization_endpoint": "https://localhost/as/device_authz.oauth2",
        "token_endpoint": "https://localhost/as/token.oauth2",
        "ca_certificates": "ca.pem",
    }
    path = os.path.join(_DIR, "valid.json")
    with open(path, "w") as f:
        json.dump(data, f)
    assert devconfig.load(path).ca_certificates[0] == FILES["ca.der"]


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200), st.text(max_size=100), st.binary(min_size=2900, max_size=3000)
    ),
    st.one_of(st.sampled_from("LMQH"), st.text(max_size=2)),
    st.one_of(st.none(), st.integers(-3, 43)),
    st.one_of(st.none(), st.integers(-2, 9)),
)
def test_qr_encode_gives_a_symbol_or_value_error(data, ecc, version, mask):
    try:
        q = encode(data, ecc=ecc, version=version, mask=mask)
    except QRError:
        n = len(data.encode() if isinstance(data, str) else data)
        assert version is not None or n > capacity(40, ecc)
        return
    except ValueError as e:
        assert str(e)
        return
    assert 1 <= q.version <= 40 and q.size == 17 + 4 * q.version
    assert version is None or q.version == version
    assert 0 <= q.mask <= 7 and (mask is None or q.mask == mask)
    # the three finder patterns' dark corners
    for x, y in ((0, 0), (q.size - 1, 0), (0, q.size - 1)):
        assert q.get(x, y)

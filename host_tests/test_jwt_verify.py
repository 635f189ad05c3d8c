"""CPython-only: firmware JWT client assertions checked by independent implementations.

Keys come from `cryptography` in every encoding the device accepts; tokens are verified
with PyJWT (`jwt.decode` with audience and algorithms) when it is installed, and always with
`cryptography` directly, so the suite still checks signatures where PyJWT is absent.
"""

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, utils
from cryptography.hazmat.primitives.asymmetric import rsa as crsa
from devauth.jose import der
from devauth.jose import jwt as djwt

try:
    import jwt as pyjwt
except ImportError:  # PyJWT is optional: the cryptography checks below still run
    pyjwt = None

AUD = "https://pf.example/as/token.oauth2"
SECRET = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t!"
NONE = ser.NoEncryption()
PEM, DER = ser.Encoding.PEM, ser.Encoding.DER
PKCS1 = ser.PrivateFormat.TraditionalOpenSSL  # PKCS#1 for RSA, SEC1 for EC
PKCS8 = ser.PrivateFormat.PKCS8
FORMATS = [(PKCS1, PEM), (PKCS1, DER), (PKCS8, PEM), (PKCS8, DER)]
FORMAT_IDS = ["traditional-pem", "traditional-der", "pkcs8-pem", "pkcs8-der"]


@pytest.fixture(scope="module")
def rsa_key():
    return crsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def _b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _check_claims(claims, client_id, now, lifetime):
    assert claims["iss"] == client_id == claims["sub"]
    assert claims["aud"] == AUD
    assert claims["iat"] == now and claims["exp"] == now + lifetime
    assert len(_b64d(claims["jti"])) == 16


def _verify(token, alg, key, client_id, now, lifetime=60, check_time=True):
    """Verify with cryptography (always) and PyJWT (if installed); return (header, claims)."""
    h64, c64, s64 = token.split(".")
    signing_input = (h64 + "." + c64).encode()
    sig = _b64d(s64)
    header, claims = json.loads(_b64d(h64)), json.loads(_b64d(c64))
    assert header["alg"] == alg and header["typ"] == "JWT"
    if alg == "HS256":
        assert hmac.compare_digest(sig, hmac.new(key, signing_input, hashlib.sha256).digest())
        pub = key
    elif alg == "RS256":
        pub = key.public_key()
        pub.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert len(sig) == 64
        pub = key.public_key()
        der_sig = utils.encode_dss_signature(
            int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        )
        pub.verify(der_sig, signing_input, ec.ECDSA(hashes.SHA256()))
    _check_claims(claims, client_id, now, lifetime)
    if pyjwt is not None:
        decoded = pyjwt.decode(
            token,
            pub,
            algorithms=[alg],
            audience=AUD,
            issuer=client_id,
            options={
                "require": ["iss", "sub", "aud", "exp", "iat", "jti"],
                "verify_exp": check_time,
                "verify_iat": check_time,
            },
            leeway=10,
        )
        assert decoded == claims
        assert pyjwt.get_unverified_header(token) == header
    return header, claims


@pytest.mark.parametrize("fmt,enc", FORMATS, ids=FORMAT_IDS)
def test_rs256_every_encoding(rsa_key, fmt, enc):
    data = rsa_key.private_bytes(enc, fmt, NONE)
    now = int(time.time())
    token = djwt.client_assertion("device-rsa", AUD, now, key=data, kid="rsa-1")
    header, _ = _verify(token, "RS256", rsa_key, "device-rsa", now)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "rsa-1"}


@pytest.mark.parametrize("fmt,enc", FORMATS, ids=FORMAT_IDS)
def test_es256_every_encoding(ec_key, fmt, enc):
    data = ec_key.private_bytes(enc, fmt, NONE)
    loaded = der.load_private_key(data)
    nums = ec_key.private_numbers()
    assert loaded.d == nums.private_value
    assert loaded.public == (nums.public_numbers.x, nums.public_numbers.y)
    now = int(time.time())
    token = djwt.client_assertion("device-ec", AUD, now, key=data, alg="ES256", lifetime=120)
    header, _ = _verify(token, "ES256", ec_key, "device-ec", now, lifetime=120)
    assert header == {"alg": "ES256", "typ": "JWT"}


def test_rsa_pem_as_str_and_parsed_key(rsa_key):
    pem = rsa_key.private_bytes(PEM, PKCS8, NONE).decode()
    key = djwt.load_key(pem)
    nums = rsa_key.private_numbers()
    assert (key.n, key.e, key.d) == (nums.public_numbers.n, nums.public_numbers.e, nums.d)
    assert (key.p, key.q, key.dp, key.dq, key.qinv) == (
        nums.p,
        nums.q,
        nums.dmp1,
        nums.dmq1,
        nums.iqmp,
    )
    now = int(time.time())
    for k in (pem, key):
        _verify(djwt.client_assertion("c", AUD, now, key=k), "RS256", rsa_key, "c", now)


@pytest.mark.parametrize("bits", [3072, 4096])
def test_rs256_larger_keys(bits):
    k = crsa.generate_private_key(public_exponent=65537, key_size=bits)
    now = int(time.time())
    token = djwt.client_assertion("big", AUD, now, key=k.private_bytes(DER, PKCS1, NONE))
    _verify(token, "RS256", k, "big", now)


@pytest.mark.parametrize("secret", [SECRET, SECRET.encode(), "x" * 200])
def test_hs256(secret):
    now = int(time.time())
    token = djwt.client_assertion("device-hs", AUD, now, secret=secret, alg="HS256")
    raw = secret.encode() if isinstance(secret, str) else secret
    header, _ = _verify(token, "HS256", raw, "device-hs", now)
    assert header == {"alg": "HS256", "typ": "JWT"}


@pytest.mark.skipif(pyjwt is None, reason="PyJWT not installed")
def test_pyjwt_rejects_expired_and_wrong_audience(rsa_key):
    old = int(time.time()) - 3600
    token = djwt.client_assertion("c", AUD, old, key=rsa_key.private_bytes(PEM, PKCS1, NONE))
    with pytest.raises(pyjwt.ExpiredSignatureError):
        pyjwt.decode(token, rsa_key.public_key(), algorithms=["RS256"], audience=AUD)
    token = djwt.client_assertion("c", AUD, int(time.time()), secret=SECRET, alg="HS256")
    with pytest.raises(pyjwt.InvalidAudienceError):
        pyjwt.decode(token, SECRET, algorithms=["HS256"], audience="https://elsewhere")


def test_jti_unique_across_calls(rsa_key, ec_key):
    now = int(time.time())
    rk = djwt.load_key(rsa_key.private_bytes(DER, PKCS8, NONE))
    ek = djwt.load_key(ec_key.private_bytes(DER, PKCS8, NONE))
    jtis = set()
    tokens = []
    for _ in range(100):
        tokens.append(djwt.client_assertion("c", AUD, now, secret=SECRET, alg="HS256"))
    for _ in range(10):
        tokens.append(djwt.client_assertion("c", AUD, now, key=rk))
        tokens.append(djwt.client_assertion("c", AUD, now, key=ek, alg="ES256"))
    for t in tokens:
        jtis.add(json.loads(_b64d(t.split(".")[1]))["jti"])
    assert len(jtis) == len(tokens) == 120
    assert len(set(tokens)) == 120


def test_unicode_client_id_round_trips(ec_key):
    now = int(time.time())
    cid = 'gerät "7" \\ ü'
    token = djwt.client_assertion(
        cid, AUD, now, key=ec_key.private_bytes(PEM, PKCS1, NONE), alg="ES256"
    )
    _verify(token, "ES256", ec_key, cid, now)


def _err(**kw):
    with pytest.raises(djwt.JWTError) as info:
        djwt.client_assertion("c", AUD, int(time.time()), **kw)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_wrong_key_material_gives_jwt_error(rsa_key, ec_key):
    not_key = "private_key: not an RSA or EC private key"
    pub_pem = rsa_key.public_key().public_bytes(PEM, ser.PublicFormat.SubjectPublicKeyInfo)
    pub_der = rsa_key.public_key().public_bytes(DER, ser.PublicFormat.SubjectPublicKeyInfo)
    assert _err(key=pub_pem) == not_key
    assert _err(key=pub_der) == not_key
    ed = ed25519.Ed25519PrivateKey.generate()
    assert _err(key=ed.private_bytes(PEM, PKCS8, NONE)) == not_key
    assert _err(key=ed.private_bytes(DER, PKCS8, NONE)) == not_key
    p384 = ec.generate_private_key(ec.SECP384R1())
    for fmt, enc in FORMATS:
        msg = _err(key=p384.private_bytes(enc, fmt, NONE), alg="ES256")
        assert msg == "private_key: EC key: only P-256 is supported"
    enc_pem = rsa_key.private_bytes(PEM, PKCS8, ser.BestAvailableEncryption(b"pw"))
    assert _err(key=enc_pem) == "private_key: encrypted private keys are not supported"
    enc_trad = rsa_key.private_bytes(PEM, PKCS1, ser.BestAvailableEncryption(b"pw"))
    assert _err(key=enc_trad) == "private_key: encrypted private keys are not supported"
    small = crsa.generate_private_key(public_exponent=65537, key_size=1024)
    assert _err(key=small.private_bytes(PEM, PKCS1, NONE)) == (
        "private_key: RSA key shorter than 2048 bits"
    )
    ec_pem = ec_key.private_bytes(PEM, PKCS8, NONE)
    assert _err(key=ec_pem) == "private_key: RS256 needs an RSA key"
    rsa_pem = rsa_key.private_bytes(PEM, PKCS8, NONE)
    assert _err(key=rsa_pem, alg="ES256") == "private_key: ES256 needs an EC P-256 key"
    assert _err(key=rsa_pem, alg="PS256") == "alg: unsupported (use HS256, RS256 or ES256)"


def test_messages_never_carry_secrets(rsa_key):
    pem = rsa_key.private_bytes(PEM, PKCS1, NONE)
    body = pem.split(b"\n")[1].decode()
    msgs = [
        _err(secret=SECRET[:20], alg="HS256"),
        _err(secret=SECRET, key=pem, alg="HS256"),
        _err(secret=SECRET, key=pem),
        _err(key=pem[:-40]),
        _err(key=pem.replace(body.encode(), body[::-1].encode())),
        _err(key=pem, alg="ES256"),
    ]
    for m in msgs:
        assert SECRET[:8] not in m and body[:16] not in m and "MII" not in m


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # hypothesis is optional
    given = None


if given is not None:

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=300))
    def test_b64_round_trips_any_bytes(data):
        from devauth.jose import b64

        text = b64.encode(data)
        assert text == base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        assert b64.decode(text) == data

    @settings(max_examples=400, deadline=None)
    @given(st.data())
    def test_der_mutations_raise_only_der_error(ec_key, rsa_key, data):
        # Any corruption of a valid key yields a key or DERError, never another exception.
        src = data.draw(
            st.sampled_from(
                [
                    ec_key.private_bytes(DER, PKCS1, NONE),
                    ec_key.private_bytes(DER, PKCS8, NONE),
                    rsa_key.private_bytes(DER, PKCS1, NONE),
                    rsa_key.private_bytes(PEM, PKCS8, NONE),
                ]
            )
        )
        buf = bytearray(src)
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(buf) - 1))
            buf[i] = data.draw(st.integers(0, 255))
        cut = data.draw(st.integers(0, len(buf)))
        try:
            der.load_private_key(bytes(buf[:cut]))
        except der.DERError:
            pass

    @settings(max_examples=100, deadline=None)
    @given(
        client_id=st.text(min_size=1, max_size=40),
        lifetime=st.integers(1, 86400),
        now=st.integers(1577836800, 4102444800),
    )
    def test_hs256_claims_round_trip(client_id, lifetime, now):
        token = djwt.client_assertion(
            client_id, AUD, now, secret=SECRET, alg="HS256", lifetime=lifetime
        )
        _verify(token, "HS256", SECRET.encode(), client_id, now, lifetime, check_time=False)

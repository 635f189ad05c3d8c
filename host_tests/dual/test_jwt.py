"""JWT client authentication (HS256 / RS256 / ES256): dual tests for CPython and MicroPython.

Fixed vectors: RFC 4231 (HMAC-SHA256), RFC 7515 A.1 (HS256), RFC 6979 A.2.5 (P-256 / SHA-256),
and an RSA 2048 test key with signatures made once with `cryptography` (PKCS#1 v1.5 and
RFC 6979 deterministic ECDSA), so these checks do not depend on the code under test.
"""

import binascii
import json

from devauth.jose import b64, der, ecdsa, hmac256, rsa
from devauth.jose import jwt as djwt
from mptest import raises

RSA_PKCS1_PEM = """\
-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEAokBLBnJ9TBxIFUULgySOVOM87XMlM2J8W/62neLoMYqbmGx1
8M4wrP1uNGkbfjd2QcXkctedivZZjB7mMPi1H1o+iigIFtN8LuIHYzhJPG3hjbnf
O5epbX8ASy6tVRpyXdYKlVIIlXegiVxohcZs6+ns1PMQmPp9g2Qdm+NGAW0vMJLI
VVnUv+Wm4VjTJqvVVXovxBl8P9F6HC56hulGAatkdLoJ0fZhQzmRq1COphed4zUI
zybE6IIVJXaq/pZK6C9aC8VjkbeabYzRwuY3rTdpYYksclURqAgTfqjxeWrcoOHO
X0gJsxmXitBqUgDu/bz2cGvyOSVGTuRTEcRl5wIDAQABAoIBAEcujbu2XuIVRkqO
kA5o60iyqPhDm/5/Jq/1f4ilE9koRjsI2nVbAF/kj4TO2BD3pBoXB7KahbOBgKfI
ppS1iEDJBsb16RaakdC/uR3+g6LPUjUrZpRuZRZ0sVxKjiDYCXTBgsMfykRIx1V8
BR8rfn3BkvWZ7Z4vxwDt20+Y1g2pdgHVgHD78FTSI8XVYsqiITzekBKMhjpZ4Aqq
J++MmWs5oXfcCcTPc4FMsZtpwRCsG1yRD3IA7MeTDkgzijzqVyo1aG7btvMzWR4l
S4UpBWW10ek8TbC/YaxBY49izWb+kewK0CVcLMRQ7pr6Egt/FXxhJvfCJU0QYjX4
aS/xNgECgYEA11CSGkevJWYkYjSSrFciaowuKnomynMmz8lbLUO7m6JlTQAly8wG
0WdSLWdGPALuZmee9pmFPu/3GeS1YpCn9t9ziD4TI0f2dPZfT2jCk5eAKzFIv09V
dxxrFuw1DH4NI9iAJkCgO5as7ht+ec/lOChLX0+K5bS7d1bni0K99NECgYEAwOjg
CU/xVU8w4U89K8vudTHdNtrcG5X2E4+Qm4dgTSJGHv4TKMoFSMPTkFso+6TlTH1T
3Ob9a67AERds7NLk47xDaujegR3te+zdE2znSVltPQ6lp0lYnpK1fcatwv1BAg4S
xJwx+Ng07yJQipmaoxJ/8u+BxQJwgrI65oFvPTcCgYAmdyJix4OmrsS5NqMtXrOr
TTfCJuhfKos4e8RqJbuSZkSqqOgXrG9bYZXwvo5xkiR87u4bJ/oB8GS4n384CJe5
JtpA8LYCi4ygAJOuYAzCyUIAdWGFq+qcyNro0XH4tVwrlzXtn4YAnz5tm0PRBy7w
BWLRuCgcOVl0THY5DsdYwQKBgQCNKly3s85wlRC579hdsk//Zsvwllu3vBdk3Qv/
JCOujkQt7dNrZ9pSEytAWdU1wMcjIBs8bbRJFonqd+/3paRlmqDjHSGl7paYtw5Y
Zrshi9VKdut17VBySf2R2s/Q/q6RqGbHhV10MhMaY0v5AMqORr1msymNV2mp2m8L
uvACJQKBgQDO5vQ43gO1Ruixpi2Vn2eEm+v9pMsVS8NDqU436e9mnCGl2jK0D9lt
FdAYbPFUh6f7kddjM9/RxhSbsdygkQc9Gk9L2AVqJk3oYa+9SfCjA9pEZ1mV9BNs
Nx3mfyIcoxRYDK/U/c+JNOa0UjTkx8clpdXdX1gDFrpdizlQOyxIZA==
-----END RSA PRIVATE KEY-----
"""

RSA_PKCS8_DER_B64 = (
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCiQEsGcn1MHEgVRQuDJI5U4zztcyUzYnxb/rad"
    "4ugxipuYbHXwzjCs/W40aRt+N3ZBxeRy152K9lmMHuYw+LUfWj6KKAgW03wu4gdjOEk8beGNud87l6ltfwBLLq1V"
    "GnJd1gqVUgiVd6CJXGiFxmzr6ezU8xCY+n2DZB2b40YBbS8wkshVWdS/5abhWNMmq9VVei/EGXw/0XocLnqG6UYB"
    "q2R0ugnR9mFDOZGrUI6mF53jNQjPJsToghUldqr+lkroL1oLxWORt5ptjNHC5jetN2lhiSxyVRGoCBN+qPF5atyg"
    "4c5fSAmzGZeK0GpSAO79vPZwa/I5JUZO5FMRxGXnAgMBAAECggEARy6Nu7Ze4hVGSo6QDmjrSLKo+EOb/n8mr/V/"
    "iKUT2ShGOwjadVsAX+SPhM7YEPekGhcHspqFs4GAp8imlLWIQMkGxvXpFpqR0L+5Hf6Dos9SNStmlG5lFnSxXEqO"
    "INgJdMGCwx/KREjHVXwFHyt+fcGS9Zntni/HAO3bT5jWDal2AdWAcPvwVNIjxdViyqIhPN6QEoyGOlngCqon74yZ"
    "azmhd9wJxM9zgUyxm2nBEKwbXJEPcgDsx5MOSDOKPOpXKjVobtu28zNZHiVLhSkFZbXR6TxNsL9hrEFjj2LNZv6R"
    "7ArQJVwsxFDumvoSC38VfGEm98IlTRBiNfhpL/E2AQKBgQDXUJIaR68lZiRiNJKsVyJqjC4qeibKcybPyVstQ7ub"
    "omVNACXLzAbRZ1ItZ0Y8Au5mZ572mYU+7/cZ5LVikKf233OIPhMjR/Z09l9PaMKTl4ArMUi/T1V3HGsW7DUMfg0j"
    "2IAmQKA7lqzuG355z+U4KEtfT4rltLt3VueLQr300QKBgQDA6OAJT/FVTzDhTz0ry+51Md022twblfYTj5Cbh2BN"
    "IkYe/hMoygVIw9OQWyj7pOVMfVPc5v1rrsARF2zs0uTjvENq6N6BHe177N0TbOdJWW09DqWnSViekrV9xq3C/UEC"
    "DhLEnDH42DTvIlCKmZqjEn/y74HFAnCCsjrmgW89NwKBgCZ3ImLHg6auxLk2oy1es6tNN8Im6F8qizh7xGolu5Jm"
    "RKqo6Besb1thlfC+jnGSJHzu7hsn+gHwZLiffzgIl7km2kDwtgKLjKAAk65gDMLJQgB1YYWr6pzI2ujRcfi1XCuX"
    "Ne2fhgCfPm2bQ9EHLvAFYtG4KBw5WXRMdjkOx1jBAoGBAI0qXLezznCVELnv2F2yT/9my/CWW7e8F2TdC/8kI66O"
    "RC3t02tn2lITK0BZ1TXAxyMgGzxttEkWiep37/elpGWaoOMdIaXulpi3DlhmuyGL1Up263XtUHJJ/ZHaz9D+rpGo"
    "ZseFXXQyExpjS/kAyo5GvWazKY1Xaanabwu68AIlAoGBAM7m9DjeA7VG6LGmLZWfZ4Sb6/2kyxVLw0OpTjfp72ac"
    "IaXaMrQP2W0V0Bhs8VSHp/uR12Mz39HGFJux3KCRBz0aT0vYBWomTehhr71J8KMD2kRnWZX0E2w3HeZ/IhyjFFgM"
    "r9T9z4k05rRSNOTHxyWl1d1fWAMWul2LOVA7LEhk"
)

RSA_N_HEX = (
    "a2404b06727d4c1c4815450b83248e54e33ced732533627c5bfeb69de2e8318a9b986c75f0ce30acfd6e3469"
    "1b7e377641c5e472d79d8af6598c1ee630f8b51f5a3e8a280816d37c2ee2076338493c6de18db9df3b97a96d"
    "7f004b2ead551a725dd60a9552089577a0895c6885c66cebe9ecd4f31098fa7d83641d9be346016d2f3092c8"
    "5559d4bfe5a6e158d326abd5557a2fc4197c3fd17a1c2e7a86e94601ab6474ba09d1f661433991ab508ea617"
    "9de33508cf26c4e882152576aafe964ae82f5a0bc56391b79a6d8cd1c2e637ad376961892c725511a808137e"
    "a8f1796adca0e1ce5f4809b319978ad06a5200eefdbcf6706bf23925464ee45311c465e7"
)

RSA_SIG_B64U = (
    "cZkI6FVFc8r4cLTMNxsO0L9azjulqODZAaz100h2zSpnPhgvYxaYHH8BJvHKZMf2-"
    "hbHCw4uYGWH8C5wfSvVsDGR34FYY5aKT5WFhM2mgRBiU3FgRprFK4-"
    "JnnBBKSygOAJKsu46Pfiwj88fHVocLUFexRAmmA4mpk3KCRHvWb_IyLZc_zT3MPMwMI-fEVgoP9Z-"
    "tWMICwuXRce9Z-"
    "SywX4GxMnbqongDWQO44xVGtkgnEYDEAq4SGpyRZI2QARDrBSWqnRRSB1TJ2kZVfoTwWOGFvw5XILLVgQjgRh9V4"
    "m7b2s84DhJdAMggLr3HiCfHUim7ReMdxp26BfEfXVaPA"
)

EC_SEC1_PEM = """\
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIMmvqdhFunUWa1whV2ex1pNOUMPbNuibEnuKYisSD2choAoGCCqGSM49
AwEHoUQDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A/4QCLi8
maQa6elWKLxk8vGyDC1+n1F3o8KU1EYimQ==
-----END EC PRIVATE KEY-----
"""

EC_PKCS8_DER_B64 = (
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgya+p2EW6dRZrXCFXZ7HWk05Qw9s26JsSe4piKxIP"
    "ZyGhRANCAARg/tS6JVqdMclh63TGNW1owEm4kjth+mzmaWIuYPKftnkD/hAIuLyZpBrp6VYovGTy8bIMLX6fUXej"
    "wpTURiKZ"
)

TOKEN_RS256 = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJpc3MiOiJkZXZpY2UtNDIiLCJzdWIiOiJk"
    "ZXZpY2UtNDIiLCJhdWQiOiJodHRwczovL3BmLmV4YW1wbGUvYXMvdG9rZW4ub2F1dGgyIiwianRpIjoiQUFFQ0F3"
    "UUZCZ2NJQ1FvTERBME9EdyIsImlhdCI6MTc2NzIyNTYwMCwiZXhwIjoxNzY3MjI1NjYwfQ.K7Ku8PjP5l4iZ1Vqu"
    "1jEwSGYKrv-lBKC-PJx9JhXOhXAMpvbCb3a3QJuBayfIsmdQeh8qlefAlat43_U9Pb81fG8-"
    "1fj6y4yu4JFtz_YHUkTEbnOoPWfgehbMsr-"
    "_51yQrgRKjZCr2Dk_sqi9TTpb4dEW3MMiqXfnT7Cn43LxhugCWOhkVKqdcRLirfgHHn2XR_1x1KCJ9Ztx9j3XXEA"
    "bqMTtEn1UC_iOs0CckhdBkVtPGPQsMvgPxOCJkE6neRFJHCZaqGYS1UIhY-"
    "5wjTQLdVPc6JyYiPTCyZ8S0gTgadQTd48lX3TxgBdttt_7MqV-jSATKWD4OFqcrP_RdFjjw"
)

TOKEN_ES256 = (
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJkZXZpY2UtNDIiLCJzdWIiOiJkZXZpY2UtNDIiLCJ"
    "hdWQiOiJodHRwczovL3BmLmV4YW1wbGUvYXMvdG9rZW4ub2F1dGgyIiwianRpIjoiQUFFQ0F3UUZCZ2NJQ1FvTER"
    "BME9EdyIsImlhdCI6MTc2NzIyNTYwMCwiZXhwIjoxNzY3MjI1NjYwfQ.zALCuicF74pDZZkYY_WpQQkxAJQLyUrb"
    "-uOAD6qexhrZ654AgLL6ZTxDo2Htf73aVaI__MLW34_2bn7oOTm2CQ"
)

TOKEN_HS256 = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJkZXZpY2UtNDIiLCJzdWIiOiJkZXZpY2UtNDIiLCJ"
    "hdWQiOiJodHRwczovL3BmLmV4YW1wbGUvYXMvdG9rZW4ub2F1dGgyIiwianRpIjoiQUFFQ0F3UUZCZ2NJQ1FvTER"
    "BME9EdyIsImlhdCI6MTc2NzIyNTYwMCwiZXhwIjoxNzY3MjI1NjYwfQ.NWzOJLeYbW_4GpmYBiKD32wa6hB7hYpb"
    "cXed0wN-r8Y"
)

SECRET = b"0123456789abcdef0123456789abcdef!"
AUD = "https://pf.example/as/token.oauth2"
NOW = 1767225600  # 2026-01-01T00:00:00Z

# RFC 6979 A.2.5: P-256 private key and public point.
EC_D = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
EC_UX = 0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6
EC_UY = 0x7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299


def _unhex(s):
    return binascii.unhexlify(s)


def _tlv(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    if n < 0x100:
        return bytes([tag, 0x81, n]) + body
    return bytes([tag, 0x82, n >> 8, n & 0xFF]) + body


def _rsa_key():
    return der.load_private_key(RSA_PKCS1_PEM.encode())


def _ec_key():
    return der.load_private_key(EC_SEC1_PEM.encode())


def _parts(token):
    h, c, s = token.split(".")
    return json.loads(b64.decode(h)), json.loads(b64.decode(c)), b64.decode(s)


def _fixed_jti(fn):
    # Swap the module's jti source for the fixed vector value, then put it back.
    saved = djwt.new_jti
    djwt.new_jti = lambda: "AAECAwQFBgcICQoLDA0ODw"
    try:
        return fn()
    finally:
        djwt.new_jti = saved


# --- base64url ---------------------------------------------------------------------------


def test_b64_rfc4648_vectors():
    for raw, enc in (
        (b"", ""),
        (b"f", "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg"),
        (b"fooba", "Zm9vYmE"),
        (b"foobar", "Zm9vYmFy"),
        (b"\xfb\xff", "-_8"),
        (b"\xff\xef\xbf", "_--_"),
    ):
        assert b64.encode(raw) == enc
        assert b64.decode(enc) == raw
        assert b64.decode(enc.encode()) == raw


def test_b64_roundtrip_all_lengths():
    data = bytes((i * 37 + 11) & 0xFF for i in range(70))
    for n in range(len(data)):
        text = b64.encode(data[:n])
        assert "=" not in text and "+" not in text and "/" not in text and "\n" not in text
        assert b64.decode(text) == data[:n]


def test_b64_decode_is_strict():
    for bad in ("Zg=", "Zg==", "Z", "Zm9vY", "Zh", "Zm9+", "Zm9/", "Zm 9v", "Zm9v!", "Zm\n9v"):
        e = raises(ValueError, b64.decode, bad)
        assert str(e).startswith("base64url:")


# --- HMAC-SHA256 -------------------------------------------------------------------------


def test_hmac_rfc4231():
    cases = (
        (
            b"\x0b" * 20,
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            b"\xaa" * 20,
            b"\xdd" * 50,
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            bytes(range(1, 26)),
            b"\xcd" * 50,
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            b"\xaa" * 131,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            b"\xaa" * 131,
            b"This is a test using a larger than block-size key and a larger than block-size data."
            b" The key needs to be hashed before being used by the HMAC algorithm.",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    )
    for key, msg, want in cases:
        assert hmac256.hmac_sha256(key, msg) == _unhex(want)


def test_hmac_compare_digest():
    assert hmac256.compare_digest(b"abc", b"abc")
    assert not hmac256.compare_digest(b"abc", b"abd")
    assert not hmac256.compare_digest(b"abc", b"ab")
    assert hmac256.compare_digest(b"", b"")


def test_hs256_rfc7515_a1():
    key = b64.decode(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
    )
    signing_input = (
        b"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        b".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    )
    sig = djwt.sign(signing_input, "HS256", secret=key)
    assert b64.encode(sig) == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


# --- DER / PEM key loading ---------------------------------------------------------------


def test_rsa_pkcs1_pem_and_pkcs8_der_agree():
    a = _rsa_key()
    b = der.load_private_key(binascii.a2b_base64(RSA_PKCS8_DER_B64))
    assert isinstance(a, der.RSAKey) and isinstance(b, der.RSAKey)
    assert a.n == int(RSA_N_HEX, 16) == b.n
    assert a.e == 65537 == b.e
    assert (a.p, a.q, a.dp, a.dq, a.qinv) == (b.p, b.q, b.dp, b.dq, b.qinv)
    assert a.bits == 2048
    assert rsa.byte_length(a.n) == 256
    # PEM text as str, and PKCS#8 as PEM, load the same key.
    assert der.load_private_key(RSA_PKCS1_PEM).n == a.n
    pem8 = "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n" % RSA_PKCS8_DER_B64
    assert der.load_private_key(pem8).d == a.d


def test_ec_sec1_pem_and_pkcs8_der_agree():
    a = _ec_key()
    b = der.load_private_key(binascii.a2b_base64(EC_PKCS8_DER_B64))
    assert isinstance(a, der.ECKey) and isinstance(b, der.ECKey)
    assert a.d == EC_D == b.d
    assert a.public == (EC_UX, EC_UY) == b.public


def test_ec_parameters_block_before_key_is_skipped():
    # `openssl ecparam -genkey` writes an EC PARAMETERS block first.
    params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    assert der.load_private_key(params + EC_SEC1_PEM).d == EC_D


def test_key_repr_hides_material():
    r = repr(_rsa_key())
    assert r == "<RSAKey 2048 bits>"
    assert repr(_ec_key()) == "<ECKey P-256>"


def _der_error(data):
    return str(raises(der.DERError, der.load_private_key, data))


def test_der_rejects_what_is_not_a_private_key():
    not_key = "not an RSA or EC private key"
    assert _der_error(b"") == not_key
    assert _der_error(b"hello world") == not_key
    assert _der_error("no pem here") == not_key
    assert _der_error(b"-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n") == not_key
    # SubjectPublicKeyInfo-shaped DER: SEQUENCE { SEQUENCE { OID rsaEncryption }, BIT STRING }.
    spki = _tlv(0x30, _tlv(0x30, _tlv(0x06, _unhex("2a864886f70d010101"))) + _tlv(0x03, b"\x00"))
    assert _der_error(spki) == not_key
    # PKCS#8 Ed25519 (OID 1.3.101.112).
    ed = _tlv(
        0x30,
        _tlv(0x02, b"\x00")
        + _tlv(0x30, _tlv(0x06, _unhex("2b6570")))
        + _tlv(0x04, _tlv(0x04, bytes(32))),
    )
    assert _der_error(ed) == not_key


def test_der_rejects_encrypted_keys():
    enc8 = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n"
    assert "encrypted" in _der_error(enc8)
    lines = RSA_PKCS1_PEM.split("\n")
    legacy = "\n".join(
        [
            lines[0],
            "Proc-Type: 4,ENCRYPTED",
            "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF",
            "",
        ]
        + lines[1:]
    )
    assert "encrypted" in _der_error(legacy)


def test_der_rejects_other_curves_and_bad_scalars():
    p384 = _unhex("2b81040022")
    sec1 = _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, b"\x01" * 48) + _tlv(0xA0, _tlv(0x06, p384)))
    assert "P-256" in _der_error(sec1)
    p8 = _tlv(
        0x30,
        _tlv(0x02, b"\x00")
        + _tlv(0x30, _tlv(0x06, _unhex("2a8648ce3d0201")) + _tlv(0x06, p384))
        + _tlv(0x04, _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, b"\x01" * 48))),
    )
    assert "P-256" in _der_error(p8)
    zero = _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, bytes(32)))
    assert "range" in _der_error(zero)
    big = _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, b"\xff" * 32))
    assert "range" in _der_error(big)


def test_der_corruptions_raise_only_der_error():
    # Deterministic byte flips and truncations of real keys: a key or DERError, nothing else.
    sources = (
        binascii.a2b_base64(RSA_PKCS8_DER_B64),
        binascii.a2b_base64(EC_PKCS8_DER_B64),
        EC_SEC1_PEM.encode(),
    )
    seed = 12345
    outcomes = 0
    for i in range(150):
        buf = bytearray(sources[i % len(sources)])
        for _ in range(1 + i % 3):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            buf[seed % len(buf)] = (seed >> 8) & 0xFF
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        if i % 4 == 0:
            buf = buf[: seed % len(buf)]
        try:
            der.load_private_key(bytes(buf))
        except der.DERError:
            pass
        outcomes += 1
    assert outcomes == 150


def test_der_rejects_malformed_encodings():
    good = binascii.a2b_base64(RSA_PKCS8_DER_B64)
    for bad in (good[:-1], good[:40], good + b"\x00", good[:1] + b"\x80" + good[2:]):
        msg = _der_error(bad)
        assert msg.startswith("DER:") or msg == "not an RSA or EC private key", msg
    # RSA key whose p * q is not n.
    k = _rsa_key()
    ints = b"".join(
        _tlv(0x02, (v).to_bytes(rsa.byte_length(v) + 1, "big"))
        for v in (k.n, k.e, k.d, k.p, k.p, k.dp, k.dq, k.qinv)
    )
    assert "inconsistent" in _der_error(_tlv(0x30, _tlv(0x02, b"\x00") + ints))


# --- RSA (RS256) ------------------------------------------------------------------------


def test_rsa_signature_matches_cryptography_vector():
    sig = rsa.sign(_rsa_key(), b"devauth RS256 test vector")
    assert b64.encode(sig) == RSA_SIG_B64U
    n = int(RSA_N_HEX, 16)
    assert rsa.verify(n, 65537, b"devauth RS256 test vector", sig)
    assert not rsa.verify(n, 65537, b"devauth RS256 test vectoR", sig)
    assert not rsa.verify(n, 65537, b"devauth RS256 test vector", sig[:-1])


def test_rsa_fault_is_caught_by_self_check():
    k = _rsa_key()
    k.dp ^= 2  # a corrupted CRT exponent must never yield a released signature
    e = raises(ValueError, rsa.sign, k, b"x")
    assert str(e) == "rsa: signature self-check failed"
    msg = str(raises(djwt.JWTError, djwt.client_assertion, "c", AUD, NOW, key=k))
    assert msg == "private_key: RSA signature self-check failed (corrupt key?)"


def test_rsa_window_pow_matches_builtin():
    k = _rsa_key()
    for base, exp, mod in (
        (5, 1, 7),
        (5, 0, 7),
        (3, 16, 1000003),
        (k.n - 1, k.dp, k.p),
        (123456789, 0xF0F0F0F0F0F0F0F01, k.q),
        (k.d, k.e, k.n),
    ):
        assert rsa._pow(base, exp, mod) == pow(base, exp, mod)


# --- ECDSA (ES256) ----------------------------------------------------------------------


def test_ecdsa_rfc6979_vectors():
    sig = ecdsa.sign(EC_D, b"sample")
    assert sig == _unhex(
        "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
        "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"
    )
    sig = ecdsa.sign(EC_D, b"test")
    assert sig == _unhex(
        "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367"
        "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083"
    )


def test_ecdsa_public_key_and_verify():
    pub = ecdsa.public_key(EC_D)
    assert pub == (EC_UX, EC_UY)
    assert ecdsa.public_key(1) == ecdsa.G
    sig = ecdsa.sign(EC_D, b"hello")
    assert len(sig) == 64
    assert ecdsa.verify(pub, b"hello", sig)
    assert not ecdsa.verify(pub, b"hellp", sig)
    assert not ecdsa.verify(pub, b"hello", sig[:32] + sig[:32])
    assert not ecdsa.verify((EC_UX, EC_UY ^ 1), b"hello", sig)
    assert not ecdsa.verify(pub, b"hello", bytes(64))


# --- client assertions ------------------------------------------------------------------


def test_rs256_assertion_matches_vector():
    tok = _fixed_jti(
        lambda: djwt.client_assertion("device-42", AUD, NOW, key=RSA_PKCS1_PEM, kid="k1")
    )
    assert tok == TOKEN_RS256


def test_es256_assertion_matches_vector():
    key = binascii.a2b_base64(EC_PKCS8_DER_B64)
    tok = _fixed_jti(lambda: djwt.client_assertion("device-42", AUD, NOW, key=key, alg="ES256"))
    assert tok == TOKEN_ES256


def test_hs256_assertion_matches_vector():
    tok = _fixed_jti(
        lambda: djwt.client_assertion("device-42", AUD, NOW, secret=SECRET, alg="HS256")
    )
    assert tok == TOKEN_HS256
    tok2 = _fixed_jti(
        lambda: djwt.client_assertion("device-42", AUD, NOW, secret=SECRET.decode(), alg="HS256")
    )
    assert tok2 == TOKEN_HS256


def test_assertion_header_and_claims():
    key = djwt.load_key(RSA_PKCS1_PEM.encode())
    assert djwt.load_key(key) is key
    tok = djwt.client_assertion("c1", AUD, NOW + 0.7, key=key, lifetime=300)
    header, claims, sig = _parts(tok)
    assert header == {"alg": "RS256", "typ": "JWT"}
    assert claims["iss"] == "c1" and claims["sub"] == "c1"
    assert claims["aud"] == AUD
    assert claims["iat"] == NOW and claims["exp"] == NOW + 300
    assert len(b64.decode(claims["jti"])) == 16
    assert sorted(claims) == ["aud", "exp", "iat", "iss", "jti", "sub"]
    signing_input = tok.rsplit(".", 1)[0].encode()
    assert rsa.verify(key.n, key.e, signing_input, sig)
    tok = djwt.client_assertion("c1", [AUD, "https://other"], NOW, secret=SECRET, alg="HS256")
    header, claims, sig = _parts(tok)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims["aud"] == [AUD, "https://other"]
    raw = b64.decode(tok.split(".")[1])
    assert b'"aud":["https://pf.example/as/token.oauth2","https://other"],' in raw
    assert claims["exp"] == NOW + 60
    assert hmac256.compare_digest(sig, hmac256.hmac_sha256(SECRET, tok.rsplit(".", 1)[0].encode()))


def test_es256_assertion_verifies():
    key = _ec_key()
    tok = djwt.client_assertion("c1", AUD, NOW, key=key, alg="ES256", kid="ec-1")
    header, claims, sig = _parts(tok)
    assert header == {"alg": "ES256", "typ": "JWT", "kid": "ec-1"}
    assert len(sig) == 64
    assert ecdsa.verify(key.public, tok.rsplit(".", 1)[0].encode(), sig)


def test_jti_is_fresh_per_call():
    seen = set()
    for _ in range(40):
        tok = djwt.client_assertion("c1", AUD, NOW, secret=SECRET, alg="HS256")
        seen.add(_parts(tok)[1]["jti"])
    assert len(seen) == 40


def _jwt_error(**kw):
    args = {"client_id": "c1", "audience": AUD, "now": NOW}
    args.update(kw)
    cid = args.pop("client_id")
    aud = args.pop("audience")
    now = args.pop("now")
    e = raises(djwt.JWTError, djwt.client_assertion, cid, aud, now, **args)
    msg = str(e)
    assert "\n" not in msg
    assert SECRET.decode() not in msg and "MII" not in msg
    return msg


def test_errors_have_one_line_messages():
    assert _jwt_error(alg="HS256") == "client_secret_jwt needs client_secret"
    assert _jwt_error(alg="HS256", secret="") == "client_secret_jwt needs client_secret"
    assert _jwt_error(alg="HS256", secret=12345) == "client_secret: must be str or bytes"
    assert "32 bytes" in _jwt_error(alg="HS256", secret="short-secret")
    assert "not a private key" in _jwt_error(alg="HS256", secret=SECRET, key=RSA_PKCS1_PEM)
    assert _jwt_error() == "private_key_jwt needs a private key"
    assert _jwt_error(alg="ES256") == "private_key_jwt needs a private key"
    assert "not client_secret" in _jwt_error(key=RSA_PKCS1_PEM, secret=SECRET)
    assert _jwt_error(key=b"garbage") == "private_key: not an RSA or EC private key"
    assert _jwt_error(key=12) == "private_key: not an RSA or EC private key"
    assert _jwt_error(key=SECRET) == "private_key: not an RSA or EC private key"
    assert _jwt_error(key=EC_SEC1_PEM) == "private_key: RS256 needs an RSA key"
    assert _jwt_error(key=RSA_PKCS1_PEM, alg="ES256") == "private_key: ES256 needs an EC P-256 key"
    assert _jwt_error(key=RSA_PKCS1_PEM, alg="none").startswith("alg: unsupported")
    assert _jwt_error(key=RSA_PKCS1_PEM, alg="HS512").startswith("alg: unsupported")
    assert _jwt_error(client_id="", key=RSA_PKCS1_PEM).startswith("client_id:")
    assert _jwt_error(client_id=None, key=RSA_PKCS1_PEM).startswith("client_id:")
    assert _jwt_error(audience="", key=RSA_PKCS1_PEM).startswith("audience:")
    assert _jwt_error(audience=[], key=RSA_PKCS1_PEM).startswith("audience:")
    assert _jwt_error(audience=["x", 1], key=RSA_PKCS1_PEM).startswith("audience:")
    assert _jwt_error(now=0, key=RSA_PKCS1_PEM) == "now: clock not set (before 2020)"
    assert _jwt_error(now=946684800, key=RSA_PKCS1_PEM) == "now: clock not set (before 2020)"
    assert _jwt_error(now="1767225600", key=RSA_PKCS1_PEM).startswith("now:")
    assert _jwt_error(now=True, key=RSA_PKCS1_PEM).startswith("now:")
    assert _jwt_error(lifetime=0, key=RSA_PKCS1_PEM).startswith("lifetime:")
    assert _jwt_error(lifetime=-5, key=RSA_PKCS1_PEM).startswith("lifetime:")
    assert _jwt_error(kid="", key=RSA_PKCS1_PEM).startswith("kid:")
    bad_ec = der.ECKey(ecdsa.N)
    assert _jwt_error(key=bad_ec, alg="ES256") == "private_key: EC private scalar out of range"


def test_short_rsa_key_is_refused():
    k = _rsa_key()
    small = der.RSAKey(k.p, 65537, 1, 3, 5, 1, 1, 1)  # modulus of 1024 bits
    assert _jwt_error(key=small) == "private_key: RSA key shorter than 2048 bits"


def test_jwt_error_is_value_error():
    assert issubclass(djwt.JWTError, ValueError)
    assert issubclass(der.DERError, ValueError)

"""Minimal DER reader for the private keys JWT client auth signs with (PEM text is split into
its blocks by devauth.jose.pem; pem_to_der picks the private-key block).

Reads RSA keys in PKCS#1 (RFC 8017 A.1.2, `RSA PRIVATE KEY`) and PKCS#8 (RFC 5208 / 5958,
`PRIVATE KEY`), and EC P-256 keys in SEC1 (RFC 5915, `EC PRIVATE KEY`) and PKCS#8.
Encrypted keys are refused. Error messages never contain key material.
"""

# OID contents (without tag and length).
_OID_RSA = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"  # 1.2.840.113549.1.1.1 rsaEncryption
_OID_EC = b"\x2a\x86\x48\xce\x3d\x02\x01"  # 1.2.840.10045.2.1 id-ecPublicKey
_OID_P256 = b"\x2a\x86\x48\xce\x3d\x03\x01\x07"  # 1.2.840.10045.3.1.7 prime256v1

_INT = 0x02
_BITS = 0x03
_OCTETS = 0x04
_OID = 0x06
_SEQ = 0x30

# P-256 group order (FIPS 186-4 D.1.2.3), to range-check the private scalar.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class DERError(ValueError):
    """The data is not a supported, well-formed private key."""


class RSAKey:
    """RSA private key with the CRT values used for signing (RFC 8017 section 3.2)."""

    kty = "RSA"  # the JWK key type: lets jwt.py check keys without importing this module

    def __init__(self, n, e, d, p, q, dp, dq, qinv):
        self.n = n
        self.e = e
        self.d = d
        self.p = p
        self.q = q
        self.dp = dp
        self.dq = dq
        self.qinv = qinv
        self.bits = len(bin(n)) - 2  # MicroPython ints have no bit_length()

    def __repr__(self):
        return "<RSAKey %d bits>" % self.bits


class ECKey:
    """EC private key on P-256: scalar d and, if the encoding had it, the public point."""

    kty = "EC"
    curve = "P-256"

    def __init__(self, d, public=None):
        self.d = d
        self.public = public  # (x, y) or None

    def __repr__(self):
        return "<ECKey P-256>"


def read(buf, pos, end, tag):
    """Read one TLV of the given tag at pos; return (content_start, content_end)."""
    if pos + 2 > end:
        raise DERError("DER: truncated")
    if buf[pos] != tag:
        raise DERError("DER: unexpected tag")
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        nb = n & 0x7F
        if nb == 0 or nb > 3 or pos + nb > end:
            raise DERError("DER: bad length")
        n = int.from_bytes(buf[pos : pos + nb], "big")
        pos += nb
    if pos + n > end:
        raise DERError("DER: truncated")
    return pos, pos + n


def peek(buf, pos, end):
    """The tag at pos, or None at the end of the enclosing value."""
    return buf[pos] if pos < end else None


def read_uint(buf, pos, end):
    """Read a non-negative INTEGER; return (value, next_pos)."""
    s, e = read(buf, pos, end, _INT)
    if s == e or buf[s] & 0x80:
        raise DERError("DER: bad integer")
    return int.from_bytes(buf[s:e], "big"), e


def pem_to_der(data):
    """Decode the first private-key block of PEM text; return (label, der_bytes).

    Other blocks (for example `EC PARAMETERS` that `openssl ecparam -genkey` writes first)
    are skipped.
    """
    from devauth.jose.pem import pem_blocks

    if isinstance(data, str):
        data = data.encode()
    try:
        blocks = pem_blocks(data)
    except ValueError as e:
        raise DERError(str(e)) from None
    for label, der in blocks:
        if label in (b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"PRIVATE KEY"):
            return label.decode(), der
    raise DERError("not an RSA or EC private key")


def load_private_key(data):
    """PEM or DER bytes (or PEM str) -> RSAKey or ECKey; DERError if unsupported."""
    if not isinstance(data, str):
        data = bytes(data)
    if isinstance(data, str) or b"-----BEGIN" in data:
        label, der = pem_to_der(data)
    else:
        label, der = None, data
    if not der:
        raise DERError("not an RSA or EC private key")
    try:
        return _parse(der, label)
    except IndexError:
        raise DERError("DER: truncated") from None


def _parse(der, label):
    # All three encodings start SEQUENCE { INTEGER version, ... }; the second field tells
    # them apart: SEQUENCE (PKCS#8 AlgorithmIdentifier), INTEGER (PKCS#1 n), OCTET STRING (SEC1).
    try:
        s, e = read(der, 0, len(der), _SEQ)
    except DERError:
        raise DERError("not an RSA or EC private key") from None
    if e != len(der):
        raise DERError("DER: trailing data")
    if peek(der, s, e) != _INT:  # SubjectPublicKeyInfo, certificate, ...
        raise DERError("not an RSA or EC private key")
    version, pos = read_uint(der, s, e)
    kind = peek(der, pos, e)
    if kind == _SEQ and label in (None, "PRIVATE KEY"):
        return _pkcs8(der, pos, e, version)
    if kind == _INT and label in (None, "RSA PRIVATE KEY"):
        return _pkcs1(der, pos, e, version)
    if kind == _OCTETS and label in (None, "EC PRIVATE KEY"):
        return _sec1(der, pos, e, version, None)
    raise DERError("not an RSA or EC private key")


def _pkcs8(der, pos, end, version):
    if version > 1:
        raise DERError("PKCS#8: unsupported version")
    s, pos = read(der, pos, end, _SEQ)  # AlgorithmIdentifier
    os_, oe = read(der, s, pos, _OID)
    oid = der[os_:oe]
    ks, ke = read(der, pos, end, _OCTETS)  # privateKey
    if oid == _OID_RSA:
        s2, e2 = read(der, ks, ke, _SEQ)
        if e2 != ke:
            raise DERError("DER: trailing data")
        v, p2 = read_uint(der, s2, e2)
        return _pkcs1(der, p2, e2, v)
    if oid == _OID_EC:
        if peek(der, oe, pos) != _OID:
            raise DERError("EC key: only named curve P-256 is supported")
        cs, ce = read(der, oe, pos, _OID)
        if der[cs:ce] != _OID_P256:
            raise DERError("EC key: only P-256 is supported")
        s2, e2 = read(der, ks, ke, _SEQ)
        if e2 != ke:
            raise DERError("DER: trailing data")
        v, p2 = read_uint(der, s2, e2)
        return _sec1(der, p2, e2, v, _OID_P256)
    raise DERError("not an RSA or EC private key")


def _pkcs1(der, pos, end, version):
    if version != 0:
        raise DERError("RSA key: multi-prime keys are not supported")
    vals = []
    for _ in range(8):  # n e d p q dp dq qinv
        v, pos = read_uint(der, pos, end)
        vals.append(v)
    n, e, d, p, q, dp, dq, qinv = vals
    if p * q != n or e < 3 or not e & 1 or not 0 < qinv < p:
        raise DERError("RSA key: inconsistent values")
    return RSAKey(n, e, d, p, q, dp, dq, qinv)


def _sec1(der, pos, end, version, curve):
    if version != 1:
        raise DERError("EC key: unsupported version")
    s, pos = read(der, pos, end, _OCTETS)
    if not 0 < pos - s <= 32:  # RFC 5915: ceiling(log2(n) / 8) = 32 bytes on P-256
        raise DERError("EC key: only P-256 is supported")
    d = int.from_bytes(der[s:pos], "big")
    public = None
    if peek(der, pos, end) == 0xA0:  # [0] ECParameters
        ps, pos = read(der, pos, end, 0xA0)
        if peek(der, ps, pos) != _OID:
            raise DERError("EC key: only named curve P-256 is supported")
        cs, ce = read(der, ps, pos, _OID)
        curve = der[cs:ce]
    if curve is not None and curve != _OID_P256:
        raise DERError("EC key: only P-256 is supported")
    if peek(der, pos, end) == 0xA1:  # [1] publicKey BIT STRING: 0 unused bits, 04 || x || y
        ps, pos = read(der, pos, end, 0xA1)
        bs, be = read(der, ps, pos, _BITS)
        if be - bs == 66 and der[bs] == 0 and der[bs + 1] == 4:
            x = int.from_bytes(der[bs + 2 : bs + 34], "big")
            y = int.from_bytes(der[bs + 34 : be], "big")
            public = (x, y)
    if not 0 < d < P256_N:
        raise DERError("EC key: private scalar out of range")
    return ECKey(d, public)

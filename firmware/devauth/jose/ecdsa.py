"""ECDSA on P-256 with SHA-256 (ES256, RFC 7518 section 3.4), deterministic k (RFC 6979).

Pure Python integers: Jacobian coordinates with a = -3 doubling and mixed addition, and a
fixed-base comb (4 rows x 64 columns, 15 precomputed affine points built on first use)
for k*G. The JWS signature is raw r || s, 32 bytes each. Not constant-time: the signing
input of a client assertion is not chosen by an attacker, and k comes from RFC 6979.
"""

import hashlib

from devauth.jose.hmac256 import hmac_sha256

# FIPS 186-4 D.1.2.3 (secp256r1 / prime256v1).
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)

_ROWS = 4
_COLS = 64  # _ROWS * _COLS >= 256
_table = None  # _table[i] = sum of 2**(64*j) * G over the set bits j of i (affine)


def _dbl(pt):
    # dbl-2001-b (Bernstein-Lange EFD), a = -3. Points are (X, Y, Z); None is infinity.
    x, y, z = pt
    delta = z * z % P
    gamma = y * y % P
    beta = x * gamma % P
    alpha = 3 * (x - delta) * (x + delta) % P
    x3 = (alpha * alpha - 8 * beta) % P
    z3 = 2 * y * z % P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % P
    return (x3, y3, z3)


def _madd(pt, q):
    # Jacobian pt + affine q (madd-2004-hmv).
    if pt is None:
        return (q[0], q[1], 1)
    x1, y1, z1 = pt
    zz = z1 * z1 % P
    h = (q[0] * zz - x1) % P
    r = (q[1] * zz * z1 - y1) % P
    if h == 0:
        return _dbl(pt) if r == 0 else None
    hh = h * h % P
    hhh = h * hh % P
    v = x1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - y1 * hhh) % P
    return (x3, y3, z1 * h % P)


def _affine(pt):
    if pt is None:
        return None
    zi = pow(pt[2], P - 2, P)
    zi2 = zi * zi % P
    return (pt[0] * zi2 % P, pt[1] * zi2 * zi % P)


def _comb_table():
    global _table
    if _table is None:
        rows = [G]
        for _ in range(_ROWS - 1):
            pt = (rows[-1][0], rows[-1][1], 1)
            for _ in range(_COLS):
                pt = _dbl(pt)
            rows.append(_affine(pt))
        t = [None]
        for i in range(1, 1 << _ROWS):
            top = 0
            while i >> (top + 1):
                top += 1
            rest = i ^ (1 << top)
            pt = _madd(None if rest == 0 else (t[rest][0], t[rest][1], 1), rows[top])
            t.append(_affine(pt))
        _table = t
    return _table


def mul_g(k):
    """k * G as a Jacobian point (None for infinity), 0 <= k < 2**256."""
    t = _comb_table()
    rows = [(k >> (_COLS * j)) & ((1 << _COLS) - 1) for j in range(_ROWS)]
    pt = None
    for col in range(_COLS - 1, -1, -1):
        if pt is not None:
            pt = _dbl(pt)
        idx = 0
        for j in range(_ROWS):
            idx |= ((rows[j] >> col) & 1) << j
        if idx:
            pt = _madd(pt, t[idx])
    return pt


def public_key(d):
    """The affine public point (x, y) of private scalar d."""
    return _affine(mul_g(d))


def _nonces(d, h1):
    # RFC 6979 section 3.2 with HMAC-SHA256; qlen = hlen = 256, so one block per candidate.
    x = d.to_bytes(32, "big")
    h = (int.from_bytes(h1, "big") % N).to_bytes(32, "big")
    v = b"\x01" * 32
    k = hmac_sha256(b"\x00" * 32, v + b"\x00" + x + h)
    v = hmac_sha256(k, v)
    k = hmac_sha256(k, v + b"\x01" + x + h)
    v = hmac_sha256(k, v)
    while True:
        v = hmac_sha256(k, v)
        cand = int.from_bytes(v, "big")
        if 0 < cand < N:
            yield cand
        k = hmac_sha256(k, v + b"\x00")
        v = hmac_sha256(k, v)


def sign_digest(d, h1):
    """ES256 signature r || s (64 bytes) of a SHA-256 digest with private scalar d."""
    if not 0 < d < N:
        raise ValueError("ecdsa: private scalar out of range")
    e = int.from_bytes(h1, "big")
    for k in _nonces(d, h1):
        r = _affine(mul_g(k))[0] % N
        if r == 0:
            continue
        s = pow(k, N - 2, N) * (e + r * d) % N
        if s:
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def sign(d, msg):
    """ES256 signature r || s (64 bytes) of msg with private scalar d."""
    return sign_digest(d, hashlib.sha256(msg).digest())


def verify(pub, msg, sig):
    """True if sig (r || s) is a valid ES256 signature of msg under affine point pub."""
    if len(sig) != 64:
        return False
    x, y = pub
    if not (0 <= x < P and 0 <= y < P) or (y * y - x * x * x + 3 * x - B) % P:
        return False
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    if not (0 < r < N and 0 < s < N):
        return False
    w = pow(s, N - 2, N)
    e = int.from_bytes(hashlib.sha256(msg).digest(), "big")
    u2 = r * w % N
    acc = None
    for i in range(255, -1, -1):
        if acc is not None:
            acc = _dbl(acc)
        if (u2 >> i) & 1:
            acc = _madd(acc, pub)
    total = mul_g(e * w % N)
    acc = _affine(acc)
    if acc is not None:
        total = _madd(total, acc)
    total = _affine(total)
    return total is not None and total[0] % N == r

"""QR encoder tests that run on CPython (pytest) and on MicroPython (mp_suite.py).

The known symbols below were made once with segno 1.6.6 (ISO/IEC 18004 encoder) with its
padding fixed as described in test_qr_segno.py, and checked to scan with zbarimg. Each is the
hex of the packed rows (`stride` bytes a row, most significant bit first), one row per word.
"""

from devauth.oled.qr import QRError, capacity, encode
from mptest import raises

# (data, ecc, version asked, mask asked, version, mask, rows)
VECTORS = (
    (
        b"https://example.com/device",
        "M",
        None,
        None,
        2,
        5,
        "fe4a3f80 82d6a080 baaa2e80 babcae80 ba14ae80 822a2080 feaabf80 00fb8000 829c6700 "
        "296fdf00 727f9580 45b2b480 f609b080 9c299100 82e33d80 a0e27680 830efa00 00f08800 "
        "fe54a880 821b8800 ba2ffa00 ba50e180 ba470680 8229d880 fee8a480",
    ),
    (
        "devauth QR v7 \u2713",  # str: encoded as UTF-8
        "Q",
        7,
        4,
        7,
        4,
        "fe091e0ecbf8 825fba7f9208 baa07d8d12e8 ba75d4d81ae8 baaf6ff2bae8 82c038a78208 "
        "feaaaaaaabf8 001f889c6800 4ae21fbe5da0 e5f108eb0ab8 3eac08c1a298 ed3c047b10c8 "
        "5a187a59b860 50bd810cef50 76b8568461f8 e108528431a0 6ee79ba613b8 ec77a8eb5eb0 "
        "378e90c9c410 21190c7a06d0 dfb8ffd83ff8 d8dc188d68f8 fabf5a85fad8 a8edd8ed1888 "
        "8fdb9fc0bf80 144faa13ec28 1b2696de76e0 1081469a79f0 fed0fd185e78 dcd42bad13b8 "
        "f39714a5a918 85c5ff0b1448 9eea25e1a160 35fe71d4ecc8 0b3f2d9c77e0 78188c0c7830 "
        "9ad32fc65fb8 00c0f8b308b0 fe133ad9aa80 8246488348d8 baeb6ff19fe8 ba7b71c48fc8 "
        "ba1dba1c4ce0 8298100d7ca0 fe152dc7d128",
    ),
    (
        b"https://example.com/as/user_authz.oauth2?user_code=YYD6-CD4T",
        "M",
        None,
        None,
        4,
        7,
        "fe35533f80 822f4b2080 ba54c3ae80 ba377fae80 ba2e372e80 82d556a080 feaaaabf80 006b678000 "
        "96deb55000 5566c8f180 5bee965b80 d4ec86ed00 d7fb75a400 a5872eeb80 1718896d00 6c81fe2100 "
        "8a54cca900 adefadd400 cb3ec62380 20d8cd3000 c6ce3d1080 14e040a380 d210163480 48cbb4a580 "
        "82f24cf900 00e03b8c80 fe264caf00 82c5ee8900 ba120efc80 ba81842800 ba3a6e4e80 8220ece000 "
        "febe84e900",
    ),
)

# ISO/IEC 18004:2015 Table 7: byte-mode capacity of versions 1..10 at L, M, Q, H, and of 40.
CAPACITY = (
    (17, 14, 11, 7),
    (32, 26, 20, 14),
    (53, 42, 32, 24),
    (78, 62, 46, 34),
    (106, 84, 60, 44),
    (134, 106, 74, 58),
    (154, 122, 86, 64),
    (192, 152, 108, 84),
    (230, 180, 130, 98),
    (271, 213, 151, 119),
)
CAPACITY_40 = (2953, 2331, 1663, 1273)

URL80 = b"https://example.com/as/user_authz.oauth2?user_code=YYD6-CD4T&client_id=devauth-0"


def _rows_hex(q):
    """The symbol as hex rows, computed through the public get() only."""
    out = []
    stride = (q.size + 7) // 8
    for y in range(q.size):
        row = bytearray(stride)
        for x in range(q.size):
            if q.get(x, y):
                row[x >> 3] |= 0x80 >> (x & 7)
        out.append(bytes(row).hex())
    return " ".join(out)


def _format_bits(q, copy):
    """The 15 format information bits read back from copy 1 or 2 (7.9.1, Figure 25)."""
    bits = 0
    for i in range(15):
        if copy == 1:
            if i < 8:
                x, y = 8, i + (1 if i >= 6 else 0)
            else:
                x, y = 14 - i + (1 if i == 8 else 0), 8
        else:
            x, y = (q.size - 1 - i, 8) if i < 8 else (8, q.size - 15 + i)
        if q.get(x, y):
            bits |= 1 << i
    return bits


def _version_bits(q, copy):
    """The 18 version information bits read back from one of the two blocks (7.10)."""
    bits = 0
    for i in range(18):
        a, b = q.size - 11 + i % 3, i // 3
        if q.get(a, b) if copy == 1 else q.get(b, a):
            bits |= 1 << i
    return bits


def test_known_symbols():
    for data, ecc, ver, mask, want_ver, want_mask, rows in VECTORS:
        q = encode(data, ecc=ecc, version=ver, mask=mask)
        assert (q.version, q.ecc, q.mask) == (want_ver, ecc, want_mask), (data, q)
        assert q.size == 17 + 4 * want_ver
        assert _rows_hex(q) == rows, data
        # The packed bitmap is the same rows (framebuf MONO_HLSB layout).
        assert q.stride == (q.size + 7) // 8
        assert bytes(q.bitmap).hex() == rows.replace(" ", "")


def test_str_and_bytes_encode_alike():
    text = "https://example.com/d?c=\u00e9t\u00e9"
    a = encode(text)
    b = encode(text.encode())
    assert (a.version, a.mask) == (b.version, b.mask)
    assert bytes(a.bitmap) == bytes(b.bitmap)
    assert bytes(encode(bytearray(b"abc")).bitmap) == bytes(encode(b"abc").bitmap)


def test_capacity_table():
    for v in range(1, 11):
        for lvl in range(4):
            assert capacity(v, "LMQH"[lvl]) == CAPACITY[v - 1][lvl], (v, lvl)
    for lvl in range(4):
        assert capacity(40, "LMQH"[lvl]) == CAPACITY_40[lvl]


def test_version_auto_selection_boundaries():
    for lvl in range(4):
        ecc = "LMQH"[lvl]
        for v in range(1, 11):
            n = CAPACITY[v - 1][lvl]
            assert encode(b"a" * n, ecc=ecc, mask=0).version == v, (ecc, v)
            assert encode(b"a" * (n + 1), ecc=ecc, mask=0).version == v + 1, (ecc, v)
    assert encode(b"").version == 1
    assert encode(b"x" * 2953, ecc="L", mask=0).version == 40


def test_forced_version_and_mask():
    for m in range(8):
        q = encode(b"devauth", ecc="L", version=3, mask=m)
        assert (q.version, q.mask, q.size) == (3, m, 29)
        # Format information: level L (01) and the mask, BCH-coded and XOR-ed (7.9.1).
        assert _format_bits(q, 1) == _format_bits(q, 2)
        assert (_format_bits(q, 1) ^ 0x5412) >> 10 == 0x08 | m
    # Table C.1: the code words of M / mask 0 and L / mask 0.
    assert _format_bits(encode(b"1", ecc="M", mask=0), 1) == 0x5412
    assert _format_bits(encode(b"1", ecc="L", mask=0), 2) == 0x77C4
    # A larger forced version is honoured even when a smaller one would do.
    assert encode(b"1", version=10).version == 10


def test_version_information():
    # Table D.1: version 7 is 000111 110010 010100, version 10 is 001010 010011 010011.
    for ver, bits in ((7, 0x07C94), (10, 0x0A4D3), (40, 0x28C69)):
        q = encode(b"v", ecc="H", version=ver, mask=1)
        assert _version_bits(q, 1) == bits, ver
        assert _version_bits(q, 2) == bits, ver
    q = encode(b"v", version=6, mask=1)
    assert _version_bits(q, 1) != 0x07C94  # no version information below 7


def test_function_patterns():
    q = encode(URL80, ecc="M")
    n = q.size
    for x0, y0 in ((0, 0), (n - 7, 0), (0, n - 7)):
        for dy in range(7):
            for dx in range(7):
                ring = max(abs(dx - 3), abs(dy - 3))
                assert q.get(x0 + dx, y0 + dy) == (ring != 2), (x0, y0, dx, dy)
    for i in range(8, n - 8):
        assert q.get(i, 6) == (i % 2 == 0)
        assert q.get(6, i) == (i % 2 == 0)
    assert q.get(8, n - 8)  # the dark module
    # Outside the symbol is light (the quiet zone).
    assert not q.get(-1, 0) and not q.get(0, n) and not q.get(n, n - 1)


def test_too_long_raises_qrerror():
    e = raises(QRError, encode, b"x" * 2954, "L")
    assert isinstance(e, ValueError)
    assert "\n" not in str(e) and "2954" in str(e)
    raises(QRError, encode, b"x" * 2332, "M")
    raises(QRError, encode, b"x" * 18, "L", 1)  # forced version too small
    raises(QRError, encode, URL80, "M", 4)


def test_bad_arguments():
    raises(ValueError, encode, b"x", "X")
    raises(ValueError, encode, b"x", "ML")
    raises(ValueError, encode, b"x", "M", 0)
    raises(ValueError, encode, b"x", "M", 41)
    raises(ValueError, encode, b"x", "M", None, 8)
    raises(ValueError, encode, b"x", "M", None, -1)
    raises(ValueError, capacity, 0)
    raises(ValueError, capacity, 1, "m")


def test_url_at_l_and_m():
    # The size the sign-in screen shows: an 80-byte URL fits version 5 at both levels.
    assert len(URL80) == 80
    for ecc in "LM":
        q = encode(URL80, ecc=ecc)
        assert q.version == 5 and q.size == 37 and 0 <= q.mask <= 7
        dark = 0
        for y in range(q.size):
            for x in range(q.size):
                dark += q.get(x, y)
        assert 0.3 < dark / (q.size * q.size) < 0.7

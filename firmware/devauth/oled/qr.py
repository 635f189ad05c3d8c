"""A small QR Code encoder for MicroPython (runs unchanged on CPython).

Implements ISO/IEC 18004:2015 (QR Code Model 2): byte mode, error correction levels L, M, Q
and H, versions 1 to 40, the smallest version that fits (or a forced one) and the data mask
with the lowest penalty score (or a forced one)::

    from devauth.oled.qr import encode
    q = encode(b"https://example.com/device?user_code=WDJB-MJHT", ecc="M")
    q.size, q.version, q.ecc, q.mask
    q.get(x, y)  # True for a dark module

Memory: the symbol is a packed bitmap, one bit per module, rows of `stride` bytes, most
significant bit first (the layout of `framebuf.MONO_HLSB`, so `q.bitmap` can be blitted as
is). While choosing the mask the encoder keeps two more bitmaps (the data-module mask and the
transposed symbol, for scoring columns as rows), scores each mask line by line in small
reused buffers and computes the penalty rules bit-parallel, eight modules at a time.

Mask evaluation follows the same reading of the standard as the `segno` library: the symbol
is scored with the format and version information areas (and the dark module) still light,
a 1:1:3:1:1 finder-like pattern counts once when 4 light modules (or the symbol edge) come
before *or* after it, and a search for the next one resumes after a counted pattern.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


class QRError(ValueError):
    """The data cannot be encoded with the requested version / error correction level."""


MIN_VERSION = const(1)
MAX_VERSION = const(40)

_LEVELS = "LMQH"
# Format information error correction bits (7.9.1, Table 12), in _LEVELS order.
_FORMAT_LEVEL_BITS = b"\x01\x00\x03\x02"

# Table 9: error correction codewords per block, for versions 1..40, 40 bytes per level L, M, Q, H.
_ECC_PER_BLOCK = (
    b"\x07\x0a\x0f\x14\x1a\x12\x14\x18\x1e\x12\x14\x18\x1a\x1e\x16\x18\x1c\x1e\x1c\x1c"
    b"\x1c\x1c\x1e\x1e\x1a\x1c\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e"
    b"\x0a\x10\x1a\x12\x18\x10\x12\x16\x16\x1a\x1e\x16\x16\x18\x18\x1c\x1c\x1a\x1a\x1a"
    b"\x1a\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c"
    b"\x0d\x16\x12\x1a\x12\x18\x12\x16\x14\x18\x1c\x1a\x18\x14\x1e\x18\x1c\x1c\x1a\x1e"
    b"\x1c\x1e\x1e\x1e\x1e\x1c\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e"
    b"\x11\x1c\x16\x10\x16\x1c\x1a\x1a\x18\x1c\x18\x1c\x16\x18\x18\x1e\x1c\x1c\x1a\x1c"
    b"\x1e\x18\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e"
)
# Table 9: number of error correction blocks, same layout.
_NUM_BLOCKS = (
    b"\x01\x01\x01\x01\x01\x02\x02\x02\x02\x04\x04\x04\x04\x04\x06\x06\x06\x06\x07\x08"
    b"\x08\x09\x09\x0a\x0c\x0c\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x13\x14\x15\x16\x18\x19"
    b"\x01\x01\x01\x02\x02\x04\x04\x04\x05\x05\x05\x08\x09\x09\x0a\x0a\x0b\x0d\x0e\x10"
    b"\x11\x11\x12\x14\x15\x17\x19\x1a\x1c\x1d\x1f\x21\x23\x25\x26\x28\x2b\x2d\x2f\x31"
    b"\x01\x01\x02\x02\x04\x04\x06\x06\x08\x08\x08\x0a\x0c\x10\x0c\x11\x10\x12\x15\x14"
    b"\x17\x17\x19\x1b\x1d\x22\x22\x23\x26\x28\x2b\x2d\x30\x33\x35\x38\x3b\x3e\x41\x44"
    b"\x01\x01\x02\x04\x04\x04\x05\x06\x08\x08\x0b\x0b\x10\x10\x12\x10\x13\x15\x19\x19"
    b"\x19\x22\x1e\x20\x23\x25\x28\x2a\x2d\x30\x33\x36\x39\x3c\x3f\x42\x46\x4a\x4d\x51"
)

# Mask patterns (7.8.2) repeat within 12 modules along any row or column; from row to row they
# repeat with period _ROW_PERIOD[mask], from column to column with _COL_PERIOD[mask].
_ROW_PERIOD = b"\x02\x02\x01\x03\x04\x06\x06\x06"
_COL_PERIOD = b"\x02\x01\x03\x03\x06\x06\x06\x06"

_BIG = const(1 << 29)  # larger than any penalty score


def _tables():
    # GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1 (7.5.2): exp doubled to 512
    # entries so exp[log a + log b] needs no modulo; and a popcount table for the penalties.
    exp = bytearray(512)
    log = bytearray(256)
    x = 1
    for i in range(255):
        exp[i] = exp[i + 255] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= 0x11D
    pop = bytearray(256)
    for i in range(1, 256):
        pop[i] = pop[i >> 1] + (i & 1)
    return bytes(exp), bytes(log), bytes(pop)


_EXP, _LOG, _POP = _tables()


class QRCode:
    """An encoded symbol: `size` x `size` modules, `get(x, y)` is True for a dark module.

    `bitmap` holds the modules, one row per `stride` bytes, most significant bit first.
    """

    def __init__(self, version, ecc, mask, bitmap):
        self.version = version
        self.ecc = ecc
        self.mask = mask
        self.size = 17 + 4 * version
        self.stride = (self.size + 7) >> 3
        self.bitmap = bitmap

    def get(self, x, y):
        """True when module (x, y) is dark; x is the column, y the row; False outside."""
        if 0 <= x < self.size and 0 <= y < self.size:
            return (self.bitmap[y * self.stride + (x >> 3)] >> (7 - (x & 7))) & 1 == 1
        return False

    def __repr__(self):
        return "<QRCode version %d-%s mask %d, %dx%d>" % (
            self.version,
            self.ecc,
            self.mask,
            self.size,
            self.size,
        )


def _data_codewords(ver, lvl):
    """Number of data codewords of a version / level (7.4.10): all codewords minus ECC."""
    # Modules left for codewords once the function patterns are placed (Annex E, 6.3, 7.10).
    raw = (16 * ver + 128) * ver + 64
    if ver >= 2:
        na = ver // 7 + 2
        raw -= (25 * na - 10) * na - 55
        if ver >= 7:
            raw -= 36
    i = lvl * 40 + ver - 1
    return (raw >> 3) - _ECC_PER_BLOCK[i] * _NUM_BLOCKS[i]


def capacity(ver, ecc="M"):
    """Bytes of data that fit in a symbol of version `ver` at level `ecc` (byte mode)."""
    lvl = _level(ecc)
    if not MIN_VERSION <= ver <= MAX_VERSION:
        raise ValueError("version must be 1..40")
    count_bits = 8 if ver < 10 else 16
    return (_data_codewords(ver, lvl) * 8 - 4 - count_bits) >> 3


def _level(ecc):
    lvl = _LEVELS.find(ecc) if isinstance(ecc, str) and len(ecc) == 1 else -1
    if lvl < 0:
        raise ValueError("ecc must be one of L, M, Q, H")
    return lvl


def encode(data, ecc="M", version=None, mask=None):
    """Encode `data` (bytes, or str as UTF-8) in byte mode; return a `QRCode`.

    `version` None picks the smallest version (1..40) that fits, `mask` None the mask with the
    lowest penalty. Raises QRError when the data does not fit.
    """
    if isinstance(data, str):
        data = data.encode()
    lvl = _level(ecc)
    if mask is not None and not 0 <= mask <= 7:
        raise ValueError("mask must be 0..7")
    n = len(data)
    if version is None:
        ver = MIN_VERSION
        while capacity(ver, ecc) < n:
            ver += 1
            if ver > MAX_VERSION:
                raise QRError("data too long for a QR code: %d bytes at level %s" % (n, ecc))
    else:
        ver = version
        if capacity(ver, ecc) < n:
            raise QRError("data too long for version %d-%s: %d bytes" % (ver, ecc, n))

    size = 17 + 4 * ver
    stride = (size + 7) >> 3
    codewords = _codewords(data, ver, lvl)

    # The symbol and its function-module map; `func` becomes the data-module map below.
    sym = bytearray(stride * size)
    func = bytearray(stride * size)
    _function_patterns(sym, func, ver, size, stride)
    # Every pattern drawn so far, and the map, are symmetric about the main diagonal, so the
    # transposed symbol (used to score columns) starts as a copy and `func` serves both.
    symt = bytearray(sym) if mask is None else None
    pad = (0xFF << (8 * stride - size)) & 0xFF  # valid bits of a row's last byte
    for y in range(size):
        o = y * stride + stride - 1
        for k in range(o - stride + 1, o):
            func[k] ^= 0xFF
        func[o] = (func[o] ^ 0xFF) & pad
    _place(sym, symt, func, codewords, size, stride)
    codewords = None

    # 7.8: pick (or take) the mask pattern, then apply it to the data modules.
    tpl = bytearray(12 * stride)
    if mask is None:
        mask = _best_mask(sym, symt, func, tpl, size, stride)
        symt = None
    _templates(tpl, 0, mask, _ROW_PERIOD[mask], True, stride)
    period = _ROW_PERIOD[mask]
    for y in range(size):
        o = y * stride
        t = (y % period) * stride
        for k in range(stride):
            sym[o + k] ^= tpl[t + k] & func[o + k]
    tpl = func = None

    _format_info(sym, size, stride, _FORMAT_LEVEL_BITS[lvl] << 3 | mask)
    if ver >= 7:
        _version_info(sym, size, stride, ver)
    return QRCode(ver, _LEVELS[lvl], mask, sym)


def _codewords(data, ver, lvl):
    """7.4 data encoding, 7.5 error correction and 7.6 interleaving: the final codewords."""
    i = lvl * 40 + ver - 1
    ecl = _ECC_PER_BLOCK[i]
    nb = _NUM_BLOCKS[i]
    dcw = _data_codewords(ver, lvl)
    total = dcw + ecl * nb

    # 7.4.3 / 7.4.6: mode indicator 0100 (byte mode) and the character count (8 bits up to
    # version 9, else 16), then the data, all shifted by the 4-bit mode indicator.
    buf = bytearray(dcw)
    n = len(data)
    if ver < 10:
        buf[0] = 0x40 | (n >> 4)
        i = 1
    else:
        buf[0] = 0x40 | (n >> 12)
        buf[1] = (n >> 4) & 0xFF
        i = 2
    nib = n & 15
    for b in data:
        buf[i] = (nib << 4) | (b >> 4)
        nib = b & 15
        i += 1
    # 7.4.9 / 7.4.10: the last data nibble and the 4-bit terminator fill a byte exactly (there
    # is always room: the header is 12 or 20 bits); then pad codewords 11101100 00010001.
    buf[i] = nib << 4
    pad = 0xEC
    for j in range(i + 1, dcw):
        buf[j] = pad
        pad ^= 0xEC ^ 0x11

    # 7.5.2: the generator polynomial for `ecl` ECC codewords, prod (x - a^i) for i < ecl,
    # kept as the logs of its coefficients after the leading 1 (none of them is zero).
    gen = bytearray(ecl)
    gen[ecl - 1] = 1
    root = 1
    for _ in range(ecl):
        for j in range(ecl):
            c = gen[j]
            c = _EXP[_LOG[c] + _LOG[root]] if c else 0
            if j + 1 < ecl:
                c ^= gen[j + 1]
            gen[j] = c
        root = _EXP[_LOG[root] + 1]
    for j in range(ecl):
        gen[j] = _LOG[gen[j]]

    # 7.6: blocks; the first `short` ones have one data codeword less. Data codewords are
    # interleaved column by column (the extra one of long blocks last), then ECC the same way.
    out = bytearray(total)
    short = nb - (total % nb)
    dlen = total // nb - ecl
    rem = bytearray(ecl)
    exp = _EXP
    log = _LOG
    start = 0
    for blk in range(nb):
        end = start + dlen + (blk >= short)
        for j in range(ecl):
            rem[j] = 0
        # Remainder of data(x) * x^ecl divided by gen(x): long division, one codeword a step.
        for i in range(start, end):
            f = buf[i] ^ rem[0]
            if f:
                lf = log[f]
                for j in range(ecl - 1):
                    rem[j] = rem[j + 1] ^ exp[lf + gen[j]]
                rem[ecl - 1] = exp[lf + gen[ecl - 1]]
            else:
                for j in range(ecl - 1):
                    rem[j] = rem[j + 1]
                rem[ecl - 1] = 0
        for i in range(start, end):
            j = i - start
            out[j * nb + blk if j < dlen else dlen * nb + blk - short] = buf[i]
        for j in range(ecl):
            out[dcw + j * nb + blk] = rem[j]
        start = end
    return out


def _fill(buf, stride, x, y, w, h, dark):
    """Set (dark) or clear a w x h rectangle of modules with its top-left corner at (x, y)."""
    # (MicroPython compiles `for ... in range()` without a range object only for a constant
    # step, so loops here and below step by 1.)
    for yy in range(y, y + h):
        o = yy * stride
        for xx in range(x, x + w):
            if dark:
                buf[o + (xx >> 3)] |= 0x80 >> (xx & 7)
            else:
                buf[o + (xx >> 3)] &= ~(0x80 >> (xx & 7))


def _function_patterns(sym, func, ver, size, stride):
    """6.3: finder, separator, timing and alignment patterns into `sym`; all function
    modules, including the format / version areas (still light) and the dark module, into
    `func`."""
    # 6.3.3 / 6.3.4: three finder patterns; their 8x8 separator squares stay light. `func` gets
    # those squares plus the format information strips next to them (7.9.1).
    for i in range(3):
        x = size - 7 if i == 1 else 0
        y = size - 7 if i == 2 else 0
        _fill(sym, stride, x, y, 7, 7, True)
        _fill(sym, stride, x + 1, y + 1, 5, 5, False)
        _fill(sym, stride, x + 2, y + 2, 3, 3, True)
    _fill(func, stride, 0, 0, 9, 9, True)
    _fill(func, stride, size - 8, 0, 8, 9, True)
    _fill(func, stride, 0, size - 8, 9, 8, True)
    # 6.3.5: timing patterns along row 6 and column 6, dark on even coordinates.
    _fill(func, stride, 8, 6, size - 16, 1, True)
    _fill(func, stride, 6, 8, 1, size - 16, True)
    for i in range(8, size - 8, 2):
        _fill(sym, stride, i, 6, 1, 1, True)
        _fill(sym, stride, 6, i, 1, 1, True)
    # 6.3.6, Annex E: alignment patterns at every pair of centre coordinates (6, ...,
    # size - 7, evenly spaced) that does not collide with a finder pattern.
    if ver >= 2:
        na = ver // 7 + 2
        step = (ver * 8 + na * 3 + 5) // (na * 4 - 4) * 2
        last = na - 1
        for i in range(na):
            cy = 6 if i == 0 else size - 7 - (last - i) * step
            for j in range(na):
                if (i == 0 and (j == 0 or j == last)) or (i == last and j == 0):
                    continue
                cx = 6 if j == 0 else size - 7 - (last - j) * step
                _fill(sym, stride, cx - 2, cy - 2, 5, 5, True)
                _fill(sym, stride, cx - 1, cy - 1, 3, 3, False)
                _fill(sym, stride, cx, cy, 1, 1, True)
                _fill(func, stride, cx - 2, cy - 2, 5, 5, True)
    # 7.10: the two 6x3 version information areas (version 7 and up).
    if ver >= 7:
        _fill(func, stride, size - 11, 0, 3, 6, True)
        _fill(func, stride, 0, size - 11, 6, 3, True)


def _place(sym, symt, data_map, codewords, size, stride):
    """7.7.3: codeword bits, most significant first, in two-module columns from the right,
    zigzagging up and down and skipping function modules and the vertical timing pattern.
    Remainder bits stay light. Writes the transposed symbol `symt` too, when given."""
    i = 0
    nbits = len(codewords) * 8
    for right in range(size - 1, 0, -2):
        col = right - 1 if right <= 6 else right  # skip column 6
        upward = ((col + 1) & 2) == 0
        for vert in range(size):
            y = size - 1 - vert if upward else vert
            o = y * stride
            for x in range(col, col - 2, -1):
                bit = 0x80 >> (x & 7)
                if data_map[o + (x >> 3)] & bit:
                    if i < nbits and (codewords[i >> 3] >> (7 - (i & 7))) & 1:
                        sym[o + (x >> 3)] |= bit
                        if symt is not None:
                            symt[x * stride + (y >> 3)] |= 0x80 >> (y & 7)
                    i += 1


def _mask_bit(m, i, j):
    """7.8.2, Table 10: True where mask pattern `m` inverts the module at row i, column j."""
    if m == 0:
        return (i + j) % 2 == 0
    if m == 1:
        return i % 2 == 0
    if m == 2:
        return j % 3 == 0
    if m == 3:
        return (i + j) % 3 == 0
    if m == 4:
        return (i // 2 + j // 3) % 2 == 0
    if m == 5:
        return (i * j) % 2 + (i * j) % 3 == 0
    if m == 6:
        return ((i * j) % 2 + (i * j) % 3) % 2 == 0
    return ((i + j) % 2 + (i * j) % 3) % 2 == 0


def _mask_units():
    """Every line of every mask pattern as the 24 bits (3 bytes) that repeat along it: along a
    row or column each pattern repeats within 12 modules. For mask m, rows (o = 0) or columns
    (o = 1), and line index residue r (< 6, see _ROW_PERIOD / _COL_PERIOD): 3 bytes at
    ((m * 2 + o) * 6 + r) * 3."""
    units = bytearray(8 * 2 * 6 * 3)
    for m in range(8):
        for o in range(2):
            for r in range(6):
                u = 0
                for v in range(12):
                    u <<= 1
                    if _mask_bit(m, v, r) if o else _mask_bit(m, r, v):
                        u |= 1
                u |= u << 12
                i = ((m * 2 + o) * 6 + r) * 3
                units[i] = u >> 16
                units[i + 1] = (u >> 8) & 0xFF
                units[i + 2] = u & 0xFF
    return bytes(units)


_UNITS = _mask_units()


def _templates(tpl, base, m, period, rows, stride):
    """Packed lines of mask pattern `m` into `tpl` from `base` on, one per residue of the line
    index modulo `period`: rows when `rows` is True, else columns (as rows of the transposed
    symbol)."""
    u = (m * 2 + (0 if rows else 1)) * 18
    for r in range(period):
        o = base + r * stride
        for k in range(stride):
            tpl[o + k] = _UNITS[u + k % 3]
        u += 3


# noqa below: the four penalty rules of 7.8.3 in one pass over the symbol, for speed
def _best_mask(sym, symt, data_map, tpl, size, stride):  # noqa: C901
    """7.8.3: the mask pattern with the lowest penalty score (the first one on a tie).

    Each mask is scored line by line: the rows of the symbol, then its columns (the rows of the
    transposed symbol). A line is masked into `line`, which has a light byte before it and two
    after, and then taken a byte at a time in a 28-bit window `w`: the last 4 modules of the
    previous byte, this byte (modules p = 8k .. 8k+7) and the next two bytes. That is every
    module rules 1 and 3 look at for a start p, and module p + d sits at bit 13 - (p - 8k) +
    (10 - d) of `w`, so `w >> s` lines module p + 10 - s up for all eight starts at once. (The
    window stays below 2**30: a small int on a 32-bit MicroPython port too.)
    """
    line = bytearray(stride + 3)
    prev = bytearray(stride + 3)
    # Per byte of a line, the starts p whose window fits in the line: 5 modules for rule 1
    # (first half of `valid`), 2 for rule 2 (second half).
    valid = bytearray(2 * stride)
    for k in range(stride):
        for t in range(8):
            if 8 * k + t <= size - 5:
                valid[k] |= 0x80 >> t
            if 8 * k + t <= size - 2:
                valid[stride + k] |= 0x80 >> t
    pop = _POP
    total = size * size
    best = _BIG
    best_mask = 0
    for m in range(8):
        rp = _ROW_PERIOD[m]
        cp = _COL_PERIOD[m]
        _templates(tpl, 0, m, rp, True, stride)
        _templates(tpl, 6 * stride, m, cp, False, stride)
        score = 0
        dark = 0
        src = sym
        for i in range(2 * size):
            # Mask row i (or column i - size) into `line`.
            if i < size:
                o = i * stride
                t = (i % rp) * stride
            else:
                if i == size:
                    # Rule 4: 10 points per full 5 % that the dark share is off 50 %.
                    score += 10 * (abs(20 * dark - 10 * total) // total)
                    if score >= best:
                        break
                    src = symt
                o = (i - size) * stride
                t = (6 + (i - size) % cp) * stride
            for k in range(stride):
                line[k + 1] = src[o + k] ^ (tpl[t + k] & data_map[o + k])

            last = -8  # start of the last finder-like pattern that scored
            w = (line[1] << 8) | line[2]
            for k in range(stride):
                w = ((w & 0xFFFFF) << 8) | line[k + 3]
                # Rule 1: a run of 5 + i modules of one colour scores 3 + i, which is the
                # number of 5-module windows inside it plus 2 for the window at its start.
                diff = w ^ (w >> 1)  # bit: module differs from the one before it
                e = ~diff
                e &= e >> 1
                e &= e >> 2  # bit: 5 modules of one colour from here back
                run5 = (e >> 12) & valid[k]
                if run5:
                    score += pop[run5] + 2 * pop[run5 & (diff >> 16)]
                # Rule 3: dark-light-dark-dark-dark-light-dark at p..p+6, 40 points when the 4
                # modules before or the 4 after it are light (outside the symbol is light).
                x = w >> 4  # lines up p + 6
                x10 = x & ~(x >> 1)  # dark after light: at p + 5, p + 6 and at p + 1, p + 2
                found = ((x10 & (x10 >> 4) & (x >> 2) & (x >> 3) & (x >> 6)) >> 6) & 0xFF
                if found:
                    z = w | (w >> 1) | (w >> 2) | (w >> 3)  # bit: a dark module in 4 back
                    light = ~(z & (z >> 11)) >> 6
                    for j in range(8):
                        bit = 0x80 >> j
                        if found & bit:
                            p = 8 * k + j
                            # The search for the next pattern resumes at last + 7, so ones
                            # overlapping a scored one (at last + 4, last + 6) never score.
                            if light & bit and p - last != 4 and p - last != 6:
                                score += 40
                                last = p
            # The byte before the line is light, so a light run at its very start lost the
            # 2 points of its first window.
            if line[1] >> 3 == 0:
                score += 2

            if i < size:
                # Rule 2: 3 points per 2x2 block of one colour. Bit x of `same` is set when rows
                # i-1 and i agree at x; `blocks` adds x+1 agreeing and row i equal at x, x+1.
                n2 = 0
                for k in range(1, stride + 1):
                    b = (line[k] << 8) | line[k + 1]
                    dark += pop[line[k]]
                    same = ~(((prev[k] << 8) | prev[k + 1]) ^ b)
                    blocks = same & (same << 1) & ~(b ^ (b << 1))
                    n2 += pop[(blocks >> 8) & valid[stride + k - 1]]
                if i:
                    score += 3 * n2
                line, prev = prev, line
            if score >= best:
                break
        if score < best:
            best = score
            best_mask = m
    return best_mask


def _format_info(sym, size, stride, bits):
    """7.9.1: 5 format bits + BCH(15,5) code, XOR 101010000010010, in two copies; and the
    dark module at (8, size - 8)."""
    rem = bits
    for _ in range(10):
        rem = (rem << 1) ^ ((rem >> 9) * 0x537)
    bits = ((bits << 10) | rem) ^ 0x5412
    for i in range(15):
        if (bits >> i) & 1:
            # Copy 1 around the top-left finder: down column 8, then leftwards along row 8.
            if i < 8:
                _fill(sym, stride, 8, i + (i >= 6), 1, 1, True)
            else:
                _fill(sym, stride, 14 - i + (i == 8), 8, 1, 1, True)
            # Copy 2: leftwards along row 8 from the right edge (top right), then down
            # column 8 to the bottom edge (bottom left).
            if i < 8:
                _fill(sym, stride, size - 1 - i, 8, 1, 1, True)
            else:
                _fill(sym, stride, 8, size - 15 + i, 1, 1, True)
    _fill(sym, stride, 8, size - 8, 1, 1, True)


def _version_info(sym, size, stride, ver):
    """7.10: 6 version bits + BCH(18,6) code in two 6x3 blocks (bottom left, top right)."""
    rem = ver
    for _ in range(12):
        rem = (rem << 1) ^ ((rem >> 11) * 0x1F25)
    bits = (ver << 12) | rem
    for i in range(18):
        if (bits >> i) & 1:
            a = size - 11 + i % 3
            b = i // 3
            _fill(sym, stride, a, b, 1, 1, True)
            _fill(sym, stride, b, a, 1, 1, True)

"""application/x-www-form-urlencoded encoding (HTML form rules, as RFC 6749 Appendix B uses).

MicroPython has no urllib; this is the one encoder used for request bodies and, per RFC 6749
§2.3.1, for the client id and secret before HTTP Basic.
"""

_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._*"
_HEX = b"0123456789ABCDEF"


def quote(value):
    """Form-encode one name or value (str or bytes) and return it as str."""
    if isinstance(value, str):
        value = value.encode()
    out = bytearray()
    for c in value:
        if c in _SAFE:
            out.append(c)
        elif c == 0x20:
            out.append(0x2B)  # "+"
        else:
            out.append(0x25)  # "%"
            out.append(_HEX[c >> 4])
            out.append(_HEX[c & 15])
    return out.decode()


def encode(pairs):
    """Encode a list of (name, value) pairs as a request body (bytes)."""
    return "&".join(quote(k) + "=" + quote(v) for k, v in pairs).encode()

"""base64url without padding, as JWS uses it (RFC 7515 section 2, RFC 4648 section 5).

Runs on MicroPython and CPython over `binascii`. `decode` is strict on both: MicroPython's
`a2b_base64` silently skips bad characters, so the result is re-encoded and compared.
"""

import binascii


def encode(data):
    """bytes -> base64url text (str) without `=` padding or newline."""
    out = binascii.b2a_base64(data).rstrip(b"\n=")
    return out.replace(b"+", b"-").replace(b"/", b"_").decode()


def decode(text):
    """base64url text (str or bytes, no padding) -> bytes; ValueError if not canonical."""
    if isinstance(text, str):
        text = text.encode()
    if len(text) % 4 == 1:
        raise ValueError("base64url: bad length")
    std = text.replace(b"-", b"+").replace(b"_", b"/")
    try:
        data = binascii.a2b_base64(std + b"=" * (-len(std) % 4))
    except ValueError:  # binascii.Error on CPython is a ValueError
        raise ValueError("base64url: invalid input") from None
    if encode(data).encode() != bytes(text):
        raise ValueError("base64url: invalid input")
    return data

"""Decoding an application/x-www-form-urlencoded reply, for servers that ignore our
`Accept: application/json` (GitHub). Imported only when such a reply arrives, so it costs the
heap nothing otherwise; encoding lives in devauth.net.url.
"""

from devauth.errors import ProtocolError
from devauth.net.url import _HEX


def fields(resp, what):
    """A form-encoded reply (devauth.net.http.Response) -> {name: value}; ProtocolError."""
    try:
        return decode(resp.body)
    except ValueError:
        raise ProtocolError("%s: reply is not valid form data" % what) from None


def decode(body):
    """Parse an application/x-www-form-urlencoded body (bytes) -> {name: value} (str);
    ValueError on a bad %-escape or bytes that are not UTF-8."""
    out = {}
    for part in bytes(body).split(b"&"):
        if part:
            eq = part.find(b"=")
            name, value = (part, b"") if eq < 0 else (part[:eq], part[eq + 1 :])
            out[_unquote(name)] = _unquote(value)
    return out


def _unquote(b):
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x25:  # "%": two hex digits follow
            hi, lo = _HEX.find(b[i + 1 : i + 2].upper()), _HEX.find(b[i + 2 : i + 3].upper())
            if hi < 0 or lo < 0 or i + 3 > len(b):
                raise ValueError("bad %-escape")
            c = hi * 16 + lo
            i += 2
        elif c == 0x2B:  # "+"
            c = 0x20
        out.append(c)
        i += 1
    try:
        return out.decode()
    except UnicodeError:
        raise ValueError("not UTF-8") from None

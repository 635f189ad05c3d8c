"""URLs and forms: `split_url` for http(s) URLs, and application/x-www-form-urlencoded encoding
(HTML form rules, as RFC 6749 Appendix B uses).

MicroPython has no urllib; this is the one URL splitter (the HTTP clients and the config check use
it) and the one encoder used for request bodies and, per RFC 6749 §2.3.1, for the client id and
secret before HTTP Basic.
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


def split_url(url):
    """Split an http(s) URL into (scheme, host, port, path-with-query); raise ValueError.

    The URL goes into a request line and a Host header as it is, so anything that could end or
    bend them is refused: spaces, control and non-ASCII characters, credentials (userinfo), a
    fragment, an empty host, and host characters outside a DNS name or an IP address.
    """
    for ch in url:
        if not "!" <= ch <= "~":
            raise ValueError("must not contain spaces, control or non-ASCII characters")
    if url.startswith("https://"):
        scheme, rest, port = "https", url[8:], 443
    elif url.startswith("http://"):
        scheme, rest, port = "http", url[7:], 80
    else:
        raise ValueError("must start with https://")
    end = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if 0 <= i < end:
            end = i
    hostport, path = rest[:end], rest[end:]
    if "@" in hostport or "#" in path:
        raise ValueError("must not contain credentials or a fragment")
    if not path.startswith("/"):
        path = "/" + path
    host = hostport
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        if end < 0:
            raise ValueError("has a bad IPv6 host")
        host, tail = hostport[1:end], hostport[end + 1 :]
        if tail.startswith(":"):
            port = _port(tail[1:])
        elif tail:
            raise ValueError("has a bad host")
        allowed = _HEXCOLON
    else:
        if ":" in hostport:
            host, p = hostport.rsplit(":", 1)
            port = _port(p)
        allowed = _HOSTNAME
    if not host:
        raise ValueError("has no host")
    for ch in host:
        if ch not in allowed:
            raise ValueError("has a bad host")
    return scheme, host, port, path


_HOSTNAME = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._"
_HEXCOLON = "0123456789abcdefABCDEF:."


def decimal(text, digits):
    """`text` as an int when it is 1..`digits` ASCII digits, else None.

    str.isdigit() is not the test: it is true for '²' and other Unicode digits int() refuses.
    """
    if not 0 < len(text) <= digits:
        return None
    for ch in text:
        if not "0" <= ch <= "9":
            return None
    return int(text)


def _port(text):
    n = decimal(text, 5)
    if n is None or not 0 < n < 65536:
        raise ValueError("has a bad port")
    return n

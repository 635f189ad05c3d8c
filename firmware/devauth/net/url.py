"""URLs and forms: `split_url` for http(s) URLs, and application/x-www-form-urlencoded encoding
(HTML form rules, as RFC 6749 Appendix B uses).

MicroPython has no urllib; this is the one URL splitter (the HTTP clients and the config check use
it) and the one encoder used for request bodies and, per RFC 6749 §2.3.1, for the client id and
secret before HTTP Basic (devauth.net.form decodes the replies of servers that answer with a form).
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
    """Split an http(s) URL into (scheme, host, port, path-with-query); raise ValueError."""
    if url.startswith("https://"):
        scheme, rest, port = "https", url[8:], 443
    elif url.startswith("http://"):
        scheme, rest, port = "http", url[7:], 80
    else:
        raise ValueError("must start with https://")
    slash = rest.find("/")
    hostport, path = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    if "@" in hostport or "#" in path:
        raise ValueError("must not contain credentials or a fragment")
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
    elif ":" in hostport:
        host, p = hostport.rsplit(":", 1)
        port = _port(p)
    if not host:
        raise ValueError("has no host")
    return scheme, host, port, path


def _port(text):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError("has a bad port")
    return int(text)

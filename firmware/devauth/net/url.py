"""URLs and forms: `split_url` for http(s) URLs, and application/x-www-form-urlencoded encoding
(HTML form rules, as RFC 6749 Appendix B uses).

MicroPython has no urllib; this is the one URL splitter (the HTTP clients and the config check use
it) and the one encoder used for request bodies and, per RFC 6749 §2.3.1, for the client id and
secret before HTTP Basic (devauth.net.form decodes the replies of servers that answer with a form).
"""

_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._*"
_HEX = b"0123456789ABCDEF"


def quote(value, out=None):
    """Form-encode one name or value (str or bytes): appended to the bytearray `out`, or
    returned as str."""
    if isinstance(value, str):
        value = value.encode()
    buf = bytearray() if out is None else out
    for c in value:
        if c in _SAFE:
            buf.append(c)
        elif c == 0x20:
            buf.append(0x2B)  # "+"
        else:
            buf.append(0x25)  # "%"
            buf.append(_HEX[c >> 4])
            buf.append(_HEX[c & 15])
    return buf.decode() if out is None else out


def encode(pairs):
    """Encode a list of (name, value) pairs as a request body (a bytearray), written straight
    into one buffer: no string per pair, no joined copy (a JWT assertion is a long value)."""
    out = bytearray()
    for k, v in pairs:
        if out:
            out.append(0x26)  # "&"
        quote(k, out)
        out.append(0x3D)  # "="
        quote(v, out)
    return out


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
    end = 0
    while end < len(rest) and rest[end] not in "/?#":
        end += 1
    host, path = rest[:end], rest[end:]
    if "@" in host or "#" in path:
        raise ValueError("must not contain credentials or a fragment")
    if not path.startswith("/"):
        path = "/" + path
    host, port = _host_port(host, port)
    return scheme, host, port, path


def _host_port(hostport, port):
    """(host, port) of an authority without userinfo; ValueError for a bad host or port."""
    host = hostport
    if host.startswith("["):  # IPv6 literal
        end = host.find("]")
        if end < 0:
            raise ValueError("has a bad IPv6 host")
        host, tail = host[1:end], host[end + 1 :]
        if tail and tail[0] != ":" or ":" not in host and host:
            raise ValueError("has a bad host")
    else:
        colon = host.rfind(":")
        host, tail = (host, "") if colon < 0 else (host[:colon], host[colon:])
        if ":" in host:
            raise ValueError("has a bad host")
    if tail:
        port = decimal(tail[1:], 5)
        if not port or port > 65535:
            raise ValueError("has a bad port")
    if not host:
        raise ValueError("has no host")
    for ch in host:
        if not (ch.isalpha() or ch in "0123456789-._:"):  # ASCII here: checked before
            raise ValueError("has a bad host")
    return host, port


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

"""A second transport on micropython-urequests (`mip install urequests`), for firmware shipping it.

Limits, stated at every start by the app: urequests never verifies the server certificate
(it sets CERT_NONE), cannot present a client certificate (so no tls_client_auth), opens a new
connection per request (no keep-alive) and follows redirects, forwarding the Authorization header.
Use the builtin client (devauth.net.http) unless you must save its few kilobytes of code.
"""

from devauth.errors import NetworkError, ProtocolError
from devauth.net.http import MAX_BODY, Response, _oserr
from devauth.net.url import split_url

_KEEP = ("content-length", "connection", "retry-after", "content-type")


class URequestsClient:
    def __init__(self, allow_http=False, timeout=15, max_body=MAX_BODY):
        self.allow_http = allow_http
        self.timeout = timeout
        self.max_body = max_body
        self._buf = bytearray(max_body + 1)  # reply bodies land here: allocated once, reused
        self.connections = self.handshakes = self.requests = 0

    def post_form(self, url, body, headers=()):
        return self.request("POST", url, body, headers)

    def get(self, url):
        return self.request("GET", url, None, ())

    def request(self, method, url, body, headers):
        scheme = split_url(url)[0]
        if scheme != "https" and not self.allow_http:
            raise ProtocolError("refusing http:// (allow_insecure_http is false)")
        try:
            import urequests as requests
        except ImportError:
            import requests  # the same module under its micropython-lib name
        hdrs = {"Accept": "application/json"}
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        for name, value in headers:
            hdrs[name] = value
        self.connections += 1
        if scheme == "https":
            self.handshakes += 1
        try:
            r = requests.request(method, url, data=body, headers=hdrs, timeout=self.timeout)
        except OSError as e:
            raise NetworkError("request to %s failed (%s)" % (url, _oserr(e))) from None
        view = memoryview(self._buf)
        n = 0
        try:
            while n <= self.max_body:
                got = r.raw.readinto(view[n:])
                if not got:
                    break
                n += got
        except OSError as e:
            raise NetworkError("reading the reply failed (%s)" % _oserr(e)) from None
        finally:
            r.close()
        if n > self.max_body:
            raise ProtocolError("reply body is over the %d-byte limit" % self.max_body)
        data = view[:n]  # parsed by Response.json before the next request reuses the buffer
        self.requests += 1
        kept = {}
        for name in getattr(r, "headers", None) or {}:
            if name.lower() in _KEEP:
                kept[name.lower()] = r.headers[name]
        return Response(r.status_code, kept, data)

    def close(self):
        pass

"""The device configuration: one JSON file, keys named after OAuth metadata (RFC 8414, RFC 7591).

`load(path)` returns a `Config` or raises `ConfigError` with one line naming the key and the fault.
Files the config names (certificates, keys) are relative to the config file and read as DER.
"""

import json

from devauth.errors import ConfigError
from devauth.jose.pem import der_blocks
from devauth.net.url import split_url

AUTH_METHODS = (
    "none",
    "client_secret_basic",
    "client_secret_post",
    "tls_client_auth",
    "client_secret_jwt",
    "private_key_jwt",
)
HTTP_CLIENTS = ("builtin", "urequests")
_SECRET_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")

# Every key the file may hold; anything else is a typo worth reporting.
_KEYS = (
    "board",
    "wifi",
    "client_id",
    "scope",
    "issuer",
    "device_authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "token_endpoint_auth_method",
    "token_endpoint_auth_signing_alg",
    "client_assertion_audience",
    "private_key",
    "private_key_id",
    "client_secret",
    "tls_client_certificate",
    "tls_client_key",
    "ca_certificates",
    "api_ca_certificates",
    "state_dir",
    "allow_insecure_http",
    "http_client",
    "urequests_send_secrets_unverified",
    "discovery_allowed_hosts",
    "timeout",
)


class Config:
    """Validated settings. Secrets live here and nowhere else; `repr` never shows them."""

    # Set on the instance only when a config uses them (devauth.providers): these class
    # defaults keep every other Config small.
    extra_params = ()  # (name, value) pairs for the device authorization request
    token_params = ()  # (name, value) pairs for every token request
    device_grant = None  # (grant_type, code parameter) when not RFC 8628's (Entra v1)

    def __init__(self):
        self.board = "unix"
        self.wifi = None
        self.client_id = ""
        self.scope = None
        self.issuer = None  # with it, endpoints come from discovery (RFC 8414) unless given
        self.device_authorization_endpoint = None
        self.token_endpoint = None
        self.revocation_endpoint = None
        self.mtls_endpoint_aliases = None  # RFC 8705 §5, from discovery
        self.token_endpoint_auth_method = "none"
        self.client_secret = None
        self.private_key = None  # a parsed key (devauth.jose.der) for private_key_jwt
        self.private_key_id = None  # the JWT "kid"
        self.token_endpoint_auth_signing_alg = None  # HS256 / RS256 / ES256
        self.client_assertion_audience = None  # default: the token endpoint
        self.tls_client_certificate = None  # DER bytes of the client certificate
        self.tls_client_key = None  # DER bytes of its private key
        self.ca_certificates = []  # list of DER trust anchors
        # {API host, host:port or "*": [DER]} (_api_trust); devauth.oauth.api replaces each
        # list with its Trust (and TLS context) on first use
        self.api_ca_certificates = None
        self.state_dir = "state"
        self.allow_insecure_http = False
        self.http_client = "builtin"
        self.urequests_send_secrets_unverified = False
        self.discovery_allowed_hosts = []  # hosts besides the issuer's that discovery may name
        self.timeout = 15  # seconds: each socket wait, and each whole request

    def __repr__(self):
        return "<Config client_id=%s method=%s>" % (self.client_id, self.token_endpoint_auth_method)


def load(path):
    """Read and validate the config file at `path`."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        raise ConfigError("cannot read %s" % path) from None
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigError("%s is not valid JSON" % path) from None
    if not isinstance(data, dict):
        raise ConfigError("%s must hold a JSON object" % path)
    base = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
    return from_dict(data, base)


def from_dict(data, base=""):
    """Validate a parsed config; file names are resolved against `base` (ends with '/')."""
    c = Config()
    for key in data:
        if key not in _KEYS:  # a provider preset, extra parameters, or a typo
            data = _providers(c, data)
            break
    c.client_id = _text(data, "client_id", required=True)
    c.scope = _text(data, "scope")
    c.board = _text(data, "board") or c.board
    c.state_dir = _text(data, "state_dir") or "state"
    if not c.state_dir.startswith("/"):
        c.state_dir = base + c.state_dir
    c.allow_insecure_http = _flag(data, "allow_insecure_http")
    _client(c, data)
    _endpoints(c, data)
    c.wifi = _wifi(data.get("wifi"))
    _jwt_settings(c, data, base)
    _trust(c, data, base)
    _api_trust(c, data, base)
    return c


def _client(c, data):
    """http_client and the client authentication method; urequests only where it is honest."""
    c.http_client = _choice(data, "http_client", HTTP_CLIENTS, "builtin")
    c.token_endpoint_auth_method = _choice(data, "token_endpoint_auth_method", AUTH_METHODS, "none")
    c.urequests_send_secrets_unverified = _flag(data, "urequests_send_secrets_unverified")
    method = c.token_endpoint_auth_method
    if c.http_client == "urequests" and method == "tls_client_auth":
        raise ConfigError(
            "http_client urequests cannot present a client certificate "
            "(tls_client_auth); use the builtin client"
        )
    if c.http_client == "urequests" and method != "none":
        # urequests does not verify the server: whoever answers gets the credential.
        if not c.urequests_send_secrets_unverified:
            raise ConfigError(
                "http_client urequests would send the %s credential to an unverified server; "
                "use the builtin client (or set urequests_send_secrets_unverified to true)" % method
            )
    c.client_secret = _text(data, "client_secret", required=method in _SECRET_METHODS)
    if c.client_secret and method not in _SECRET_METHODS:
        raise ConfigError("client_secret is set but %s does not use it" % method)


def _endpoints(c, data):
    """issuer (discovery) or the endpoints themselves, and the request timeout."""
    c.issuer = _url(data, "issuer", c.allow_insecure_http, required=False)
    c.discovery_allowed_hosts = _hosts(data, "discovery_allowed_hosts")
    for key in ("device_authorization_endpoint", "token_endpoint", "revocation_endpoint"):
        required = c.issuer is None and key != "revocation_endpoint"
        setattr(c, key, _url(data, key, c.allow_insecure_http, required))
    t = data.get("timeout", 15)
    if not isinstance(t, int) or isinstance(t, bool) or not 1 <= t <= 300:
        raise ConfigError("timeout must be a whole number of seconds from 1 to 300")
    c.timeout = t


def _wifi(wifi):
    if wifi is not None:
        if not isinstance(wifi, dict) or not isinstance(wifi.get("ssid"), str):
            raise ConfigError('wifi must be {"ssid": ..., "password": ...}')
        for key in wifi:
            if key not in ("ssid", "password", "ntp_server"):
                raise ConfigError("unknown key wifi.%s" % key)
            if not isinstance(wifi[key], str):
                raise ConfigError("wifi.%s must be a string" % key)
    return wifi


def _trust(c, data, base):
    """ca_certificates (the server's trust anchors) and the client certificate (RFC 8705)."""
    cas = data.get("ca_certificates")
    if cas is None:
        if (c.issuer or c.device_authorization_endpoint).startswith("https:"):
            raise ConfigError("ca_certificates is missing (the CA that signs the server)")
    else:
        names = [cas] if isinstance(cas, str) else cas
        if not isinstance(names, list) or not names:
            raise ConfigError("ca_certificates must be a file name or a list of them")
        for name in names:
            c.ca_certificates.extend(_der_file(base, name, "ca_certificates"))
    cert, key = data.get("tls_client_certificate"), data.get("tls_client_key")
    if c.token_endpoint_auth_method == "tls_client_auth":
        if not cert or not key:
            raise ConfigError("tls_client_auth needs tls_client_certificate and tls_client_key")
    if cert or key:
        if not cert or not key:
            raise ConfigError("tls_client_certificate and tls_client_key go together")
        # The leaf certificate is presented; mbedTLS on MicroPython takes one DER certificate.
        c.tls_client_certificate = _der_file(base, cert, "tls_client_certificate")[0]
        c.tls_client_key = _der_file(base, key, "tls_client_key")[0]


def _api_trust(c, data, base):
    """api_ca_certificates: the trust anchors of the application's API hosts (devauth.oauth.api).

    A file or a list of files: for every API host. An object {host or host:port: file or list}:
    per host. An API host not named is trusted as the authorization server (ca_certificates).
    """
    v = data.get("api_ca_certificates")
    if v is None:
        return
    key = "api_ca_certificates"
    if not isinstance(v, dict):
        v = {"*": v}
    elif not v:
        raise ConfigError("%s must name a file, a list of files, or {host: files}" % key)
    out = {}
    for host, names in v.items():
        what = key if host == "*" else "%s[%s]" % (key, _show(host)[1:-1])
        if not host or "/" in host or "@" in host or not isinstance(names, (str, list)):
            raise ConfigError("%s must name a file, a list of files, or {host: files}" % what)
        names = [names] if isinstance(names, str) else names
        if not names:
            raise ConfigError("%s must name a file or a list of them" % what)
        ders = []
        for name in names:
            ders.extend(_der_file(base, name, what))
        out[host] = ders
    c.api_ca_certificates = out


def _text(data, key, required=False):
    v = data.get(key)
    if v is None:
        if required:
            raise ConfigError("%s is missing" % key)
        return None
    if not isinstance(v, str) or (required and not v):
        raise ConfigError("%s must be a non-empty string" % key)
    return v


def _flag(data, key):
    v = data.get(key, False)
    if not isinstance(v, bool):
        raise ConfigError("%s must be true or false" % key)
    return v


def _choice(data, key, allowed, default):
    v = data.get(key, default)
    if v not in allowed:
        raise ConfigError("%s %s is not one of %s" % (key, _show(v), ", ".join(allowed)))
    return v


def _jwt_settings(c, data, base):
    """client_secret_jwt / private_key_jwt: the key, its id, the algorithm and the audience."""
    method = c.token_endpoint_auth_method
    c.private_key_id = _text(data, "private_key_id")
    c.client_assertion_audience = _text(data, "client_assertion_audience")
    if c.client_assertion_audience == "issuer":
        if not c.issuer:
            raise ConfigError("client_assertion_audience issuer needs the issuer key")
        c.client_assertion_audience = c.issuer
    alg = _text(data, "token_endpoint_auth_signing_alg")
    name = data.get("private_key")
    if method != "private_key_jwt":
        if name is not None:
            raise ConfigError("private_key is set but %s does not use it" % method)
        if method == "client_secret_jwt":
            if alg not in (None, "HS256"):
                raise ConfigError("token_endpoint_auth_signing_alg must be HS256 here")
            if len(c.client_secret.encode()) < 32:  # RFC 7518 §3.2
                raise ConfigError("client_secret must be at least 32 bytes for client_secret_jwt")
            c.token_endpoint_auth_signing_alg = "HS256"
        return
    if not name:
        raise ConfigError("private_key is missing (private_key_jwt signs with it)")
    from devauth.jose import jwt

    try:
        c.private_key = jwt.load_key(_read(base, name, "private_key"))
    except ValueError as e:
        raise ConfigError("%s (%s)" % (e, name)) from None
    kind = "ES256" if type(c.private_key).__name__ == "ECKey" else "RS256"
    if alg not in (None, kind):
        raise ConfigError(
            "token_endpoint_auth_signing_alg %s does not fit the %s key" % (alg, kind)
        )
    c.token_endpoint_auth_signing_alg = kind


def _providers(c, data):
    """Keys of a preset or extra parameters (a typo otherwise): devauth.providers checks them,
    on the heap only while it works, so their names cost nothing when they are not used."""
    from devauth import providers, unload

    try:
        return providers.apply(c, data, _KEYS)
    finally:
        unload("devauth.providers")


def _url(data, key, allow_http, required=True):
    url = _text(data, key, required=required)
    if url is None:
        return None
    try:
        scheme = split_url(url)[0]
    except ValueError as e:
        raise ConfigError("%s %s" % (key, e)) from None
    if scheme == "http" and not allow_http:
        raise ConfigError("%s uses http:// (set allow_insecure_http to true to allow it)" % key)
    return url


def _hosts(data, key):
    """A list of host names (each checked as the host of an https URL)."""
    v = data.get(key, [])
    if not isinstance(v, list):
        raise ConfigError("%s must be a list of host names" % key)
    for h in v:
        if not isinstance(h, str) or not h or "/" in h or ":" in h:
            raise ConfigError("%s must be a list of host names (no scheme, port or path)" % key)
        try:
            split_url("https://" + h + "/")
        except ValueError as e:
            raise ConfigError("%s: %s %s" % (key, _show(h), e)) from None
    return [h.lower() for h in v]


def _read(base, name, key):
    if not isinstance(name, str) or not name:
        raise ConfigError("%s must name a file" % key)
    path = name if name.startswith("/") else base + name
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        raise ConfigError("%s: cannot read %s" % (key, path)) from None


def _der_file(base, name, key):
    data = _read(base, name, key)
    path = name if name.startswith("/") else base + name
    try:
        blocks = der_blocks(data, key)
    except ValueError as e:
        raise ConfigError("%s (%s)" % (e, path)) from None
    if not blocks:
        raise ConfigError("%s: no certificate or key in %s" % (key, path))
    return blocks


def _show(v):
    s = str(v)
    return repr(s[:40])

"""Provider presets (the endpoints and settings of the servers users point devauth at) and
extra request parameters: `apply(config, data)`, for devauth.config.

devauth.config imports this module only when the config holds a key it does not know, and
unloads it right after: neither the table nor this code stays on the heap. Keys set explicitly
in the config win over a preset; the endpoints made here are checked by devauth.config like
any other. This module depends on devauth.errors only.

    name: (keys that locate the server, base URL (%s: their values), device authorization path,
           token path, revocation path or None, settings the provider needs or None)

Settings: `token_endpoint_auth_method` and `scope` are defaults like the config keys; `needs`
names an extra_params key the provider requires, also sent with every token request; `grant` is
the (grant_type, device code parameter) of a token request that is not RFC 8628's.
Sources: each provider's documentation (issue 11); see examples/README.md.
"""

from devauth.errors import ConfigError

KEYS = ("provider", "base_url", "domain", "tenant", "realm", "extra_params", "token_extra_params")

PRESETS = {
    "pingfederate": (
        ("base_url",),
        "%s/as",
        "/device_authz.oauth2",
        "/token.oauth2",
        "/revoke_token.oauth2",
        None,
    ),
    # GitHub: form replies unless Accept: application/json, errors with HTTP 200. GitHub
    # Enterprise Server: set the two endpoints on your host.
    "github": ((), "https://github.com/login", "/device/code", "/oauth/access_token", None, None),
    # Google: "TVs and Limited Input devices" clients send their secret when polling.
    "google": (
        (),
        "https://oauth2.googleapis.com",
        "/device/code",
        "/token",
        "/revoke",
        {"token_endpoint_auth_method": "client_secret_post", "scope": "openid email"},
    ),
    # Entra ID v2: scope required (offline_access for a refresh token).
    "entra": (
        ("tenant",),
        "https://login.microsoftonline.com/%s/oauth2/v2.0",
        "/devicecode",
        "/token",
        None,
        {"scope": "openid profile offline_access"},
    ),
    # Entra ID v1 (ADAL): resource instead of scope, polls with grant_type=device_code and code.
    "entra-v1": (
        ("tenant",),
        "https://login.microsoftonline.com/%s/oauth2",
        "/devicecode",
        "/token",
        None,
        {"needs": "resource", "grant": ("device_code", "code")},
    ),
    # Auth0: public (Native) clients only; `audience` in extra_params for an API token.
    "auth0": (("domain",), "https://%s/oauth", "/device/code", "/token", "/revoke", None),
    # Okta: base_url is the authorization server's issuer, e.g. https://x.okta.com/oauth2/default
    "okta": (
        ("base_url",),
        "%s/v1",
        "/device/authorize",
        "/token",
        "/revoke",
        {"scope": "openid offline_access"},
    ),
    "keycloak": (
        ("base_url", "realm"),
        "%s/realms/%s/protocol/openid-connect",
        "/auth/device",
        "/token",
        "/revoke",
        None,
    ),
    # Dex: base_url is its issuer.
    "dex": (("base_url",), "%s", "/device/code", "/token", None, None),
    "zitadel": (
        ("domain",),
        "https://%s/oauth/v2",
        "/device_authorization",
        "/token",
        "/revoke",
        None,
    ),
}

UNSUPPORTED = {
    "salesforce": "Salesforce's device flow is not RFC 8628 (the code comes from the token "
    "endpoint with response_type=device_code, polled with grant_type=device and code)",
    "aws": "AWS IAM Identity Center is a JSON API with camelCase fields, not RFC 8628 forms",
}


def apply(c, data, known):
    """Fill `c`'s provider settings and extra parameters from `data` (whose other keys must be
    in `known`); -> `data` with the preset's keys filled in, for devauth.config to check."""
    for key in data:
        if key not in known and key not in KEYS:
            raise ConfigError("unknown key %s" % key)
    data, preset = _preset(data)
    _params(c, data, preset)
    return data


def _preset(data):
    """`provider`: the endpoints and settings of PRESETS (explicit keys win).
    -> (the config with the preset's keys filled in, the preset's settings or None)."""
    name = data.get("provider")
    for key in ("base_url", "domain", "tenant", "realm"):
        if key in data and name is None:
            raise ConfigError("%s is set but no provider uses it" % key)
    if name is None:
        return data, None
    if isinstance(name, str) and name in UNSUPPORTED:
        raise ConfigError("provider %s is not supported: %s" % (name, UNSUPPORTED[name]))
    if not isinstance(name, str) or name not in PRESETS:
        raise ConfigError(
            "provider %r is not one of %s" % (str(name)[:40], ", ".join(sorted(PRESETS)))
        )
    keys, base, device, token, revoke, settings = PRESETS[name]
    for key in ("base_url", "domain", "tenant", "realm"):
        if key in data and key not in keys:
            raise ConfigError("%s is set but provider %s does not use it" % (key, name))
    base = _base(name, keys, base, data)
    data = dict(data)
    filled = [("device_authorization_endpoint", device), ("token_endpoint", token)]
    if revoke:
        filled.append(("revocation_endpoint", revoke))
    for key, path in filled:
        if key not in data and "issuer" not in data:
            data[key] = base + path
    for key in ("token_endpoint_auth_method", "scope"):
        if settings and key in settings and key not in data:
            data[key] = settings[key]
    return data, settings


def _base(name, keys, base, data):
    """The preset's base URL with the config's `keys` (base_url, domain, ...) filled in."""
    values = []
    for key in keys:
        v = data.get(key)
        if v is None:
            raise ConfigError("%s is missing (provider %s)" % (key, name))
        if not isinstance(v, str) or not v:
            raise ConfigError("%s must be a non-empty string" % key)
        if key == "base_url":
            http = data.get("allow_insecure_http") is True and v.startswith("http://")
            if not (v.startswith("https://") or http):
                raise ConfigError("base_url must start with https://")
            v = v.rstrip("/")
        elif [ch for ch in v if ch not in _NAME_CHARS + ":"]:
            raise ConfigError("%s must be a name: letters, digits and . - _ : only" % key)
        values.append(v)
    return base % tuple(values) if values else base


def _params(c, data, preset):
    """extra_params (device authorization request) and token_extra_params (every token
    request): {name: string}, checked; a preset's required one is sent to both."""
    c.extra_params = _param_list(data, "extra_params")
    c.token_params = _param_list(data, "token_extra_params")
    if preset and "needs" in preset:
        need = preset["needs"]
        if need not in data.get("extra_params", {}):
            raise ConfigError("provider %s needs extra_params.%s" % (data["provider"], need))
        if need not in data.get("token_extra_params", {}):
            c.token_params.append((need, data["extra_params"][need]))
    if preset and "grant" in preset:
        c.device_grant = preset["grant"]


_SET_BY_DEVAUTH = ("client_id", "client_secret", "client_assertion", "client_assertion_type")
_SET_BY_DEVAUTH += ("scope", "grant_type", "device_code", "code", "refresh_token", "token")


def _param_list(data, key):
    v = data.get(key)
    if v is None:
        return []
    if not isinstance(v, dict) or len(v) > 8:
        raise ConfigError('%s must be {"name": "value", ...} (at most 8)' % key)
    out = []
    for name in sorted(v):
        if not name or len(name) > 64 or [ch for ch in name if ch not in _NAME_CHARS]:
            raise ConfigError("%s: %r is not a parameter name" % (key, name[:40]))
        if name in _SET_BY_DEVAUTH:
            raise ConfigError("%s.%s is set by devauth, not here" % (key, name))
        if not isinstance(v[name], str) or not v[name] or len(v[name]) > 512:
            raise ConfigError("%s.%s must be a string of 1 to 512 characters" % (key, name))
        out.append((name, v[name]))
    return out


_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

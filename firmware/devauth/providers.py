"""Provider presets: the endpoints and settings of the servers users point devauth at.

devauth.config imports this module only when the config names a `provider`, and unloads it right
after: the table never stays on the heap. Keys set explicitly in the config win over a preset.

    name: (keys that locate the server, base URL (%s: their values), device authorization path,
           token path, revocation path or None, settings the provider needs or None)

Settings: `token_endpoint_auth_method` and `scope` are defaults like the config keys; `needs`
names an extra_params key the provider requires, also sent with every token request; `grant` is
the (grant_type, device code parameter) of a token request that is not RFC 8628's.
Sources: each provider's documentation (issue 11); see examples/README.md.
"""

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

"""devauth dev-as: a local OAuth 2.0 authorization server for the Device Authorization Grant.

RFC 8628 on PingFederate's paths, built on Authlib (`DeviceAuthorizationEndpoint`,
`DeviceCodeGrant`, `RefreshTokenGrant`, `RevocationEndpoint`, `JWTBearerClientAssertion`, the
Flask `AuthorizationServer`), served over HTTPS with a trustme test CA by werkzeug's threaded
server with HTTP/1.1 keep-alive:

- `POST /as/device_authz.oauth2`  device authorization (RFC 8628 §3.1)
- `POST /as/token.oauth2`         token (device_code and refresh_token grants; every refresh
                                  rotates the refresh token, a used one answers invalid_grant)
- `POST /as/revoke_token.oauth2`  revocation (RFC 7009; a refresh token takes its access token
                                  with it)
- `GET|POST /as/user_authz.oauth2` the page where a person approves or denies a user code
- `GET /_devauth/stats`            connection, request and client-authentication counters (JSON)
- `/api/readings[/<id>]`           a small protected API (Bearer tokens this server issued), with
                                  fault switches for the firmware's tests (see `api`)
- `GET /.well-known/oauth-authorization-server` (and `openid-configuration`): RFC 8414 metadata,
  with RFC 8705 `mtls_endpoint_aliases` when a second, mTLS-only listener runs (`mtls_port`)

Clients (in memory; every endpoint takes the same method; `server.json` lists them):

- `public-device`      none
- `basic-device`       client_secret_basic, secret `CLIENT_SECRET` ("s3cr:t/+&=% é")
- `post-device`        client_secret_post, the same secret
- `mtls-device`        tls_client_auth (RFC 8705 §2.1.2), subject `CN=devauth-test-device,O=devauth`
                       (the PKI's `client.*`); only on the mTLS port when there is one
- `jwt-secret-device`  client_secret_jwt (RFC 7523), HS256 with `JWT_SECRET`
                       ("a-32-byte-or-longer-shared-secret-for-hs256!!")
- `jwt-rsa-device`     private_key_jwt, RS256, kid `rsa-1` (the PKI's `jwt-rsa.key`)
- `jwt-ec-device`      private_key_jwt, ES256, kid `ec-1` (the PKI's `jwt-ec.key`)

A client assertion must have `iss` = `sub` = the client id; an `aud` of the token endpoint, the
device authorization endpoint or the issuer (the base URL); an `exp` not past and at most an hour
ahead, an `iat` and `nbf` not in the future (60 s leeway each); a `jti` not seen before
(PingFederate's replay prevention); and the client's `alg`. A `kid`, if any, must be the
client's; a `client_id` sent with the assertion must be its `sub`. Every failure is 401
`invalid_client`.

In-process use (tests)::

    with DevAS(state_dir, port=0, auto_approve=1.0, interval=1, mtls_port=0) as srv:
        srv.base_url, srv.port, srv.mtls_base_url, srv.mtls_port, srv.pki, srv.jwks,
        srv.metadata(), srv.stats(), srv.approve(user_code), srv.token_info(token)

Command line: `devauth dev-as --help` (`cli.main(argv)`; `python -m devauth_tools.dev_as`).

One module per concern; dependencies point one way:

- `constants`  paths, the dev clients' secrets, scopes, client authentication methods
- `clients`    the registered clients and the client authentication methods
- `store`      in-memory state: clients, device codes, decisions, tokens, counters
- `grants`     Authlib grants, endpoints and authorization server, backed by the store
- `pages`      the Flask application: OAuth endpoints, approval page, stats, metadata
- `server`     HTTPS server: TLS per connection thread, HTTP/1.1 keep-alive, counters
- `api`        a protected API (RFC 6750 Bearer, RFC 8705 §3 bound tokens) with fault switches
- `quirks`     `--quirks NAME`: replies shaped as GitHub, Google, Entra, Auth0, Dex answer
- `devas`      `DevAS`, the server in a background thread (in-process API)
- `cli`        the command line
"""

# Each name is loaded from its module on first use (PEP 562): `devauth --help` and
# `devauth run` do not import Flask and Authlib.
_FROM = {
    "ACCESS_TOKEN_EXPIRES_IN": "constants",
    "AUTH_METHODS": "constants",
    "CLIENT_SECRET": "constants",
    "Client": "clients",
    "ClientAssertionAuth": "clients",
    "DEFAULT_SCOPE": "constants",
    "DEVICE_AUTHZ_PATH": "constants",
    "DEV_USER": "constants",
    "DevAS": "devas",
    "FAIL_HTML": "pages",
    "HANDSHAKE_TIMEOUT": "server",
    "IDLE_TIMEOUT": "server",
    "JWT_KEY_CLIENTS": "clients",
    "JWT_LEEWAY": "constants",
    "JWT_METHODS": "constants",
    "JWT_SECRET": "constants",
    "JWT_SIGNING_ALGS": "constants",
    "MAX_ASSERTION_LIFETIME": "constants",
    "MAX_DRAIN": "server",
    "METADATA_PATHS": "constants",
    "REVOKE_PATH": "constants",
    "STATS_KEYS": "store",
    "STATS_PATH": "constants",
    "SUPPORTED_SCOPES": "constants",
    "TOKEN_PATH": "constants",
    "USER_AUTHZ_PATH": "constants",
    "add_parser": "cli",
    "authenticate_client_secret_basic": "clients",
    "authenticate_tls_client_auth": "clients",
    "basic_credentials": "clients",
    "build_parser": "cli",
    "create_app": "pages",
    "default_clients": "clients",
    "load_client_keys": "clients",
    "main": "cli",
    "make_tls_context": "server",
    "normalize_user_code": "store",
}

__all__ = [
    "ACCESS_TOKEN_EXPIRES_IN",
    "AUTH_METHODS",
    "CLIENT_SECRET",
    "DEFAULT_SCOPE",
    "DEV_USER",
    "DEVICE_AUTHZ_PATH",
    "FAIL_HTML",
    "HANDSHAKE_TIMEOUT",
    "IDLE_TIMEOUT",
    "JWT_KEY_CLIENTS",
    "JWT_LEEWAY",
    "JWT_METHODS",
    "JWT_SECRET",
    "JWT_SIGNING_ALGS",
    "MAX_ASSERTION_LIFETIME",
    "MAX_DRAIN",
    "METADATA_PATHS",
    "REVOKE_PATH",
    "STATS_KEYS",
    "STATS_PATH",
    "SUPPORTED_SCOPES",
    "TOKEN_PATH",
    "USER_AUTHZ_PATH",
    "Client",
    "ClientAssertionAuth",
    "DevAS",
    "add_parser",
    "authenticate_client_secret_basic",
    "authenticate_tls_client_auth",
    "basic_credentials",
    "build_parser",
    "create_app",
    "default_clients",
    "load_client_keys",
    "main",
    "make_tls_context",
    "normalize_user_code",
]


def __getattr__(name):
    mod = _FROM.get(name)
    if mod is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    import importlib

    value = getattr(importlib.import_module("devauth_tools.dev_as." + mod), name)
    globals()[name] = value
    return value

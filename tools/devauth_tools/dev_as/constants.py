"""Endpoint paths, the dev clients' secrets, scopes and client authentication methods."""

DEVICE_AUTHZ_PATH = "/as/device_authz.oauth2"
TOKEN_PATH = "/as/token.oauth2"
REVOKE_PATH = "/as/revoke_token.oauth2"
USER_AUTHZ_PATH = "/as/user_authz.oauth2"
STATS_PATH = "/_devauth/stats"
METADATA_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")

# RFC 6749 §2.3.1 makes the client form-urlencode id and secret before HTTP Basic: this secret
# needs it (":" "/" "+" "&" "=" "%" " " and a non-ASCII letter).
CLIENT_SECRET = "s3cr:t/+&=% é"
# client_secret_jwt: an HS256 key must be at least 32 bytes (RFC 7518 §3.2).
JWT_SECRET = "a-32-byte-or-longer-shared-secret-for-hs256!!"
DEFAULT_SCOPE = "openid profile"
SUPPORTED_SCOPES = ("openid", "profile", "email", "offline_access")
ACCESS_TOKEN_EXPIRES_IN = 3600
# The order Authlib tries them in; "none" last, so a JWT client's client_id is not taken for a
# public client's.
AUTH_METHODS = [
    "client_secret_basic",
    "client_secret_post",
    "tls_client_auth",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
]
JWT_METHODS = ("client_secret_jwt", "private_key_jwt")
JWT_SIGNING_ALGS = ["HS256", "RS256", "ES256"]
JWT_LEEWAY = 60  # seconds of clock skew allowed for exp, iat and nbf
MAX_ASSERTION_LIFETIME = 3600  # a client assertion's exp may be at most this far ahead
DEV_USER = "devauth-dev-user"

# `--quirks NAME`: providers whose reply shapes dev_as.quirks imitates.
QUIRKS = ("github", "google", "entra", "entra-v1", "auth0", "dex")

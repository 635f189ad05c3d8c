"""The errors devauth raises: one-line, user-facing messages, never carrying a secret.

`str(err)` is the console line (what failed and what to do); `err.short` is the few words the
screen shows. `exit_code` is what `devauth run --once` exits with.

Also here, at the bottom of the package so that every layer can use them: `clip()`, the one way
text from outside (a server, an OS error, a config) becomes printable ASCII for a message or a
screen, and the bounds of what a sign-in shows (MAX_USER_CODE, MAX_URI).
"""

MAX_USER_CODE = 32  # characters; a longer user code cannot be typed off a small screen
MAX_URI = 512  # characters of a verification URI (our bound: RFC 8628 sets none)


def clip(text, limit=100):
    """`text` (any object; None is "") as printable ASCII, '?' for anything else, at most
    `limit` characters. Text that is already clean comes back as it is, without a copy."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[:limit]
    for ch in text:
        if not " " <= ch <= "~":
            return "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    return text


class DevauthError(Exception):
    short = "Error"
    exit_code = 1
    retry = False  # a transient failure the poll loop backs off from
    retry_after = None  # seconds the server asked us to wait (ServerBusy), or None

    def __init__(self, message, short=None):
        super().__init__(message)
        self.message = message
        if short:
            self.short = short

    def __str__(self):
        return self.message


class ConfigError(DevauthError):
    """The configuration file (or a file it names) is wrong: fix it, nothing else will."""

    short = "Config error"
    exit_code = 2


class NetworkError(DevauthError):
    """Connect, read or write failed or timed out, or the connection closed mid-reply."""

    short = "Network error"
    retry = True
    timed_out = False


class TLSError(DevauthError):
    """TLS failed: server certificate untrusted or for another host (the default short form),
    or no tls module, a CA certificate or client certificate that does not load, a handshake
    cut short: those pass a short form of their own."""

    short = "TLS cert not trusted"


class ServerBusy(DevauthError):
    """HTTP 5xx or 429: the server asks us to come back later."""

    short = "Server busy"
    retry = True

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after  # seconds, from Retry-After, or None


class ProtocolError(DevauthError):
    """The server's reply breaks HTTP or OAuth rules (too large, not JSON, wrong types)."""

    short = "Bad server reply"


class OAuthError(DevauthError):
    """An OAuth error response (RFC 6749 §5.2) that ends the sign-in."""

    short = "Sign-in failed"

    def __init__(self, error, description=None, message=None, short=None):
        self.error = error
        self.description = description
        if message is None:
            message = "server said %s" % error
            if description:
                message += ": " + description
        super().__init__(message, short)


class ClientRejected(OAuthError):
    """invalid_client / unauthorized_client: the server does not accept this device's identity."""

    short = "Client rejected"


class AccessDenied(OAuthError):
    """RFC 8628 §3.5 access_denied: the person said no."""

    short = "Denied"
    exit_code = 3


class ExpiredToken(OAuthError):
    """RFC 8628 §3.5 expired_token, or our own deadline passed: a new code is needed."""

    short = "Code expired"
    exit_code = 4

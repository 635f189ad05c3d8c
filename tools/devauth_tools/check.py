"""`devauth check --config devauth.json`: try a device config from this computer, step by step.

    devauth check --config devauth.json            # every step up to the first poll
    devauth check --config devauth.json --sign-in  # ... then wait for you to approve the code

The firmware's own code runs here (firmware/devauth on CPython, with the `tls` shim standing in
for MicroPython's): its config loader, its discovery, its HTTPS client with the configured trust
anchors and client certificate, its client authentication and its RFC 8628 request and poll. The
steps, each one line, `ok` or `FAIL` with the cause and the fix:

1. config: the file, as the board would load it;
2. for each server the device talks to: DNS, TCP, TLS (the server certificate verified against
   `ca_certificates`, as on the board), then discovery when `issuer` is set;
3. device authorization: is the client accepted (`invalid_client`), the scope (`invalid_scope`)?
4. first poll of the token endpoint, after the interval: `authorization_pending` is the good
   answer; `unauthorized_client` means the client may not use the device grant;
5. each API host named in `api_ca_certificates` (a `host` or `host:port` key; a host alone is
   tried on 443): DNS, TCP, TLS with that host's trust anchors, presenting the client certificate
   when one is configured, as the board's first API call does (RFC 8705 §3): steps `API DNS`,
   `API TCP`, `API TLS`. A key of "*" (a file without a host) names no host: it is skipped.

For client_secret_jwt / private_key_jwt an `invalid_client` is compared with the server's clock
(its Date header): an assertion made more than a minute off the server's time is refused.
Secrets, the device_code and tokens are never printed. Exit status: 0 every step passed, 1 a step
failed, 2 the config cannot be loaded.
"""

import email.utils
import os
import socket
import ssl
import sys

from devauth_tools import chain, runner

SHIMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shims")
SKEW_LIMIT = 60  # seconds: what servers commonly allow (dev-as and PingFederate alike)

# The fix for each OAuth error a device authorization request or a first poll may meet.
FIXES = {
    "invalid_client": (
        "the server does not accept this client: check client_id, token_endpoint_auth_method "
        "and the secret, key or certificate registered for the client"
    ),
    "unauthorized_client": (
        "the client may not use the device grant: allow the Device Authorization grant type "
        "for it at the server (PingFederate: the client's Allowed Grant Types)"
    ),
    "invalid_scope": (
        "set scope to scopes this client may ask for (or remove scope for the default)"
    ),
    "invalid_request": "the server refuses the request as sent: is this the right endpoint?",
    "invalid_grant": "the device code was refused at once: is token_endpoint this server's?",
    "access_denied": "someone denied the code: run the check again",
    "expired_token": "the code expired before the first poll: run the check again",
}


def load_firmware():
    """Put firmware/ and the CPython shims (tls, framebuf) on sys.path: the firmware runs here."""
    for path in (runner.firmware_dir(), SHIMS):
        if path not in sys.path:
            sys.path.insert(0, path)


class Report:
    """The one place that prints: a line per step, `ok` or `FAIL` with the cause and the fix."""

    def __init__(self, out=print):
        self.out = out

    def ok(self, step, text):
        self.out("  ok    %-21s %s" % (step, text))

    def skip(self, step, text):
        self.out("  skip  %-21s %s" % (step, text))

    def fail(self, step, cause, fix):
        if cause.startswith(step + ": "):  # the firmware's message names the step too
            cause = cause[len(step) + 2 :]
        self.out("  FAIL  %-21s %s. Fix: %s" % (step, cause.rstrip("."), fix))
        return 1

    def say(self, line):
        self.out(line)


def run(config_path, out=print, sign_in=False, clock=None):
    """Check the config at `config_path` against its server -> exit status (0, 1 or 2)."""
    load_firmware()
    from devauth import clock as device_clock
    from devauth import config as device_config
    from devauth.errors import ConfigError
    from devauth.net.http import HTTPClient
    from devauth.oled.ui import UI

    report = Report(out)
    clock = clock or device_clock
    try:
        cfg = device_config.load(config_path)
    except ConfigError as e:
        report.say("devauth check: %s" % config_path)
        report.fail("config", str(e), "edit %s (devauth init writes one)" % config_path)
        return 2
    report.say(
        "devauth check: %s: client %s, %s, scope %s"
        % (config_path, cfg.client_id, cfg.token_endpoint_auth_method, cfg.scope or "(default)")
    )
    report.ok(
        "config", "loaded as the board loads it; trust anchors: %d" % len(cfg.ca_certificates)
    )
    if cfg.http_client == "urequests":
        report.say("  note  http_client urequests: the check uses the builtin client (it verifies)")
    transport = HTTPClient(
        cfg.ca_certificates,
        cfg.tls_client_certificate,
        cfg.tls_client_key,
        cfg.allow_insecure_http,
        cfg.timeout,
    )
    try:
        return _steps(cfg, transport, clock, report, UI(out=report.say), sign_in)
    finally:
        transport.close()


def _steps(cfg, transport, clock, report, ui, sign_in):
    """The steps after the config: connections, discovery, request, first poll, sign-in."""
    from devauth.errors import DevauthError
    from devauth.oauth import discovery, flow

    checked = set()
    if cfg.issuer:
        if _connection(cfg, transport, cfg.issuer, "issuer", report, checked):
            return 1
        try:
            discovery.apply(cfg, discovery.fetch(cfg, transport))
        except DevauthError as e:
            return report.fail(
                "discovery", str(e), "check issuer (it must equal the metadata's issuer exactly)"
            )
        report.ok("discovery", "endpoints from %s's metadata" % cfg.issuer)
    for key in ("device_authorization_endpoint", "token_endpoint"):
        if _connection(cfg, transport, getattr(cfg, key), key, report, checked):
            return 1

    device_flow = flow.DeviceFlow(cfg, transport, clock, ui)
    step = "device authorization"
    try:
        code = device_flow.request_code()
    except DevauthError as e:
        return _oauth_failure(cfg, e, step, clock, report)
    started = clock.ticks_ms()
    report.ok(
        step,
        "client accepted, scope accepted: code %s at %s (expires in %d s, poll every %d s)"
        % (code.user_code, code.verification_uri, code.expires_in, code.interval),
    )

    # RFC 8628 §3.5: wait the interval before polling, as the device does.
    clock.sleep_ms(code.interval * 1000)
    step = "first poll"
    form = [("grant_type", flow.GRANT_TYPE), ("device_code", code.device_code)]
    try:
        resp = _post(cfg, transport, clock, cfg.token_endpoint, form)
        # the `error` field decides, whatever the status (GitHub answers errors with 200)
        token = flow.parse_token(flow.result(resp, "token endpoint"))
        report.ok(step, "the code was approved already: %s" % _token_text(token))
        return _api_hosts(cfg, transport, report) or 0
    except DevauthError as e:
        error = getattr(e, "error", None)
        if error not in ("authorization_pending", "slow_down"):
            return _oauth_failure(cfg, e, step, clock, report)
    report.ok(step, "%s: the token endpoint accepts this client and waits for approval" % error)
    if _api_hosts(cfg, transport, report):
        return 1
    if not sign_in:
        report.say("devauth check: every step passed. --sign-in waits for you to approve a code.")
        return 0

    elapsed = clock.ticks_diff(clock.ticks_ms(), started) // 1000
    code.expires_in = max(1, code.expires_in - elapsed)
    ui.show_code(code)  # the console contract: To sign in, visit ... and enter code ...
    try:
        token = device_flow.poll(code)
    except DevauthError as e:
        return _oauth_failure(cfg, e, "sign-in", clock, report)
    report.ok("sign-in", _token_text(token))
    report.say("devauth check: signed in. Next: devauth flash, then devauth deploy (see README)")
    return 0


def _post(cfg, transport, clock, url, form):
    from devauth.oauth import auth

    return auth.post(cfg, transport, url, form, clock.unix_time())


def _token_text(token):
    """What a person may see of a token: its type, lifetime and scope, never its value."""
    return "%s token, expires in %s s, scope %s, refresh token: %s" % (
        token.token_type,
        token.expires_in,
        token.scope or "(not said)",
        "yes" if token.refresh_token else "no",
    )


def _oauth_failure(cfg, e, step, clock, report):
    """One FAIL line for a failed request: the server's error and its fix."""
    from devauth.errors import ServerBusy, TLSError
    from devauth.oauth.auth import JWT_METHODS

    error = getattr(e, "error", None)
    if error == "invalid_client" and cfg.token_endpoint_auth_method in JWT_METHODS:
        skew = clock_skew(cfg, clock)
        if skew is not None and abs(skew) > SKEW_LIMIT:
            return report.fail(
                step,
                "%s; this clock is %d s %s the server's"
                % (e, abs(skew), "ahead of" if skew > 0 else "behind"),
                "set the clock (NTP): a client assertion is judged by the server's time",
            )
    if error == "invalid_scope":
        return report.fail(step, "%s (scope %s)" % (e, cfg.scope), FIXES[error])
    if error in FIXES:
        return report.fail(step, str(e), FIXES[error])
    if error is not None:
        return report.fail(step, str(e), "see the server's error description above")
    if isinstance(e, ServerBusy):
        return report.fail(step, str(e), "the server is busy or failing: try again later")
    if isinstance(e, TLSError):
        return report.fail(step, str(e), "see the TLS step")
    return report.fail(step, str(e), "is %s the server's endpoint?" % _endpoint_key(step))


def _endpoint_key(step):
    return (
        "token_endpoint" if step in ("first poll", "sign-in") else "device_authorization_endpoint"
    )


# -- DNS, TCP, TLS ---------------------------------------------------------------------------


def _api_hosts(cfg, transport, report):
    """Each API host named in api_ca_certificates, with its own trust anchors and the client
    certificate (devauth.oauth.api.Trust, as the board's API call makes it) -> 1 if one failed
    (every host is tried), else None."""
    from devauth.net.url import split_url
    from devauth.oauth.api import Trust

    failed = None
    for name, cas in sorted((cfg.api_ca_certificates or {}).items()):
        key = "api_ca_certificates" if name == "*" else "api_ca_certificates[%s]" % name
        if name == "*":
            report.skip("API host", '%s ("*") names no host to try: skipped' % key)
            continue
        try:
            host, port = split_url("https://%s/" % name)[1:3]
        except ValueError as e:
            failed = report.fail(
                "API host", "%s: the key %s" % (key, e), "name the host as host or host:port"
            )
            continue
        if name == host:
            report.say("  note  %s names no port: tried on 443" % key)
        trust = Trust(cas, cfg.tls_client_certificate, cfg.tls_client_key, key)
        url = "https://%s:%d/" % ("[%s]" % host if ":" in host else host, port)
        if _connection(cfg, transport, url, key, report, set(), trust, step="API "):
            failed = 1
    return failed


def _connection(cfg, transport, url, key, report, checked, trust=None, step=""):
    """DNS, TCP and TLS to the server of `url` (once per server), trusting `trust`'s anchors
    (default: the sign-in's, ca_certificates); `step` prefixes the steps' names -> 1 on
    failure, else None."""
    from devauth.errors import DevauthError
    from devauth.net.url import split_url

    scheme, host, port, _ = split_url(url)
    if (scheme, host, port) in checked:
        return None
    checked.add((scheme, host, port))
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except OSError as e:
        return report.fail(
            step + "DNS",
            "cannot resolve %s (%s)" % (host, e.strerror or e),
            "check the host name in %s (on the board, its network's DNS must know it too)" % key,
        )
    family, _, _, _, address = infos[0]
    report.ok(step + "DNS", "%s -> %s" % (host, address[0]))
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(cfg.timeout)
    try:
        sock.connect(address)
    except ConnectionRefusedError:
        return report.fail(
            step + "TCP",
            "%s port %d refused the connection" % (host, port),
            "check the port in %s and that the server listens there" % key,
        )
    except OSError as e:
        return report.fail(
            step + "TCP",
            "no connection to %s port %d (%s)" % (host, port, e.strerror or e),
            "check the address and port in %s, and any firewall between" % key,
        )
    finally:
        sock.close()
    report.ok(step + "TCP", "%s port %d accepts connections" % (host, port))
    if scheme != "https":
        report.ok(step + "TLS", "none: %s is http:// (allow_insecure_http)" % key)
        return None
    trust = trust or transport  # the client is the sign-in's Trust (anchors, client certificate)
    try:  # the firmware's HTTPS client: the handshake exactly as the board makes it; the reply's
        # head is enough (a page bigger than the client's buffer is no TLS failure)
        root = "https://%s:%d/" % ("[%s]" % host if ":" in host else host, port)
        transport.request("GET", root, None, (), None, trust, True, True)
    except DevauthError as e:
        return report.fail(step + "TLS", str(e), tls_fix(host, port, trust))
    finally:
        transport.close()
    anchors = ", ".join(chain.subject(der) for der in trust.ca_certificates)
    text = "server certificate for %s verified by %s (%s)" % (host, trust.name, anchors)
    if trust.client_certificate:
        text += "; client certificate %s presented" % chain.subject(trust.client_certificate)
    report.ok(step + "TLS", text)
    return None


def tls_fix(host, port, trust):
    """What to do when a TLS connection failed: the CA, the host name or the client certificate.
    `trust`: the anchors (`ca_certificates`), client certificate and config key (`name`) tried."""
    try:
        sent = chain.presented(host, port)
    except chain.ChainError:
        return "the server did not complete a TLS handshake on port %d: is it an https port?" % port
    sign_in = trust.name == "ca_certificates"
    ctx = _trusting(trust.ca_certificates)
    ctx.check_hostname = False
    try:
        _handshake(ctx, host, port)
    except ssl.SSLCertVerificationError:
        return "%s is not the CA that signs this server (it presents %s): %s" % (
            trust.name,
            " <- ".join(chain.subject(der) for der in sent),
            "devauth init saves the right one" if sign_in else "name the root of that chain there",
        )
    except (OSError, ssl.SSLError):
        pass
    else:
        ctx.check_hostname = True
        try:
            _handshake(ctx, host, port)
        except ssl.SSLCertVerificationError:
            where = "the endpoint URLs" if sign_in else "the API's URLs and api_ca_certificates"
            return "the certificate is not for %s: use a host name it names in %s" % (host, where)
        except (OSError, ssl.SSLError):
            pass
    # the server certificate is not the trouble: the server refused this client (RFC 8705)
    if trust.client_certificate:
        return "the server refused the client certificate %s: is it the one registered?" % (
            chain.subject(trust.client_certificate)
        )
    return (
        "the server refused the connection: does it require a client certificate "
        "(tls_client_certificate, tls_client_key)?"
    )


def _handshake(ctx, host, port):
    with socket.create_connection((host, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=host):
            pass


def _trusting(ca_certificates):
    """A CPython TLS client context trusting the configured anchors (DER)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for der in ca_certificates:
        ctx.load_verify_locations(cadata=bytes(der))
    return ctx


# -- the server's clock ----------------------------------------------------------------------


def server_time(cfg):
    """The token endpoint's clock (its Date header, Unix seconds), or None."""
    import http.client

    from devauth.net.url import split_url

    scheme, host, port, path = split_url(cfg.token_endpoint)
    try:
        if scheme == "https":
            ctx = _trusting(cfg.ca_certificates)
            conn = http.client.HTTPSConnection(host, port, timeout=cfg.timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=cfg.timeout)
        try:
            conn.request("HEAD", path)
            date = conn.getresponse().getheader("Date")
        finally:
            conn.close()
        return int(email.utils.parsedate_to_datetime(date).timestamp()) if date else None
    except (OSError, ssl.SSLError, ValueError, TypeError, http.client.HTTPException):
        return None


def clock_skew(cfg, clock):
    """Seconds this (device) clock is ahead of the server's, or None when either is unknown."""
    server = server_time(cfg)
    mine = clock.unix_time()
    if server is None or mine is None:
        return None
    return mine - server


# -- command line ----------------------------------------------------------------------------


def main(args):
    return run(args.config, sign_in=args.sign_in)


def add_parser(sub):
    p = sub.add_parser("check", help="try a device config from this computer, step by step")
    p.add_argument("--config", default="devauth.json", help="the device config (devauth.json)")
    p.add_argument(
        "--sign-in", action="store_true", help="after the checks, wait for the code's approval"
    )
    p.set_defaults(fn=main)
    return p

"""`devauth init`: a device config for your server, with the CA certificate that signs it.

    devauth init                                   # asks for what it needs
    devauth init --issuer https://pf.example.com:9031 --client-id device-1 \\
        --auth-method none --board heltec-wifi-kit-32 --no-input

1. Connects to the server (the issuer's host, or the endpoints' hosts) and shows the certificate
   chain it presents.
2. Picks the device's trust anchor: the root CA that validates that chain, from this computer's
   trust store (`$SSL_CERT_FILE` replaces it, as everywhere OpenSSL is used), else the last
   certificate the server sent when it is a self-signed CA (it says which: compare that one's
   fingerprint with what your server's admin says), or the `--ca FILE` you give. It is saved as
   DER (what mbedTLS on the board reads) beside the config, as `ca_certificates`.
3. With `--issuer`, runs discovery from here (RFC 8414 / OpenID Connect, the firmware's URL
   rules), trusting only that anchor, and says what the server offers: the device authorization
   endpoint, the device_code grant, the client authentication method.
4. Writes devauth.json (mode 0600: it may hold a secret); for tls_client_auth without a client
   certificate, `--provision SUBJECT` (or a yes at the prompt) runs `devauth provision`.

Next: `devauth check --config devauth.json`. Exit status: 0 written, 1 the server could not be
reached or validated, 2 a missing or wrong answer.
"""

import json
import os
import ssl
import sys
import urllib.error
import urllib.request

from devauth_tools import chain, runner
from devauth_tools.check import load_firmware

SECRET_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class InitError(Exception):
    """One line for the user; `code` is the exit status."""

    def __init__(self, message, code=2):
        super().__init__(message)
        self.code = code


class Asker:
    """Answers from the flags, else (interactive) from the person, else an InitError."""

    def __init__(self, interactive, out=print):
        self.interactive = interactive
        self.out = out

    def value(self, given, prompt, flag, default=None, secret=False):
        if given:
            return given
        if not self.interactive:
            if default is not None:
                return default
            raise InitError("%s is needed (--no-input: give %s)" % (prompt, flag))
        shown = " [%s]" % default if default else ""
        if secret:
            import getpass

            answer = getpass.getpass("%s%s: " % (prompt, shown))
        else:
            answer = input("%s%s: " % (prompt, shown)).strip()
        if not answer and default is None:
            raise InitError("%s is needed" % prompt)
        return answer or default

    def yes(self, question, default=True):
        if not self.interactive:
            return False
        answer = input("%s [%s] " % (question, "Y/n" if default else "y/N")).strip().lower()
        return default if not answer else answer.startswith("y")


def auth_methods():
    """The client authentication methods the firmware knows (devauth.config.AUTH_METHODS)."""
    load_firmware()
    from devauth.config import AUTH_METHODS

    return AUTH_METHODS


def _split(url, what):
    load_firmware()
    from devauth.net.url import split_url

    try:
        scheme, host, port, _ = split_url(url)
    except ValueError as e:
        raise InitError("%s %s" % (what, e)) from None
    if scheme != "https":
        raise InitError("%s must be https:// (the device verifies the server)" % what)
    return host, port


def trust_anchor(host, port, ca_file=None, say=print):
    """Show the chain `host:port` presents; -> (root CA as DER, where it came from)."""
    try:
        sent = chain.presented(host, port)
    except chain.ChainError as e:
        raise InitError("cannot connect: %s" % e, 1) from None
    say("devauth init: %s:%d presents:" % (host, port))
    for i, der in enumerate(sent):
        say("  [%d] %s" % (i, chain.describe(der)))
    if ca_file:
        ders = _read_certificates(ca_file)
        pem = "".join(ssl.DER_cert_to_PEM_cert(d) for d in ders)
        found = chain.verified(host, port, cadata=pem)
        if not found:
            raise InitError("%s does not validate %s's certificate" % (ca_file, host), 1)
        return found[-1], "--ca %s" % ca_file
    found = chain.verified(host, port)
    if found:
        return found[-1], "this computer's trust store"
    last = sent[-1]
    if chain.is_ca_root(last):
        pem = ssl.DER_cert_to_PEM_cert(last)
        if not chain.verified(host, port, cadata=pem):
            raise InitError(
                "the certificate %s presents is not for the name %s" % (host, host),
                1,
            )
        return last, (
            "the last certificate the server sent (not in this computer's trust store: compare "
            "its SHA-256 fingerprint above with what your server's admin gives you)"
        )
    raise InitError(
        "%s sent no root CA and this computer's trust store does not validate its certificate: "
        "get the CA certificate from your server's admin and give it with --ca FILE" % host,
        1,
    )


def _read_certificates(path):
    """--ca FILE (PEM, one or several, or DER) -> [DER], read as `devauth deploy` reads them."""
    from devauth_tools.deploy import DeployError, certificates

    try:
        return certificates(path, "--ca")
    except OSError as e:
        raise InitError("--ca: cannot read %s (%s)" % (path, e.strerror)) from None
    except DeployError as e:
        raise InitError(str(e)) from None


def discover(issuer, anchors, say=print):
    """The issuer's metadata, fetched as the device will (its URLs, trusting `anchors`) -> dict."""
    from devauth.oauth.discovery import well_known_urls

    ctx = ssl.create_default_context(cadata="".join(ssl.DER_cert_to_PEM_cert(d) for d in anchors))
    tried = []
    for url in well_known_urls(issuer):
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=15) as resp:
                meta = json.loads(resp.read(65536))
        except urllib.error.HTTPError as e:
            tried.append("HTTP %d from %s" % (e.code, url))
            continue
        except (OSError, ValueError) as e:
            tried.append("%s: %s" % (url, getattr(e, "reason", e)))
            continue
        if not isinstance(meta, dict) or meta.get("issuer") != issuer:
            raise InitError(
                "discovery: %s names issuer %r, not %r (RFC 8414 §3.3: set --issuer to exactly "
                "that)" % (url, meta.get("issuer") if isinstance(meta, dict) else None, issuer)
            )
        say("devauth init: discovery: %s" % url)
        return meta
    raise InitError("discovery: no metadata for %s (%s)" % (issuer, "; ".join(tried)), 1)


def offers(meta, method, say=print):
    """Say what the metadata offers for this device; warn where it lacks something."""
    for key in ("device_authorization_endpoint", "token_endpoint"):
        if meta.get(key):
            say("  %-30s %s" % (key, meta[key]))
        else:
            say("  warning: no %s: enable the Device Authorization grant at the server" % key)
    grants = meta.get("grant_types_supported")
    if isinstance(grants, list) and DEVICE_GRANT not in grants:
        say("  warning: grant_types_supported lacks the device_code grant")
    methods = meta.get("token_endpoint_auth_methods_supported")
    if isinstance(methods, list) and method not in methods:
        say("  warning: token_endpoint_auth_methods_supported lacks %s" % method)


def _write_private(path, data, mode=0o600):
    """Write a file (by default readable by its owner only), whole or not at all."""
    tmp = path + ".tmp"
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def build(args, ask, say=print):
    """Everything `devauth init` does -> the path of the config written."""
    out = os.path.abspath(args.out)
    if os.path.exists(out) and not args.force:
        raise InitError("%s exists (--force replaces it)" % args.out)
    base = os.path.dirname(out)
    cfg = _answers(args, ask)  # every question first: nothing is fetched or written before
    anchors = _anchors(cfg, args.ca, say)
    names = ["ca.der" if i == 0 else "ca-%d.der" % (i + 1) for i in range(len(anchors))]
    for name, der in zip(names, anchors):  # someone's own CA file is never replaced unasked
        path = os.path.join(base, name)
        if os.path.exists(path) and not args.force and open(path, "rb").read() != der:
            raise InitError("%s exists and holds another certificate (--force replaces it)" % path)
    notes = _credentials(cfg, args, ask, base)
    for name, der in zip(names, anchors):
        _write_private(os.path.join(base, name), der, mode=0o644)
    cfg["ca_certificates"] = names[0] if len(names) == 1 else names
    say("devauth init: wrote %s (DER: mbedTLS on the board reads DER)" % ", ".join(names))
    if cfg["board"] != "unix" and "wifi" not in cfg:
        notes.append('add "wifi": {"ssid": ..., "password": ...} for the board (or --wifi-ssid)')
    _write_private(out, (json.dumps(cfg, indent=2, ensure_ascii=False) + "\n").encode())
    say(
        "devauth init: wrote %s (client %s, %s, board %s)"
        % (args.out, cfg["client_id"], cfg["token_endpoint_auth_method"], cfg["board"])
    )
    for note in notes:
        say("devauth init: note: %s" % note)
    return out


def _answers(args, ask):
    """The server, client, method, board, secret and Wi-Fi, from flags or prompts -> config."""
    issuer = args.issuer
    device_ep, token_ep = args.device_authorization_endpoint, args.token_endpoint
    if not issuer and not (device_ep and token_ep):
        if device_ep or token_ep:
            raise InitError("give both endpoints, or --issuer")
        issuer = ask.value(None, "Issuer URL (or give both endpoints as flags)", "--issuer")
    client_id = ask.value(args.client_id, "Client ID", "--client-id")
    method = ask.value(args.auth_method, "Client authentication method", "--auth-method", "none")
    if method not in auth_methods():
        raise InitError("--auth-method %s is not one of %s" % (method, ", ".join(auth_methods())))
    board = ask.value(args.board, "Board (a name in boards/)", "--board", "unix")
    if not os.path.exists(os.path.join(runner.REPO, "boards", board + ".json")):
        names = sorted(n[:-5] for n in os.listdir(os.path.join(runner.REPO, "boards")))
        raise InitError("--board %s: no such profile (boards: %s)" % (board, ", ".join(names)))
    cfg = {"board": board, "client_id": client_id}
    if args.scope:
        cfg["scope"] = args.scope
    if issuer:
        _split(issuer, "--issuer")
        cfg["issuer"] = issuer
    else:
        _split(device_ep, "--device-authorization-endpoint")
        _split(token_ep, "--token-endpoint")
        cfg["device_authorization_endpoint"] = device_ep
        cfg["token_endpoint"] = token_ep
    cfg["token_endpoint_auth_method"] = method
    if method in SECRET_METHODS:
        secret = args.client_secret or os.environ.get("DEVAUTH_CLIENT_SECRET")
        cfg["client_secret"] = ask.value(
            secret, "Client secret", "--client-secret or $DEVAUTH_CLIENT_SECRET", secret=True
        )
    if board != "unix" and (args.wifi_ssid or ask.interactive):
        ssid = ask.value(args.wifi_ssid, "Wi-Fi network (SSID)", "--wifi-ssid")
        password = ask.value(args.wifi_password, "Wi-Fi password", "--wifi-password", secret=True)
        cfg["wifi"] = {"ssid": ssid, "password": password}
    return cfg


def _anchors(cfg, ca_file, say):
    """The root CA of every server the device talks to (DER, each once), discovery included."""
    anchors = []
    seen = set()

    def anchor_for(url, what):
        host, port = _split(url, what)
        if (host, port) in seen:
            return
        seen.add((host, port))
        root, source = trust_anchor(host, port, ca_file, say)
        if root not in anchors:
            anchors.append(root)
            say("devauth init: trust anchor %s, from %s" % (chain.subject(root), source))

    issuer = cfg.get("issuer")
    if not issuer:
        anchor_for(cfg["device_authorization_endpoint"], "--device-authorization-endpoint")
        anchor_for(cfg["token_endpoint"], "--token-endpoint")
        return anchors
    anchor_for(issuer, "--issuer")
    method = cfg["token_endpoint_auth_method"]
    meta = discover(issuer, anchors, say)
    offers(meta, method, say)
    urls = [meta.get("device_authorization_endpoint"), meta.get("token_endpoint")]
    aliases = meta.get("mtls_endpoint_aliases")
    if method == "tls_client_auth" and isinstance(aliases, dict):
        urls = [aliases.get("device_authorization_endpoint"), aliases.get("token_endpoint")]
    for url in urls:  # endpoints on other hosts or ports (an mTLS port) need their CA too
        if isinstance(url, str) and url.startswith("https://"):
            anchor_for(url, "an endpoint")
    return anchors


def _credentials(cfg, args, ask, base):
    """The client's key or certificate in `cfg` (files made by provision) -> [notes]."""
    method = cfg["token_endpoint_auth_method"]
    notes = []
    if method == "private_key_jwt":
        cfg["private_key"] = ask.value(args.private_key, "Private key file", "--private-key")
        if args.private_key_id:
            cfg["private_key_id"] = args.private_key_id
        notes.append("register the key's public half (a JWKS or JWKS URL) for the client")
    elif method == "tls_client_auth":
        cert, key = args.tls_client_certificate, args.tls_client_key
        subject = args.provision
        if (
            not (cert and key)
            and not subject
            and ask.yes(
                "No client certificate: make a device key and request now (devauth provision)?"
            )
        ):
            subject = ask.value(None, "Subject DN (e.g. CN=device-1,O=Example)", "--provision")
        if subject:
            from devauth_tools import provision

            try:
                made = provision.provision(os.path.join(base, "device"), subject)
            except provision.ProvisionError as e:
                raise InitError(str(e)) from None
            key = os.path.relpath(made["key"], base)
            cert = os.path.join(os.path.dirname(key), provision.CERT)
            notes.append(
                "have your CA sign %s and save the certificate as %s; register the subject DN "
                "%s for the client (PingFederate: Client TLS Certificate, Subject DN)"
                % (os.path.relpath(made["csr"], base), cert, made["subject"])
            )
        if not (cert and key):
            raise InitError(
                "tls_client_auth needs --tls-client-certificate and --tls-client-key, or "
                "--provision SUBJECT to make them"
            )
        cfg["tls_client_certificate"] = cert
        cfg["tls_client_key"] = key
    return notes


def main(args):
    interactive = not args.no_input and sys.stdin.isatty()
    try:
        path = build(args, Asker(interactive))
    except InitError as e:
        print("devauth init: %s" % e, file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        return 130
    print("Next: devauth check --config %s" % os.path.relpath(path))
    return 0


def add_parser(sub):
    p = sub.add_parser("init", help="write devauth.json for your server, with its CA certificate")
    p.add_argument("--issuer", help="the authorization server's issuer URL (discovery)")
    p.add_argument("--device-authorization-endpoint", help="... or the two endpoints")
    p.add_argument("--token-endpoint")
    p.add_argument("--client-id", help="the OAuth client registered for the device")
    p.add_argument(
        "--auth-method", choices=auth_methods(), help="client authentication (default none)"
    )
    p.add_argument("--scope", help="space-separated scopes (default: the server's)")
    p.add_argument("--board", help="a board profile name in boards/ (default unix)")
    p.add_argument("--ca", help="the CA certificate (PEM/DER), if neither trust store has it")
    p.add_argument("--client-secret", help="client_secret_* ($DEVAUTH_CLIENT_SECRET works too)")
    p.add_argument("--private-key", help="private_key_jwt: the device's key file")
    p.add_argument("--private-key-id", help="private_key_jwt: its kid")
    p.add_argument("--tls-client-certificate", help="tls_client_auth: the device's certificate")
    p.add_argument("--tls-client-key", help="tls_client_auth: its key")
    p.add_argument("--provision", metavar="SUBJECT", help="tls_client_auth: make a key and CSR")
    p.add_argument("--wifi-ssid", help="the board's Wi-Fi network")
    p.add_argument("--wifi-password", help="... and its password")
    p.add_argument("--out", default="devauth.json", help="the config to write (devauth.json)")
    p.add_argument("--force", action="store_true", help="replace an existing config")
    p.add_argument("--no-input", action="store_true", help="never prompt: flags only")
    p.set_defaults(fn=main)
    return p

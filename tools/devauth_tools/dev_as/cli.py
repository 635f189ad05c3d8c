"""`devauth dev-as`: the command line of the dev authorization server."""

import argparse
import functools
import signal
import sys
import threading

from devauth_tools.dev_as.constants import ACCESS_TOKEN_EXPIRES_IN, QUIRKS, USER_AUTHZ_PATH

DESCRIPTION = (
    "Local OAuth 2.0 Device Authorization Grant server (RFC 8628) over HTTPS, "
    "on PingFederate's paths, for developing and testing the devauth firmware."
)


def build_parser(prog="devauth dev-as"):
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(p)
    p.set_defaults(fn=functools.partial(run, parser=p))
    return p


def add_parser(sub):
    """The `dev-as` subcommand for devauth_tools.cli: the same switches as `build_parser`."""
    p = sub.add_parser(
        "dev-as",
        help="local authorization server (see devauth dev-as --help)",
        description=DESCRIPTION,
    )
    add_arguments(p)
    p.set_defaults(fn=functools.partial(run, parser=p))
    return p


def add_arguments(p):
    """Every switch of `devauth dev-as`, on `p` (a parser or a subparser)."""
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8443, help="port (8443; 0 picks a free one)")
    p.add_argument("--state-dir", help="where the test PKI and server.json go (a temp dir)")
    p.add_argument(
        "--advertise-host",
        default="localhost",
        help="host name in base_url, added to the server certificate (for a board on the LAN)",
    )
    p.add_argument(
        "--auto-approve",
        type=float,
        metavar="SECONDS",
        help="approve each device code this long after it was issued (else a person approves)",
    )
    p.add_argument("--deny", action="store_true", help="auto-approval denies instead")
    p.add_argument("--interval", type=int, default=5, help="polling interval in seconds (5)")
    p.add_argument("--expires-in", type=int, default=600, help="device code lifetime (600)")
    p.add_argument(
        "--no-interval", action="store_true", help="omit interval from the device authz response"
    )
    p.add_argument(
        "--slow-down-every", type=int, metavar="N", help="every Nth poll answers slow_down"
    )
    p.add_argument(
        "--fail-every",
        type=int,
        metavar="N",
        help="every Nth request to the OAuth endpoints answers 503 with an HTML body",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--close-after-response",
        action="store_true",
        help="close the connection after each response without Connection: close",
    )
    mode.add_argument(
        "--no-keep-alive", action="store_true", help="send Connection: close and close"
    )
    p.add_argument(
        "--access-token-lifetime",
        type=int,
        default=ACCESS_TOKEN_EXPIRES_IN,
        metavar="SECONDS",
        help=f"access token expires_in ({ACCESS_TOKEN_EXPIRES_IN})",
    )
    p.add_argument(
        "--mtls-port",
        type=int,
        metavar="N",
        help="also listen on port N (0 picks a free one) with a required client certificate, "
        "advertised as mtls_endpoint_aliases; tls_client_auth is then accepted only there",
    )
    p.add_argument(
        "--quirks",
        choices=QUIRKS,
        metavar="NAME",
        help="answer as this provider does: " + ", ".join(QUIRKS) + " (see dev_as/quirks.py)",
    )
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.fn(args)


def run(args, parser):
    """Serve until SIGINT or SIGTERM; `parser` reports a bad combination of switches."""
    if args.deny and args.auto_approve is None:
        parser.error("--deny needs --auto-approve SECONDS")
    for name in ("slow_down_every", "fail_every"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.access_token_lifetime < 1:
        parser.error("--access-token-lifetime must be at least 1")
    if args.mtls_port is not None and args.mtls_port < 0:
        parser.error("--mtls-port must be 0 (a free port) or a port number")
    from devauth_tools.dev_as.devas import DevAS  # Flask and Authlib: loaded to serve only

    srv = DevAS(
        args.state_dir,
        host=args.host,
        port=args.port,
        auto_approve=args.auto_approve,
        deny=args.deny,
        interval=args.interval,
        expires_in=args.expires_in,
        no_interval=args.no_interval,
        slow_down_every=args.slow_down_every,
        fail_every=args.fail_every,
        close_after_response=args.close_after_response,
        no_keep_alive=args.no_keep_alive,
        advertise_host=args.advertise_host,
        access_token_lifetime=args.access_token_lifetime,
        mtls_port=args.mtls_port,
        quirks=args.quirks,
        quiet=args.quiet,
    )
    try:
        srv.start()
    except OSError as exc:
        print(f"devauth dev-as: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a `&` job ignores it
            signal.signal(sig, lambda *_: stop.set())
    print(f"devauth dev-as listening on {srv.base_url}", flush=True)
    print(
        f"dev-as: state dir {srv.state_dir} (server.json, ca.pem, ca.der, client certs); "
        f"approve codes at {srv.base_url}{USER_AUTHZ_PATH}"
        + (f"; mTLS endpoints on {srv.mtls_base_url}" if srv.mtls_base_url else ""),
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Authorization server metadata discovery (RFC 8414, OpenID Connect Discovery 1.0).

With `issuer` configured, the endpoints come from the issuer's metadata: first
`<issuer>/.well-known/openid-configuration`, then RFC 8414's
`<scheme://host>/.well-known/oauth-authorization-server<issuer path>` (§3.1 path rule).
Endpoints set explicitly in the config win. For tls_client_auth, RFC 8705 §5
`mtls_endpoint_aliases` replace the endpoints they name (PingFederate may serve mTLS on its own
port). The metadata is cached in state_dir and fetched again when the cache is dropped.

Mix-up defence: metadata may only name endpoints on the issuer's own host (any port), or on a
host listed in the config's `discovery_allowed_hosts`; every URL passes the same check as a
configured one (devauth.net.url.split_url). The cache records a fingerprint of the settings
that made it (issuer, client, method, allowed hosts, http policy): another config fetches anew,
and a cached entry is checked again on every load.
"""

import binascii
import hashlib

from devauth.errors import DevauthError, ProtocolError
from devauth.net.url import split_url
from devauth.oauth import tokens
from devauth.oauth.steps import run

_ENDPOINTS = ("device_authorization_endpoint", "token_endpoint", "revocation_endpoint")


def well_known_urls(issuer):
    """The metadata URLs to try for `issuer`, in order."""
    base = issuer.rstrip("/")
    scheme_host_end = base.find("/", base.find("//") + 2)
    if scheme_host_end < 0:
        origin, path = base, ""
    else:
        origin, path = base[:scheme_host_end], base[scheme_host_end:]
    return (
        base + "/.well-known/openid-configuration",
        origin + "/.well-known/oauth-authorization-server" + path,
    )


def fetch(config, transport):
    return run(fetch_steps(config), transport, None)


def fetch_steps(config):
    """GET the issuer's metadata -> dict; DevauthError naming the URL when none is found."""
    last = None
    for url in well_known_urls(config.issuer):
        resp = yield ("get", (url,))
        if resp.status != 200:
            last = "HTTP %d from %s" % (resp.status, url)
            continue
        meta = resp.json("discovery")
        # RFC 8414 §3.3: the issuer in the metadata MUST be identical to the one we asked.
        if meta.get("issuer") != config.issuer:
            raise ProtocolError("discovery: metadata issuer does not match the issuer setting")
        return meta
    raise DevauthError("discovery: no metadata for the issuer (%s)" % last, "Discovery failed")


def fingerprint(config):
    """A short hash of the settings the cached metadata was fetched and checked under."""
    h = hashlib.sha256()
    for part in (
        config.issuer,
        config.client_id,
        config.token_endpoint_auth_method,
        ",".join(config.discovery_allowed_hosts),
        "http" if config.allow_insecure_http else "https",
    ):
        h.update(part.encode())
        h.update(b"\n")
    return binascii.hexlify(h.digest()[:16]).decode()


def check_url(config, key, url):
    """A discovered URL -> itself; ProtocolError unless it is a clean http(s) URL on an allowed
    host (the issuer's, or one in discovery_allowed_hosts)."""
    if not isinstance(url, str):
        raise ProtocolError("discovery: %s is not a string" % key)
    try:
        scheme, host, _, _ = split_url(url)
    except ValueError as e:
        raise ProtocolError("discovery: %s %s" % (key, e)) from None
    if scheme != "https" and not config.allow_insecure_http:
        raise ProtocolError("discovery: %s is not an https URL" % key)
    host = host.lower()
    if host != split_url(config.issuer)[1].lower() and host not in config.discovery_allowed_hosts:
        raise ProtocolError(
            "discovery: %s is on host %s, not the issuer's (add it to discovery_allowed_hosts "
            "if that is intended)" % (key, host[:60])
        )
    return url


def apply(config, meta):
    """Fill the endpoints the config left unset from `meta` (mTLS aliases for tls_client_auth)."""
    aliases = meta.get("mtls_endpoint_aliases")
    if aliases is not None and not isinstance(aliases, dict):
        raise ProtocolError("discovery: mtls_endpoint_aliases is not an object")
    use_aliases = config.token_endpoint_auth_method == "tls_client_auth" and aliases
    for key in _ENDPOINTS:
        if getattr(config, key):
            continue  # explicit configuration wins
        url = aliases.get(key) if use_aliases and aliases else None
        if url is not None:
            check_url(config, "mtls_endpoint_aliases." + key, url)
        else:
            url = meta.get(key)
            if url is None:
                continue
            check_url(config, key, url)
        setattr(config, key, url)
    for key in ("device_authorization_endpoint", "token_endpoint"):
        if not getattr(config, key):
            raise ProtocolError("discovery: the server metadata has no %s" % key)


def configure(config, transport, say=None):
    return run(configure_steps(config, say), transport, None)


def configure_steps(config, say=None):
    """Resolve the endpoints: from the cache in state_dir, else from the server (then cached).
    Steps (devauth.oauth.steps): `configure` runs them blocking, devauth.aio on asyncio."""
    if not config.issuer:
        return
    made = fingerprint(config)
    meta = tokens.read(config.state_dir, tokens.METADATA, say)
    if meta is None or meta.get("issuer") != config.issuer or meta.get("config") != made:
        meta = yield from fetch_steps(config)
        keep = {"issuer": meta["issuer"], "config": made}
        for key in _ENDPOINTS + ("mtls_endpoint_aliases",):
            if meta.get(key) is not None:
                keep[key] = meta[key]
        apply(config, keep)  # checked before it is cached
        tokens.write(config.state_dir, tokens.METADATA, keep)
        return
    apply(config, meta)


def forget(config):
    """Drop the cached metadata (after a failure), so the next start discovers again."""
    if config.issuer:
        tokens.delete(config.state_dir, tokens.METADATA)

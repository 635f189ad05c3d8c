"""Authorization server metadata discovery (RFC 8414, OpenID Connect Discovery 1.0).

With `issuer` configured, the endpoints come from the issuer's metadata: first
`<issuer>/.well-known/openid-configuration`, then RFC 8414's
`<scheme://host>/.well-known/oauth-authorization-server<issuer path>` (§3.1 path rule).
Endpoints set explicitly in the config win. For tls_client_auth, RFC 8705 §5
`mtls_endpoint_aliases` replace the endpoints they name (PingFederate may serve mTLS on its own
port). The metadata is cached in state_dir and fetched again when the cache is dropped.
"""

from devauth.errors import DevauthError, ProtocolError
from devauth.oauth import tokens

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
    """GET the issuer's metadata -> dict; DevauthError naming the URL when none is found."""
    last = None
    for url in well_known_urls(config.issuer):
        resp = transport.get(url)
        if resp.status != 200:
            last = "HTTP %d from %s" % (resp.status, url)
            continue
        meta = resp.json("discovery")
        # RFC 8414 §3.3: the issuer in the metadata MUST be identical to the one we asked.
        if meta.get("issuer") != config.issuer:
            raise ProtocolError("discovery: metadata issuer does not match the issuer setting")
        return meta
    raise DevauthError("discovery: no metadata for the issuer (%s)" % last, "Discovery failed")


def apply(config, meta):
    """Fill the endpoints the config left unset from `meta` (mTLS aliases for tls_client_auth)."""
    aliases = meta.get("mtls_endpoint_aliases")
    use_aliases = config.token_endpoint_auth_method == "tls_client_auth" and isinstance(
        aliases, dict
    )
    for key in _ENDPOINTS:
        if getattr(config, key):
            continue  # explicit configuration wins
        url = aliases.get(key) if use_aliases else None
        url = url or meta.get(key)
        if url is None:
            continue
        if not isinstance(url, str) or not (
            url.startswith("https://") or (config.allow_insecure_http and url.startswith("http://"))
        ):
            raise ProtocolError("discovery: %s is not an https URL" % key)
        setattr(config, key, url)
    for key in ("device_authorization_endpoint", "token_endpoint"):
        if not getattr(config, key):
            raise ProtocolError("discovery: the server metadata has no %s" % key)


def configure(config, transport):
    """Resolve the endpoints: from the cache in state_dir, else from the server (then cached)."""
    if not config.issuer:
        return
    meta = tokens.read(config.state_dir, tokens.METADATA)
    if meta is None or meta.get("issuer") != config.issuer:
        meta = fetch(config, transport)
        keep = {"issuer": meta["issuer"]}
        for key in _ENDPOINTS + ("mtls_endpoint_aliases",):
            if key in meta:
                keep[key] = meta[key]
        tokens.write(config.state_dir, tokens.METADATA, keep)
        meta = keep
    apply(config, meta)


def forget(config):
    """Drop the cached metadata (after a failure), so the next start discovers again."""
    if config.issuer:
        tokens.delete(config.state_dir, tokens.METADATA)

"""The fields each state file must hold. devauth.oauth.tokens checks a file with `check` on
reading it, then unloads this module: state files are read at start and after a refresh only,
and the heap is needed most in between (a TLS handshake, a large token reply).

Keyed by the file names of devauth.oauth.tokens (not imported: it imports this).
"""

# The fields of each file, "name:kind", kind s (a non-empty string), i (a whole number) or o (an
# object), "!" when required; a field that is not required may also be null.
SCHEMA = {
    "token.json": "access_token:s! token_type:s refresh_token:s scope:s expires_at:i obtained_at:i",
    "pending.json": "device_code:s! user_code:s! verification_uri:s! verification_uri_complete:s "
    "interval:i! expires_at:i!",
    # config: the fingerprint of the settings it was fetched under (devauth.oauth.discovery)
    "metadata.json": "issuer:s! config:s device_authorization_endpoint:s token_endpoint:s "
    "revocation_endpoint:s mtls_endpoint_aliases:o",
}


def check(name, data):
    """The first field of `data` that does not fit the schema of file `name`, as a phrase, or
    None when it fits (or `name` has no schema)."""
    if not isinstance(data, dict):
        return "is not a JSON object"
    for spec in SCHEMA.get(name, "").split():
        key, kind = spec.split(":")
        v = data.get(key)
        if v is None:
            if kind[-1] == "!":
                return "has no %s" % key
            continue
        kind = kind[0]
        if kind == "s":
            if not isinstance(v, str) or not v:
                return "%s is not a non-empty string" % key
        elif kind == "i":
            if not isinstance(v, int) or isinstance(v, bool):
                return "%s is not a whole number" % key
        elif not isinstance(v, dict):
            return "%s is not an object" % key
    return None

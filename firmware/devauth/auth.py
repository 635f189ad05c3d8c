"""OAuth client authentication, applied identically to the device authorization and token requests.

Methods (RFC 7591 names): none, client_secret_basic, client_secret_post (RFC 6749 §2.3.1) and
tls_client_auth (RFC 8705 §2.1, the certificate itself is presented by the transport). Secrets go
only into the request body or the Authorization header.
"""

import binascii

from devauth.urlenc import quote


def apply(config, form):
    """Add this client's credentials to `form` [(name, value)]; return the extra headers."""
    method = config.token_endpoint_auth_method
    if method == "client_secret_basic":
        # RFC 6749 §2.3.1: id and secret are form-urlencoded *before* base64.
        pair = quote(config.client_id) + ":" + quote(config.client_secret)
        token = binascii.b2a_base64(pair.encode()).strip().decode()
        return [("Authorization", "Basic " + token)]
    # Every other method identifies the client in the body (RFC 8628 §3.1, RFC 8705 §2.1).
    form.insert(0, ("client_id", config.client_id))
    if method == "client_secret_post":
        form.insert(1, ("client_secret", config.client_secret))
    return []

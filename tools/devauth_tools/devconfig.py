"""Device configs that point the firmware at `devauth dev-as` (used by sim, bench and the tests)."""

import json
import os

# The dev server's clients, one per client authentication method (see dev_as.default_clients).
CLIENTS = {
    "none": "public-device",
    "client_secret_basic": "basic-device",
    "client_secret_post": "post-device",
    "tls_client_auth": "mtls-device",
    "client_secret_jwt": "jwt-secret-device",
    "private_key_jwt": "jwt-rsa-device",
}
JWT_SECRET = "a-32-byte-or-longer-shared-secret-for-hs256!!"
SECRET = "s3cr:t/+&=% \u00e9"  # the dev server's client secret: needs RFC 6749 §2.3.1 encoding


def write_config(directory, base_url, pki, method="none", **over):
    """Write `devauth.json` for the dev server at `base_url`, trusting its CA; -> its path.

    Keys in `over` replace the defaults; a value of None removes the key.
    """
    cfg = {
        "board": "unix",
        "client_id": CLIENTS.get(method, "public-device"),
        "scope": "openid profile",
        "device_authorization_endpoint": base_url + "/as/device_authz.oauth2",
        "token_endpoint": base_url + "/as/token.oauth2",
        "token_endpoint_auth_method": method,
        "ca_certificates": pki["ca_der"],
        "state_dir": os.path.join(str(directory), "state"),
    }
    if method in ("client_secret_basic", "client_secret_post"):
        cfg["client_secret"] = SECRET
    if method == "client_secret_jwt":
        cfg["client_secret"] = JWT_SECRET
    if method == "private_key_jwt":
        cfg["private_key"] = pki["jwt_rsa_key"]
        cfg["private_key_id"] = "rsa-1"
    if method == "tls_client_auth":
        cfg["tls_client_certificate"] = pki["client_pem"]
        cfg["tls_client_key"] = pki["client_key"]
    cfg.update(over)
    cfg = {k: v for k, v in cfg.items() if v is not None}
    path = os.path.join(str(directory), "devauth.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return path

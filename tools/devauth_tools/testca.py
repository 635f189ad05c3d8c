"""The test PKI of the dev authorization server, made with trustme (and `cryptography`).

`make_pki(directory)` writes three CAs and their certificates, PEM and DER, and returns the paths:

- the server CA (`ca.pem`, `ca.der`) and the server certificate (`server.pem`, `server.key`) for
  `localhost` and `127.0.0.1` (plus any extra `server_hosts`);
- the client CA (`client-ca.pem`, `client-ca.der`) and two client certificates it issued:
  `client.*` with the subject `CN=devauth-test-device,O=devauth` (the one `mtls-device` is
  registered with, RFC 8705 `tls_client_auth`) and `wrong-client.*` (`CN=someone-else,O=devauth`);
- an unrelated CA (`untrusted-ca.pem`, `untrusted-ca.der`) that issued nothing the server uses,
  for tests that a client refuses a server it does not trust;
- two key pairs for `private_key_jwt` (RFC 7523) client assertions: RSA 2048 (`jwt-rsa.key`,
  PKCS#1 PEM, and `jwt-rsa.pk8.der`, PKCS#8 DER, the same key) for `jwt-rsa-device` (RS256), EC
  P-256 (`jwt-ec.key`, SEC1 PEM, and `jwt-ec.pk8.pem`, PKCS#8 PEM) for `jwt-ec-device` (ES256),
  and their public keys as a JWK Set (`jwks.json`, `kid`s `rsa-1` and `ec-1`, with `alg` and
  `use: sig`), which the server registers for those clients.

Keys are EC P-256. Client keys are PKCS#8 (`*.key` PEM, `*.key.der` DER), as mbedTLS reads them.
Every private key is written 0600 in a 0700 directory (a new file: no old mode, no link kept).
trustme always adds an OU to the subjects it makes, so the client certificates, whose subject must
be exact, are made with `cryptography` and signed by the trustme client CA.
"""

import datetime
import json
import os

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from joserfc.jwk import ECKey, RSAKey

from devauth_tools.files import PRIVATE, PUBLIC, private_dir, write_file

CLIENT_SUBJECT = "CN=devauth-test-device,O=devauth"
WRONG_CLIENT_SUBJECT = "CN=someone-else,O=devauth"
DEFAULT_SERVER_HOSTS = ("localhost", "127.0.0.1")
MANIFEST = "pki.json"

# file name -> key in the returned dict
FILES = {
    "ca.pem": "ca_pem",
    "ca.der": "ca_der",
    "server.pem": "server_pem",
    "server.key": "server_key",
    "client-ca.pem": "client_ca_pem",
    "client-ca.der": "client_ca_der",
    "client.pem": "client_pem",
    "client.key": "client_key",
    "client.der": "client_der",
    "client.key.der": "client_key_der",
    "wrong-client.pem": "wrong_client_pem",
    "wrong-client.key": "wrong_client_key",
    "wrong-client.der": "wrong_client_der",
    "wrong-client.key.der": "wrong_client_key_der",
    "untrusted-ca.pem": "untrusted_ca_pem",
    "untrusted-ca.der": "untrusted_ca_der",
    "jwt-rsa.key": "jwt_rsa_key",
    "jwt-rsa.pk8.der": "jwt_rsa_pk8_der",
    "jwt-ec.key": "jwt_ec_key",
    "jwt-ec.pk8.pem": "jwt_ec_pk8_pem",
    "jwks.json": "jwks_json",
}

# private_key_jwt key pairs: kid -> (alg, file with the PEM private key)
JWT_RSA_KID = "rsa-1"
JWT_EC_KID = "ec-1"

_NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
_NOT_AFTER = datetime.datetime(3000, 1, 1, tzinfo=datetime.timezone.utc)


def pki_paths(directory):
    """The dict `make_pki` returns, for files already in `directory`."""
    directory = os.path.abspath(directory)
    paths = {key: os.path.join(directory, name) for name, key in FILES.items()}
    paths["dir"] = directory
    return paths


def _write(path, data):
    """A certificate, a public key set: 0644 (a new file, no link followed)."""
    write_file(path, data, PUBLIC)


def _write_key(path, data):
    """A private key: 0600 (a new file, no link followed)."""
    write_file(path, data, PRIVATE)


def _pem_to_der(pem):
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def _issue_client_cert(ca, subject):
    """(certificate, key) for `subject` (an RFC 4514 string), signed by the trustme `ca`."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string(subject))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    assert cert.subject.rfc4514_string() == subject, cert.subject.rfc4514_string()
    return cert, key


def _write_client(directory, stem, cert, key):
    pkcs8 = serialization.PrivateFormat.PKCS8
    none = serialization.NoEncryption()
    pem, der = serialization.Encoding.PEM, serialization.Encoding.DER
    _write(os.path.join(directory, stem + ".pem"), cert.public_bytes(pem))
    _write(os.path.join(directory, stem + ".der"), cert.public_bytes(der))
    _write_key(os.path.join(directory, stem + ".key"), key.private_bytes(pem, pkcs8, none))
    _write_key(os.path.join(directory, stem + ".key.der"), key.private_bytes(der, pkcs8, none))


def _write_jwt_keys(paths):
    """The private_key_jwt key pairs in the forms a device may hold, and their public JWK Set."""
    pem, der = serialization.Encoding.PEM, serialization.Encoding.DER
    pkcs8, traditional = (
        serialization.PrivateFormat.PKCS8,
        serialization.PrivateFormat.TraditionalOpenSSL,
    )
    none = serialization.NoEncryption()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(paths["jwt_rsa_key"], rsa_key.private_bytes(pem, traditional, none))  # PKCS#1
    _write_key(paths["jwt_rsa_pk8_der"], rsa_key.private_bytes(der, pkcs8, none))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    _write_key(paths["jwt_ec_key"], ec_key.private_bytes(pem, traditional, none))  # SEC1
    _write_key(paths["jwt_ec_pk8_pem"], ec_key.private_bytes(pem, pkcs8, none))
    keys = [
        RSAKey.import_key(rsa_key.public_key(), {"kid": JWT_RSA_KID, "alg": "RS256", "use": "sig"}),
        ECKey.import_key(ec_key.public_key(), {"kid": JWT_EC_KID, "alg": "ES256", "use": "sig"}),
    ]
    jwks = {"keys": [k.as_dict(private=False) for k in keys]}
    _write(paths["jwks_json"], (json.dumps(jwks, indent=2) + "\n").encode())


def make_pki(directory, server_hosts=DEFAULT_SERVER_HOSTS):
    """Write a fresh test PKI into `directory` (created if missing) and return its paths.

    Returns a dict: file name with `.`/`-` as `_` -> absolute path (`ca_pem`, `ca_der`,
    `server_pem`, `server_key`, `client_ca_pem`, `client_ca_der`, `client_pem`, `client_key`,
    `client_der`, `client_key_der`, `wrong_client_pem`, `wrong_client_key`, `wrong_client_der`,
    `wrong_client_key_der`, `untrusted_ca_pem`, `untrusted_ca_der`, `jwt_rsa_key`,
    `jwt_rsa_pk8_der`, `jwt_ec_key`, `jwt_ec_pk8_pem`, `jwks_json`) plus `dir`.
    `server_hosts` are the names/IP addresses in the server certificate.
    """
    private_dir(directory)  # private keys inside
    paths = pki_paths(directory)
    hosts = list(dict.fromkeys(server_hosts))

    server_ca = trustme.CA(organization_name="devauth", organization_unit_name="dev-as server CA")
    server = server_ca.issue_cert(
        *hosts,
        common_name=hosts[0],
        organization_name="devauth",
        organization_unit_name="dev-as server",
    )
    _write(paths["ca_pem"], server_ca.cert_pem.bytes())
    _write(paths["ca_der"], _pem_to_der(server_ca.cert_pem.bytes()))
    _write(paths["server_pem"], server.cert_chain_pems[0].bytes())
    _write_key(paths["server_key"], server.private_key_pem.bytes())

    client_ca = trustme.CA(organization_name="devauth", organization_unit_name="dev-as client CA")
    _write(paths["client_ca_pem"], client_ca.cert_pem.bytes())
    _write(paths["client_ca_der"], _pem_to_der(client_ca.cert_pem.bytes()))
    _write_client(directory, "client", *_issue_client_cert(client_ca, CLIENT_SUBJECT))
    _write_client(directory, "wrong-client", *_issue_client_cert(client_ca, WRONG_CLIENT_SUBJECT))

    untrusted = trustme.CA(organization_name="devauth", organization_unit_name="untrusted CA")
    _write(paths["untrusted_ca_pem"], untrusted.cert_pem.bytes())
    _write(paths["untrusted_ca_der"], _pem_to_der(untrusted.cert_pem.bytes()))

    _write_jwt_keys(paths)

    manifest = {"server_hosts": hosts, "files": sorted(FILES)}
    _write(os.path.join(directory, MANIFEST), json.dumps(manifest, indent=2).encode())
    return paths


def load_or_make_pki(directory, server_hosts=DEFAULT_SERVER_HOSTS):
    """The PKI already in `directory` if it is complete and made for `server_hosts`, else a new one.

    Keeping the PKI lets a board that was given `ca.der` once keep trusting the server.
    """
    paths = pki_paths(directory)
    try:
        with open(os.path.join(directory, MANIFEST)) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        manifest = None
    wanted = list(dict.fromkeys(server_hosts))
    if (
        manifest
        and manifest.get("server_hosts") == wanted
        and all(os.path.isfile(p) for k, p in paths.items() if k != "dir")
    ):
        return paths
    return make_pki(directory, server_hosts)

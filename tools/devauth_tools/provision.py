"""`devauth provision`: a per-device key and certificate request for RFC 8705 tls_client_auth.

    devauth provision --out certs/device-42 --subject "CN=device-42,O=Example"
    devauth provision --out certs/device-42 --subject "CN=device-42,O=Example" \\
        --ca-cert ca.pem --ca-key ca.key

Writes an EC P-256 private key (`device-key.pem`, PKCS#8, mode 0600, a new file even with
`--force`: an old mode or a planted link is never kept) and a CSR (`device.csr`);
with a CA, also the client certificate it signs (`device.pem`, clientAuth). Prints the subject
DN: register it at the authorization server (RFC 8705 §2.1.2 `tls_client_auth_subject_dn`; in
PingFederate, the client's "Issuer/Subject DN"). Point devauth.json's tls_client_certificate and
tls_client_key at the two files; `devauth deploy` copies them to the board as DER.
"""

import datetime
import os
import sys

from devauth_tools.files import PUBLIC, private_dir, write_file

KEY = "device-key.pem"
CSR = "device.csr"
CERT = "device.pem"


class ProvisionError(Exception):
    pass


def parse_subject(text):
    from cryptography import x509

    try:
        name = x509.Name.from_rfc4514_string(text)
    except ValueError as e:
        raise ProvisionError(
            "--subject %r is not a DN such as CN=device-1,O=Example (%s)" % (text, e)
        ) from None
    if not name.get_attributes_for_oid(x509.NameOID.COMMON_NAME):
        raise ProvisionError("--subject needs a CN (e.g. CN=device-1,O=Example)")
    return name


def provision(out, subject, ca_cert=None, ca_key=None, days=825, force=False):
    """Make the files in `out` -> dict of their paths and the subject DN (RFC 4514)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    name = parse_subject(subject)
    if (ca_cert is None) != (ca_key is None):
        raise ProvisionError("--ca-cert and --ca-key go together")
    if not os.path.isdir(out):
        private_dir(out)  # made here: the key's folder is its owner's alone
    paths = {"key": os.path.join(out, KEY), "csr": os.path.join(out, CSR)}
    if os.path.exists(paths["key"]) and not force:
        raise ProvisionError(
            "%s exists: this device has a key (use --force to replace it)" % paths["key"]
        )
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
    write_file(paths["key"], pem)  # 0600, a new file: --force never keeps an old mode or link
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    write_file(paths["csr"], csr.public_bytes(s.Encoding.PEM), PUBLIC)
    if ca_cert is not None:
        try:
            issuer = x509.load_pem_x509_certificate(open(ca_cert, "rb").read())
            signer = s.load_pem_private_key(open(ca_key, "rb").read(), password=None)
        except (OSError, ValueError, TypeError) as e:
            raise ProvisionError("cannot use the CA %s / %s (%s)" % (ca_cert, ca_key, e)) from None
        if signer.public_key().public_numbers() != issuer.public_key().public_numbers():
            raise ProvisionError("--ca-key is not the key of --ca-cert")
        now = datetime.datetime.now(datetime.timezone.utc)
        ski = x509.SubjectKeyIdentifier.from_public_key(issuer.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
            )
            .sign(signer, hashes.SHA256())
        )
        paths["cert"] = os.path.join(out, CERT)
        write_file(paths["cert"], cert.public_bytes(s.Encoding.PEM), PUBLIC)
    paths["subject"] = name.rfc4514_string()
    return paths


def main(args):
    try:
        made = provision(args.out, args.subject, args.ca_cert, args.ca_key, args.days, args.force)
    except ProvisionError as e:
        print("devauth provision: %s" % e, file=sys.stderr)
        return 2
    print("devauth provision: private key  %s (EC P-256; keep it on the device only)" % made["key"])
    print("devauth provision: request      %s" % made["csr"])
    if "cert" in made:
        print(
            "devauth provision: certificate  %s (clientAuth, %d days)" % (made["cert"], args.days)
        )
    else:
        print("devauth provision: have your CA sign the request; save the certificate as %s" % CERT)
    print("Register this subject DN for the client at the authorization server:")
    print(made["subject"])
    return 0


def add_parser(sub):
    p = sub.add_parser("provision", help="a device key and CSR (or CA-signed certificate)")
    p.add_argument("--out", required=True, help="directory for the key, CSR and certificate")
    p.add_argument("--subject", required=True, help='the subject DN, e.g. "CN=device-1,O=Ex"')
    p.add_argument("--ca-cert", help="sign with this CA certificate (PEM) ...")
    p.add_argument("--ca-key", help="... and its private key (PEM, unencrypted)")
    p.add_argument("--days", type=int, default=825, help="certificate lifetime (default 825)")
    p.add_argument("--force", action="store_true", help="replace an existing device key")
    p.set_defaults(fn=main)

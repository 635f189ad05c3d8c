"""`devauth provision`: an EC P-256 key and a CSR that parses with the subject asked for, or a
client certificate signed by a given CA; the subject DN to register is printed."""

import os
import stat

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from devauth_tools import cli

SUBJECT = "CN=device-42,O=Example Corp,C=DE"


def make_ca(directory, name="devauth test device CA"):
    """A self-signed EC CA -> (cert path, key path)."""
    import datetime

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    os.makedirs(directory, exist_ok=True)
    cert_path, key_path = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


def provision(capsys, out, *extra, subject=SUBJECT):
    code = cli.main(["provision", "--out", str(out), "--subject", subject] + list(extra))
    o, e = capsys.readouterr()
    return code, o.splitlines(), e


def test_key_and_csr_with_the_subject(capsys, tmp_path):
    code, lines, err = provision(capsys, tmp_path)
    assert code == 0, err
    assert lines[-2:] == [
        "Register this subject DN for the client at the authorization server:",
        SUBJECT,
    ]
    key_path = tmp_path / "device-key.pem"
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    csr = x509.load_pem_x509_csr((tmp_path / "device.csr").read_bytes())
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == SUBJECT
    assert csr.public_key().public_numbers() == key.public_key().public_numbers()
    assert not (tmp_path / "device.pem").exists()


def test_a_ca_signs_a_client_certificate(capsys, tmp_path):
    ca_cert, ca_key = make_ca(str(tmp_path / "ca"))
    out = tmp_path / "dev"
    code, lines, err = provision(capsys, out, "--ca-cert", ca_cert, "--ca-key", ca_key)
    assert code == 0, err
    assert lines[-1] == SUBJECT
    cert = x509.load_pem_x509_certificate((out / "device.pem").read_bytes())
    ca = x509.load_pem_x509_certificate(open(ca_cert, "rb").read())
    assert cert.subject.rfc4514_string() == SUBJECT and cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)  # raises if the CA did not sign it
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    key = serialization.load_pem_private_key((out / "device-key.pem").read_bytes(), None)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()


def test_mistakes_are_one_line(capsys, tmp_path):
    code, _, err = provision(capsys, tmp_path, subject="device-42")
    assert code == 2 and err.startswith("devauth provision: --subject 'device-42' is not a DN")
    code, _, err = provision(capsys, tmp_path, subject="O=Example")
    assert code == 2 and "needs a CN" in err
    code, _, err = provision(capsys, tmp_path, "--ca-cert", "ca.pem")
    assert code == 2 and "--ca-cert and --ca-key go together" in err
    assert provision(capsys, tmp_path)[0] == 0
    code, _, err = provision(capsys, tmp_path)
    assert code == 2 and "device-key.pem exists" in err
    ca_cert, _ = make_ca(str(tmp_path / "ca1"))
    _, other_key = make_ca(str(tmp_path / "ca2"))
    code, _, err = provision(capsys, tmp_path / "x", "--ca-cert", ca_cert, "--ca-key", other_key)
    assert code == 2 and "--ca-key is not the key of --ca-cert" in err


def test_force_writes_a_new_private_key_file_never_through_a_link(capsys, tmp_path):
    out = tmp_path / "device-7"
    old = os.umask(0o022)
    try:
        assert provision(capsys, out)[0] == 0
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o700  # made by provision: private
        key = out / "device-key.pem"
        os.chmod(key, 0o644)  # an old key left readable by someone
        assert provision(capsys, out, "--force")[0] == 0
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
        victim = tmp_path / "victim.pem"
        victim.write_text("someone else's file")
        os.remove(key)
        os.symlink(str(victim), str(key))  # a link planted where the key goes
        assert provision(capsys, out, "--force")[0] == 0
    finally:
        os.umask(old)
    assert victim.read_text() == "someone else's file"
    assert not os.path.islink(key) and stat.S_IMODE(os.lstat(key).st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(os.stat(out / "device.csr").st_mode) == 0o644  # public

"""The certificates a TLS server presents, and the root CA that validates them (host side).

`devauth init` saves that root as the device's trust anchor; `devauth check` names the chain
when the configured anchor does not fit. CPython's ssl module keeps the chain calls private
before Python 3.13 (`SSLObject.get_(un)verified_chain`): they are reached through `_sslobj`.
"""

import socket
import ssl

try:
    from _ssl import ENCODING_DER
except ImportError:  # pragma: no cover - every CPython has it
    ENCODING_DER = 2


class ChainError(Exception):
    """One line: the server could not be reached or spoke no TLS."""


def _chain(sock, verified):
    name = "get_verified_chain" if verified else "get_unverified_chain"
    get = getattr(sock, name, None) or getattr(getattr(sock, "_sslobj", None), name, None)
    if get is None:  # no chain API at all: the leaf is all we can see
        return [sock.getpeercert(binary_form=True)]
    return [c if isinstance(c, bytes) else c.public_bytes(ENCODING_DER) for c in get()]


def presented(host, port, timeout=10):
    """The certificates the server sends, leaf first, as DER, not verified -> list."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as s:
                return _chain(s, verified=False)
    except ssl.SSLError as e:
        raise ChainError("%s:%d: no TLS handshake (%s)" % (host, port, e.reason or e)) from None
    except OSError as e:
        raise ChainError("%s:%d: %s" % (host, port, e.strerror or e)) from None


def verified(host, port, cafile=None, cadata=None, timeout=10):
    """The chain from the leaf to a trusted root, as DER, verified for `host`, or None.

    Trusted: `cafile` / `cadata` when given, else this computer's trust store (which
    $SSL_CERT_FILE replaces, as everywhere OpenSSL is used).
    """
    if cafile or cadata:
        ctx = ssl.create_default_context(cafile=cafile, cadata=cadata)
    else:
        ctx = ssl.create_default_context()
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as s:
                return _chain(s, verified=True)
    except ssl.SSLCertVerificationError:
        return None
    except ssl.SSLError as e:
        raise ChainError("%s:%d: no TLS handshake (%s)" % (host, port, e.reason or e)) from None
    except OSError as e:
        raise ChainError("%s:%d: %s" % (host, port, e.strerror or e)) from None


def load(der):
    from cryptography import x509

    return x509.load_der_x509_certificate(bytes(der))


def subject(der):
    """The subject DN of a DER certificate (RFC 4514), or a note when it is not one."""
    try:
        return load(der).subject.rfc4514_string()
    except ValueError:
        return "(not a certificate)"


def is_ca_root(der):
    """A self-signed CA certificate: one a device can hold as its trust anchor."""
    from cryptography import x509

    cert = load(der)
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        ca = False
    return ca and cert.issuer == cert.subject


def describe(der):
    """One line for a person: subject, issuer, validity end, SHA-256 fingerprint."""
    from cryptography.hazmat.primitives import hashes

    cert = load(der)
    return "%s (issued by %s, valid until %s, SHA-256 %s)" % (
        cert.subject.rfc4514_string(),
        cert.issuer.rfc4514_string(),
        cert.not_valid_after_utc.strftime("%Y-%m-%d"),
        cert.fingerprint(hashes.SHA256()).hex(":")[:23] + "...",
    )

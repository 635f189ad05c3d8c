"""CPython stand-in for MicroPython's `tls` module (host tests only, never on a board).

Mirrors the MicroPython API the firmware uses: SSLContext(PROTOCOL_TLS_CLIENT) starting at
CERT_NONE, load_verify_locations(DER), load_cert_chain(DER cert, DER key), wrap_socket(sock,
server_hostname=...) returning a stream with read/readinto/readline/write/close. Verification
failures raise ValueError, as mbedTLS does on MicroPython.

Non-blocking, as MicroPython's asyncio uses it: `wrap_socket(sock, server_hostname=...,
do_handshake_on_connect=False)` on a connected non-blocking socket; the handshake then runs
inside read/readinto/write, which return None while they would block. `poll_mask` says which
way the TLS layer waits meanwhile (select.POLLIN or POLLOUT; 0: the caller's own direction):
mbedTLS's socket keeps the same field for MicroPython's poll, which reads it for itself.
"""

import os
import select
import ssl as _ssl
import tempfile

PROTOCOL_TLS_CLIENT = 0
PROTOCOL_TLS_SERVER = 1
CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2


class _Stream:
    def __init__(self, ssock):
        self._s = ssock
        self._f = ssock.makefile("rwb", buffering=0)
        self.poll_mask = 0

    def _call(self, fn, arg):
        """fn(arg); None while it would block (the TLS layer's direction in poll_mask), a
        certificate the handshake rejected as ValueError."""
        self.poll_mask = 0
        try:
            return fn(arg)
        except _ssl.SSLWantReadError:
            self.poll_mask = select.POLLIN
        except _ssl.SSLWantWriteError:
            self.poll_mask = select.POLLOUT
        except _ssl.SSLCertVerificationError as e:
            raise ValueError(e.verify_message or str(e)) from None
        except BlockingIOError:  # the socket below: its own direction
            pass
        return None

    def read(self, n=-1):
        return self._call(self._f.read, n)

    def readinto(self, buf):
        return self._call(self._f.readinto, buf)

    def fileno(self):  # select.poll, as MicroPython's TLS socket allows
        return self._s.fileno()

    def readline(self, limit=-1):
        return self._f.readline(limit)

    def write(self, data):
        return self._call(self._f.write, data)

    def settimeout(self, seconds):
        self._s.settimeout(seconds)

    def close(self):
        self._f.close()
        self._s.close()


class SSLContext:
    def __init__(self, protocol):
        self._ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        self._ctx.check_hostname = False
        self._ctx.verify_mode = _ssl.CERT_NONE
        self.verify_mode = CERT_NONE

    def load_verify_locations(self, cadata):
        self._ctx.load_verify_locations(cadata=bytes(cadata))

    def load_cert_chain(self, cert, key):
        d = tempfile.mkdtemp()
        try:
            cp, kp = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
            with open(cp, "w") as f:
                f.write(_ssl.DER_cert_to_PEM_cert(bytes(cert)))
            with open(kp, "w") as f:
                f.write(_der_key_to_pem(bytes(key)))
            try:
                self._ctx.load_cert_chain(cp, kp)
            except _ssl.SSLError as e:
                raise ValueError(str(e)) from None
        finally:
            for name in os.listdir(d):
                os.remove(os.path.join(d, name))
            os.rmdir(d)

    def wrap_socket(self, sock, server_hostname=None, do_handshake_on_connect=True):
        if self.verify_mode == CERT_REQUIRED:
            self._ctx.verify_mode = _ssl.CERT_REQUIRED
            self._ctx.check_hostname = server_hostname is not None
        try:
            ssock = self._ctx.wrap_socket(
                sock,
                server_hostname=server_hostname,
                do_handshake_on_connect=do_handshake_on_connect,
            )
        except _ssl.SSLCertVerificationError as e:
            raise ValueError(e.verify_message or str(e)) from None
        return _Stream(ssock)


def _der_key_to_pem(der):
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_der_private_key(der, None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()

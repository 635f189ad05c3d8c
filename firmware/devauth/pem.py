"""Certificates and keys as DER, from PEM (one or several blocks) or DER files.

mbedTLS on MicroPython takes DER only, so PEM is decoded here, on the device.
"""

import binascii


def der_blocks(data, what):
    """Return the list of DER blobs in `data` (PEM text or one DER blob).

    `what` names the source (a config key) for the error message; raises ValueError.
    """
    if isinstance(data, str):
        data = data.encode()
    stripped = data.strip()
    if not stripped:
        raise ValueError("%s: file is empty" % what)
    if not stripped.startswith(b"-----BEGIN "):
        if stripped[0] == 0x30:  # a DER SEQUENCE
            return [bytes(data)]
        raise ValueError("%s: not PEM or DER" % what)
    blocks = []
    pos = 0
    while True:
        start = data.find(b"-----BEGIN ", pos)
        if start < 0:
            break
        body = data.find(b"-----", start + 11)
        if data.find(b"ENCRYPTED", start, body) >= 0:
            raise ValueError("%s: encrypted PEM is not supported, store the key unencrypted" % what)
        body = data.find(b"\n", body)
        end = data.find(b"-----END ", start)
        if body < 0 or end < 0:
            raise ValueError("%s: PEM block not terminated" % what)
        try:
            blocks.append(binascii.a2b_base64(data[body + 1 : end]))
        except ValueError:
            raise ValueError("%s: PEM block is not valid base64" % what) from None
        pos = data.find(b"\n", end)
        if pos < 0:
            break
    return blocks

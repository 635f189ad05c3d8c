"""Certificates and keys as DER, from PEM (one or several blocks) or DER files.

mbedTLS on MicroPython takes DER only, so PEM is decoded here, on the device.
"""

import binascii


def pem_blocks(data):
    """[(label, der)] for every PEM block in `data` (bytes): label like b"CERTIFICATE".

    Raises ValueError (one line, no key material) for a broken or an encrypted block.
    """
    blocks = []
    pos = 0
    while True:
        start = data.find(b"-----BEGIN ", pos)
        if start < 0:
            return blocks
        head_end = data.find(b"-----", start + 11)
        if head_end < 0:
            raise ValueError("PEM header not terminated")
        label = bytes(data[start + 11 : head_end])
        end_marker = b"-----END " + label + b"-----"
        end = data.find(end_marker, head_end)
        if end < 0:
            raise ValueError("PEM block not terminated")
        body = data[head_end + 5 : end]
        # RFC 1421 headers (Proc-Type: 4,ENCRYPTED) or PKCS#8 ENCRYPTED PRIVATE KEY
        if b"ENCRYPTED" in label or b":" in body:
            raise ValueError("encrypted private keys are not supported")
        try:
            blocks.append((label, binascii.a2b_base64(body)))
        except ValueError:
            raise ValueError("PEM block is not valid base64") from None
        pos = end + len(end_marker)


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
    try:
        return [der for _, der in pem_blocks(data)]
    except ValueError as e:
        raise ValueError("%s: %s" % (what, e)) from None

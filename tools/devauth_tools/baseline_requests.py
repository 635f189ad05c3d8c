"""The naive baseline for `make bench`: the same device sign-in written the obvious way with the
`requests` module frozen into the MicroPython unix port (what micropython-urequests installs).

No server verification (requests sets CERT_NONE), a new TLS connection per request. Run as
micropython baseline_requests.py DEVICE_AUTHZ_URL TOKEN_URL CLIENT_ID
"""

import sys
import time

import requests

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def main(device_url, token_url, client_id):
    r = requests.post(device_url, data="client_id=" + client_id, headers=FORM)
    code = r.json()
    r.close()
    print("To sign in, visit %s and enter code %s" % (code["verification_uri"], code["user_code"]))
    interval = code.get("interval", 5)
    body = (
        "client_id=%s&grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Adevice_code"
        "&device_code=%s" % (client_id, code["device_code"])
    )
    while True:
        time.sleep(interval)
        r = requests.post(token_url, data=body, headers=FORM)
        reply = r.json()
        r.close()
        if "access_token" in reply:
            print("Signed in.")
            return 0
        if reply.get("error") == "slow_down":
            interval += 5
        elif reply.get("error") != "authorization_pending":
            print("failed:", reply.get("error"))
            return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))

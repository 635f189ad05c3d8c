"""`--quirks NAME`: the dev server answers as a real provider does (issue 11).

Authlib still decides everything (client, code, approval, expiry, slow_down); these hooks only
reshape its replies on the device authorization and token endpoints, the way each provider's
documentation and client-library issues describe them:

- `github`    every reply form-encoded (as GitHub does without `Accept: application/json`);
              polling errors with HTTP 200; `slow_down` carries the new `interval`;
              `token_type` "bearer"; scopes comma-separated
- `google`    `verification_url`, no `verification_uri_complete`; pending 428, `slow_down` 403
              without interval, `access_denied` 403; the first poll of each code meets a quota
              reply (403, `error_code: rate_limit_exceeded`, no `error`)
- `entra`     (v2) a `message`, no `verification_uri_complete`; a refusal is
              `authorization_declined`; errors carry `error_codes`
- `entra-v1`  entra, plus `verification_url`, numbers as strings (`"expires_in": "900"`), and
              polls with `grant_type=device_code` and `code` (rewritten for Authlib)
- `auth0`     pending 403, `slow_down` 429, `access_denied` and `expired_token` 403
- `dex`       pending 401 (Dex before 2025)
"""

import io
import urllib.parse

from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from flask import json, request

from devauth_tools.dev_as.constants import DEVICE_AUTHZ_PATH, QUIRKS, TOKEN_PATH

NAMES = QUIRKS  # the providers whose replies this module imitates (dev_as.constants)
FORM = "application/x-www-form-urlencoded; charset=utf-8"
ENTRA_CODES = {  # AADSTS numbers Entra sends in error_codes
    "authorization_pending": 70016,
    "authorization_declined": 70000,
    "expired_token": 70020,
    "slow_down": 70019,
}


def install(app, store, name):
    """Reshape `app`'s device authorization and token replies as provider `name` does."""
    if name not in NAMES:
        raise ValueError(f"quirks must be one of {', '.join(NAMES)}")
    if name == "entra-v1":
        app.wsgi_app = _V1Polls(app.wsgi_app)
    reshape = globals()["_" + name.replace("-", "_")]
    quota_met = set()  # google: device codes that met their quota reply

    @app.after_request
    def as_provider(response):
        if request.path not in (DEVICE_AUTHZ_PATH, TOKEN_PATH):
            return response
        body = response.get_json(silent=True)
        if not isinstance(body, dict):
            return response  # an injected 503 page stays as it is
        device = request.path == DEVICE_AUTHZ_PATH
        if name == "google" and not device and "error" in body:
            code = request.form.get("device_code")
            if code and code not in quota_met:
                quota_met.add(code)
                status, body = 403, {"error_code": "rate_limit_exceeded"}
                return _reply(response, status, body)
        status, body, form = reshape(device, response.status_code, body, store)
        return _reply(response, status, body, form)

    return app


def _reply(response, status, body, form=False):
    response.status_code = status
    if form:
        response.set_data(urllib.parse.urlencode(body).encode())
        response.headers["Content-Type"] = FORM
    else:
        response.set_data(json.dumps(body).encode())
        response.headers["Content-Type"] = "application/json"
    return response


def _github(device, status, body, store):
    error = body.get("error")
    if error == "slow_down":
        body["interval"] = store.opts["interval"] + 5
    if error:
        status = 200  # GitHub: every polling error comes with HTTP 200
    if "token_type" in body:
        body["token_type"] = "bearer"
    if "scope" in body:
        body["scope"] = ",".join(body["scope"].split())
    return status, body, True


def _google(device, status, body, store):
    if device and status == 200:
        body["verification_url"] = body.pop("verification_uri")
        body.pop("verification_uri_complete", None)
    status = {"authorization_pending": 428, "slow_down": 403, "access_denied": 403}.get(
        body.get("error"), status
    )
    return status, body, False


def _entra(device, status, body, store):
    if device and status == 200:
        body.pop("verification_uri_complete", None)
        body["message"] = (
            "To sign in, use a web browser to open the page %s and enter the code %s"
            % (
                body["verification_uri"],
                body["user_code"],
            )
        )
    if body.get("error") == "access_denied":
        body["error"] = "authorization_declined"
    if "error" in body:
        body["error_codes"] = [ENTRA_CODES.get(body["error"], 9002313)]
        body["error_description"] = "AADSTS%d: %s" % (body["error_codes"][0], body["error"])
    return status, body, False


def _entra_v1(device, status, body, store):
    status, body, _ = _entra(device, status, body, store)
    if device and status == 200:
        body["verification_url"] = body.pop("verification_uri")
    for key in ("expires_in", "interval"):
        if key in body:
            body[key] = str(body[key])  # v1 sends its numbers as strings
    return status, body, False


def _auth0(device, status, body, store):
    status = {
        "authorization_pending": 403,
        "slow_down": 429,
        "access_denied": 403,
        "expired_token": 403,
    }.get(body.get("error"), status)
    return status, body, False


def _dex(device, status, body, store):
    if body.get("error") == "authorization_pending":
        status = 401  # Dex before 2025
    return status, body, False


class _V1Polls:
    """Entra v1 polls with grant_type=device_code and `code`: rewritten to RFC 8628's names."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == TOKEN_PATH:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = urllib.parse.parse_qsl(environ["wsgi.input"].read(length).decode())
            if ("grant_type", "device_code") in form:
                form = [
                    ("grant_type", DEVICE_CODE_GRANT_TYPE)
                    if k == "grant_type"
                    else ("device_code" if k == "code" else k, v)
                    for k, v in form
                ]
            data = urllib.parse.urlencode(form).encode()
            environ["wsgi.input"] = io.BytesIO(data)
            environ["CONTENT_LENGTH"] = str(len(data))
        return self.app(environ, start_response)

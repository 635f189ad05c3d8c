"""The Flask application: the OAuth endpoints through Authlib, the approval page, stats and
metadata.

The approval page is protected against cross-site request forgery (`--advertise-host` puts it on
a LAN, where any page a person visits could otherwise post "approve" for an attacker's code): a
GET sets a random token in a cookie (HttpOnly, Secure, SameSite=Strict, this path only) and in a
hidden form field; a POST is decided only when both are present and equal (double submit) and,
when the browser sends an Origin, it is this server's own.
"""

import functools
import hmac
import secrets

from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE, DeviceAuthorizationEndpoint
from flask import Flask, Response, jsonify, request
from markupsafe import escape

from devauth_tools.dev_as.api import install as install_api
from devauth_tools.dev_as.clients import (
    ClientAssertionAuth,
    authenticate_client_secret_basic,
    authenticate_tls_client_auth,
)
from devauth_tools.dev_as.constants import (
    DEFAULT_SCOPE,
    DEVICE_AUTHZ_PATH,
    JWT_METHODS,
    METADATA_PATHS,
    REVOKE_PATH,
    STATS_PATH,
    SUPPORTED_SCOPES,
    TOKEN_PATH,
    USER_AUTHZ_PATH,
)
from devauth_tools.dev_as.grants import (
    _AuthorizationServer,
    _DeviceAuthorizationEndpoint,
    _DeviceCodeGrant,
    _RefreshTokenGrant,
    _RevocationEndpoint,
)
from devauth_tools.dev_as.store import normalize_user_code

FAIL_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n"
    b"<body><h1>Service Unavailable</h1>\n"
    b"<p>The server is temporarily unable to service your request. Please try again later.</p>\n"
    b"</body></html>\n"
)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>devauth: {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 28em; margin: 1.5em auto;
       padding: 0 1em; line-height: 1.4; }}
input[type=text] {{ font-size: 1.6em; width: 100%; box-sizing: border-box; padding: .3em;
       letter-spacing: .1em; text-transform: uppercase; font-family: monospace; }}
button {{ font-size: 1.2em; padding: .5em 1.2em; margin: .8em .5em 0 0; }}
.error {{ color: #a00; font-weight: bold; }} .ok {{ color: #070; font-weight: bold; }}
</style></head>
<body>
<h1>{title}</h1>
{body}
</body></html>
"""


def _page(title, body, status=200):
    html = _PAGE.format(title=escape(title), body=body)
    return Response(html, status=status, mimetype="text/html")


CSRF_COOKIE = "devauth_csrf"
CSRF_FIELD = "csrf_token"


def _csrf_token():
    """The page's token: the browser's own (cookie) when it has a well-formed one, else new."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) == 43 and token.replace("-", "").replace("_", "").isalnum():
        return token
    return secrets.token_urlsafe(32)


def _csrf_ok():
    """Whether this POST comes from a form this server served to this browser."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.form.get(CSRF_FIELD, "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        return False
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


def _with_csrf(response, token):
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        secure=True,
        samesite="Strict",
        path=USER_AUTHZ_PATH,
    )
    return response


def _form_page(code="", error=None, info=None, status=200, token=""):
    parts = []
    if error:
        parts.append(f'<p class="error">{escape(error)}</p>')
    if info:
        parts.append(f"<p>{info}</p>")
    parts.append(
        "<p>Enter the code shown on your device.</p>\n"
        f'<form method="post" action="{USER_AUTHZ_PATH}">\n'
        f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">\n'
        '<label for="user_code">Code</label><br>\n'
        '<input type="text" id="user_code" name="user_code" autocomplete="off" '
        'autocapitalize="characters" spellcheck="false" placeholder="XXXX-XXXX" '
        f'value="{escape(code)}" required><br>\n'
        '<button type="submit" name="action" value="approve">Approve</button>\n'
        '<button type="submit" name="action" value="deny">Deny</button>\n'
        "</form>"
    )
    return _with_csrf(_page("Connect a device", "\n".join(parts), status), token)


def _describe_request(cred):
    if not cred:
        return ""
    scope = cred.get("scope") or DEFAULT_SCOPE
    return f"<b>{escape(cred['client_id'])}</b> asks for access to: <b>{escape(scope)}</b>"


def create_app(store):
    """The Flask app with the Authlib server; `store` holds state and options."""
    app = Flask("devauth_tools.dev_as")
    app.config.update(
        OAUTH2_REFRESH_TOKEN_GENERATOR=True,
        OAUTH2_TOKEN_EXPIRES_IN={
            DEVICE_CODE_GRANT_TYPE: store.opts["access_token_lifetime"],
            "refresh_token": store.opts["access_token_lifetime"],
        },
        OAUTH2_SCOPES_SUPPORTED=list(SUPPORTED_SCOPES),
    )
    server = _AuthorizationServer(app, store)
    server.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)
    server.register_client_auth_method(
        "tls_client_auth", functools.partial(authenticate_tls_client_auth, store=store)
    )
    for method in JWT_METHODS:
        server.register_client_auth_method(method, ClientAssertionAuth(store, method))
    server.register_grant(_DeviceCodeGrant)
    server.register_grant(_RefreshTokenGrant)
    server.register_endpoint(_DeviceAuthorizationEndpoint(server, store))
    server.register_endpoint(_RevocationEndpoint)
    app.extensions["devauth.authorization_server"] = server

    @app.before_request
    def count_and_fail():
        counter = {
            DEVICE_AUTHZ_PATH: "device_authorizations",
            TOKEN_PATH: "token_requests",
            REVOKE_PATH: "revocation_requests",
        }
        key = counter.get(request.path)
        if key is None:
            return None
        every = store.opts["fail_every"]
        with store.lock:
            store.counters[key] += 1
            store.endpoint_requests += 1
            fail = bool(every) and store.endpoint_requests % every == 0
            if fail:
                store.counters["injected_failures"] += 1
        if fail:
            request.environ["devauth.note"] = "injected failure"
            return Response(FAIL_HTML, status=503, mimetype="text/html")
        return None

    @app.after_request
    def note_oauth_error(response):
        if response.status_code >= 400 and response.mimetype == "application/json":
            body = response.get_json(silent=True) or {}
            if isinstance(body, dict) and body.get("error"):
                note = str(body["error"])
                if body.get("error_description"):
                    note += f": {body['error_description']}"
                request.environ.setdefault("devauth.note", note)
        return response

    @app.post(DEVICE_AUTHZ_PATH)
    def device_authorization():
        return server.create_endpoint_response(DeviceAuthorizationEndpoint.ENDPOINT_NAME)

    @app.post(TOKEN_PATH)
    def token():
        return server.create_token_response()

    @app.post(REVOKE_PATH)
    def revoke():
        return server.create_endpoint_response(RevocationEndpoint.ENDPOINT_NAME)

    @app.route(USER_AUTHZ_PATH, methods=["GET", "POST"])
    def user_authz():
        token = _csrf_token()
        if request.method != "POST":
            code = normalize_user_code(request.args.get("user_code", ""))
            status, cred = store.lookup(code) if code else ("unknown", None)
            info = _describe_request(cred) if status == "pending" else None
            return _form_page(code, info=info, token=token)
        code = request.form.get("user_code", "")
        if not _csrf_ok():
            request.environ["devauth.note"] = "refused: no valid CSRF token"
            error = "This form expired or came from another site: check the code and try again."
            return _form_page(code, error=error, status=403, token=token)
        action = request.form.get("action")
        if action not in ("approve", "deny"):
            return _form_page(code, error="Choose Approve or Deny.", status=400, token=token)
        status, cred = store.decide(code, approved=action == "approve")
        if status == "unknown":
            return _form_page(code, error="Unknown or expired code", status=400, token=token)
        if status != "pending":
            request.environ["devauth.note"] = f"already {status}"
            return _page(
                "Already done",
                f'<p class="ok">This code was already {status}.</p>'
                "<p>You can return to your device.</p>",
            )
        done = "approved" if action == "approve" else "denied"
        request.environ["devauth.note"] = f"{done} a code for {cred['client_id']}"
        message = (
            "Device approved. You can return to your device."
            if action == "approve"
            else "Access denied. The device will not be signed in."
        )
        return _page(
            "Approved" if action == "approve" else "Denied",
            f'<p class="ok">{escape(message)}</p>\n<p>{_describe_request(cred)}</p>',
        )

    @app.get(STATS_PATH)
    def stats():
        return jsonify(store.stats())

    def metadata():
        return jsonify(store.metadata())

    for i, path in enumerate(METADATA_PATHS):
        app.add_url_rule(path, f"metadata{i}", metadata)

    install_api(app, store)  # the protected API the firmware's API calls are tested against
    return app

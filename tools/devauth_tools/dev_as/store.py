"""The in-memory store: clients, device codes, user decisions, tokens and counters."""

import threading
import time

from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE, DeviceCredentialDict

from devauth_tools.dev_as.clients import default_clients
from devauth_tools.dev_as.constants import (
    AUTH_METHODS,
    DEV_USER,
    DEVICE_AUTHZ_PATH,
    JWT_LEEWAY,
    JWT_SIGNING_ALGS,
    REVOKE_PATH,
    SUPPORTED_SCOPES,
    TOKEN_PATH,
)

STATS_KEYS = (
    "connections",
    "tls_handshakes",
    "requests",
    "device_authorizations",
    "token_requests",
    "revocation_requests",
    "refreshes",
    "revocations",
    "replays_rejected",
)


class _Token(dict):
    """One token response: access and refresh token (Authlib's TokenMixin calls)."""

    def check_client(self, client):
        return self["client_id"] == client.get_client_id()

    def get_scope(self):
        return self.get("scope")

    def is_revoked(self):
        return self.get("revoked", False)


def normalize_user_code(code):
    """ "bcdf gh-jk" -> "BCDF-GHJK": case-insensitive, with or without the dash."""
    s = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return s[:4] + "-" + s[4:] if len(s) == 8 else s


class _Store:
    """Clients, device codes, user decisions, tokens and counters, shared by all threads."""

    def __init__(self, opts, log):
        self.opts = opts
        self.log = log
        self.clients = default_clients()
        self.base_url = ""
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.credentials = {}  # device_code -> DeviceCredentialDict
        self.by_user_code = {}  # user_code -> device_code
        self.decisions = {}  # user_code -> (user, approved)
        self.tokens = {}  # refresh_token -> _Token
        self.access_tokens = {}  # access_token -> the same _Token
        self.jtis = {}  # (client_id, jti) -> until when it is remembered
        self.mtls_base_url = None
        self.counters = dict.fromkeys(STATS_KEYS, 0)
        self.counters.update(
            tls_handshake_failures=0, injected_failures=0, slow_downs=0, tokens_issued=0
        )
        self.auth_methods = {}  # method -> successful client authentications
        self.endpoint_requests = 0

    def count(self, key, n=1):
        with self.lock:
            self.counters[key] += n
            return self.counters[key]

    def count_auth(self, method):
        with self.lock:
            self.auth_methods[method] = self.auth_methods.get(method, 0) + 1

    def stats(self):
        with self.lock:
            out = dict(self.counters)
            out["auth_methods"] = dict(self.auth_methods)
            return out

    def metadata(self):
        """RFC 8414 authorization server metadata (also served as openid-configuration)."""
        base = self.base_url
        meta = {
            "issuer": base,
            "device_authorization_endpoint": base + DEVICE_AUTHZ_PATH,
            "token_endpoint": base + TOKEN_PATH,
            "revocation_endpoint": base + REVOKE_PATH,
            "grant_types_supported": [DEVICE_CODE_GRANT_TYPE, "refresh_token"],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": list(JWT_SIGNING_ALGS),
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "revocation_endpoint_auth_signing_alg_values_supported": list(JWT_SIGNING_ALGS),
            "scopes_supported": list(SUPPORTED_SCOPES),
        }
        if self.mtls_base_url:  # RFC 8705 §5
            mtls = self.mtls_base_url
            meta["mtls_endpoint_aliases"] = {
                "token_endpoint": mtls + TOKEN_PATH,
                "device_authorization_endpoint": mtls + DEVICE_AUTHZ_PATH,
                "revocation_endpoint": mtls + REVOKE_PATH,
            }
        return meta

    # clients and tokens
    def query_client(self, client_id):
        return self.clients.get(client_id)

    def use_jti(self, client_id, jti, exp):
        """True the first time a client's assertion `jti` is seen while its `exp` (+ leeway) lasts;
        False (a replay, counted) after."""
        now = time.time()
        with self.lock:
            for key in [k for k, until in self.jtis.items() if until < now]:
                del self.jtis[key]
            key = (client_id, jti)
            if key in self.jtis:
                self.counters["replays_rejected"] += 1
                return False
            self.jtis[key] = exp + JWT_LEEWAY
            return True

    def save_token(self, token, req):
        with self.lock:
            self.counters["tokens_issued"] += 1
            credential = getattr(req, "credential", None)
            if credential is not None:
                credential["used"] = True  # a device code gives one token response
            record = _Token(
                client_id=req.client.get_client_id(),
                scope=token.get("scope"),
                user=req.user or DEV_USER,
                access_token=token["access_token"],
                refresh_token=token.get("refresh_token"),
                expires_at=time.time() + token["expires_in"],
                revoked=False,  # the refresh token
                access_revoked=False,
            )
            self.access_tokens[token["access_token"]] = record
            if token.get("refresh_token"):
                self.tokens[token["refresh_token"]] = record

    def find_refresh_token(self, refresh_token):
        with self.lock:
            token = self.tokens.get(refresh_token)
            return token if token is not None and not token.is_revoked() else None

    def rotated(self, token):
        """A refresh token was used: it is spent (its access token lives on until it expires)."""
        with self.lock:
            token["revoked"] = True
            self.counters["refreshes"] += 1

    def find_token(self, token_string, hint=None):
        """The record of an access or refresh token, revoked or not (RFC 7009: the hint is only
        where to look first)."""
        with self.lock:
            tables = [self.access_tokens, self.tokens]
            if hint == "refresh_token":
                tables.reverse()
            for table in tables:
                if token_string in table:
                    return table[token_string]
            return None

    def revoke_token(self, token, token_string):
        """RFC 7009: a refresh token goes with its access token; an access token alone."""
        with self.lock:
            if token_string == token.get("refresh_token"):
                token["revoked"] = True
            token["access_revoked"] = True
            self.counters["revocations"] += 1

    def token_info(self, token_string):
        with self.lock:
            token = self.find_token(token_string)
            if token is None:
                return None
            if token_string == token.get("refresh_token"):
                kind, active = "refresh_token", not token["revoked"]
            else:
                kind = "access_token"
                active = not token["access_revoked"] and time.time() < token["expires_at"]
            return {
                "token_type_hint": kind,
                "active": active,
                "client_id": token["client_id"],
                "scope": token["scope"],
                "expires_at": token["expires_at"] if kind == "access_token" else None,
            }

    # device codes
    def user_code_taken(self, user_code):
        with self.lock:
            return user_code in self.by_user_code

    def save_device_credential(self, client_id, scope, data):
        now = time.time()
        with self.lock:
            cred = DeviceCredentialDict(
                client_id=client_id,
                scope=scope,
                device_code=data["device_code"],
                user_code=data["user_code"],
                issued_at=now,
                expires_at=now + data["expires_in"],
                polls=0,
                used=False,
            )
            self.credentials[cred["device_code"]] = cred
            self.by_user_code[cred["user_code"]] = cred["device_code"]
            self.changed.notify_all()

    def poll_device_credential(self, device_code):
        with self.lock:
            cred = self.credentials.get(device_code)
            if cred is None or cred["used"]:
                return None
            cred["polls"] += 1
            return cred

    def should_slow_down(self, credential):
        every = self.opts["slow_down_every"]
        if every and credential["polls"] % every == 0:
            self.count("slow_downs")
            return True
        return False

    def user_grant(self, user_code):
        """(user, approved) once decided, else None (Authlib's query_user_grant)."""
        with self.lock:
            return self._decision(user_code, self._credential_for(user_code))

    def _decision(self, user_code, cred):
        if user_code not in self.decisions:
            delay = self.opts["auto_approve"]
            if delay is not None and cred is not None and time.time() >= cred["issued_at"] + delay:
                self.decisions[user_code] = (DEV_USER, not self.opts["deny"])
        return self.decisions.get(user_code)

    def _credential_for(self, user_code):
        device_code = self.by_user_code.get(user_code)
        return self.credentials.get(device_code) if device_code else None

    def lookup(self, user_code):
        """("unknown"|"pending"|"approved"|"denied", credential) for a code as a person typed it."""
        code = normalize_user_code(user_code)
        with self.lock:
            cred = self._credential_for(code)
            if cred is None or cred.is_expired():
                return "unknown", None
            decision = self._decision(code, cred)
            if decision is not None:
                return ("approved" if decision[1] else "denied"), cred
            if cred["used"]:
                return "approved", cred
            return "pending", cred

    def decide(self, user_code, approved):
        """Record a person's decision; returns what `lookup` said before it."""
        code = normalize_user_code(user_code)
        with self.lock:
            status, cred = self.lookup(code)
            if status == "pending":
                self.decisions[code] = (DEV_USER, approved)
                self.changed.notify_all()
            return status, cred

    def pending_user_codes(self):
        with self.lock:
            return [code for code in list(self.by_user_code) if self.lookup(code)[0] == "pending"]

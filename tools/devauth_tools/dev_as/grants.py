"""Authlib grants, endpoints and authorization server, backed by the in-memory store."""

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.errors import OAuth2Error, UnsupportedTokenTypeError
from authlib.oauth2.rfc6749.grants import RefreshTokenGrant
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant

from devauth_tools.dev_as.constants import AUTH_METHODS, USER_AUTHZ_PATH


class _DeviceAuthorizationEndpoint(DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS
    USER_CODE_TYPE = "string"  # XXXX-XXXX from BCDFGHJKLMNPQRSTVWXZ

    def __init__(self, server, store):
        super().__init__(server)
        self.store = store
        self.EXPIRES_IN = store.opts["expires_in"]
        self.INTERVAL = store.opts["interval"]

    def get_verification_uri(self):
        return self.store.base_url + USER_AUTHZ_PATH

    def generate_user_code(self):
        while True:
            code = super().generate_user_code()
            if not self.store.user_code_taken(code):
                return code

    def save_device_credential(self, client_id, scope, data):
        self.store.save_device_credential(client_id, scope, data)

    def create_endpoint_response(self, req):
        status, data, headers = super().create_endpoint_response(req)
        if self.store.opts["no_interval"]:
            data = {k: v for k, v in data.items() if k != "interval"}
        return status, data, headers


class _DeviceCodeGrant(DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def query_device_credential(self, device_code):
        return self.server.store.poll_device_credential(device_code)

    def query_user_grant(self, user_code):
        return self.server.store.user_grant(user_code)

    def should_slow_down(self, credential):
        return self.server.store.should_slow_down(credential)


class _RefreshTokenGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: a new refresh token each time

    def authenticate_refresh_token(self, refresh_token):
        return self.server.store.find_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token):
        return refresh_token["user"]

    def revoke_old_credential(self, refresh_token):
        self.server.store.rotated(refresh_token)


class _RevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def check_params(self, req, client):
        try:
            super().check_params(req, client)
        except UnsupportedTokenTypeError as exc:
            # Authlib makes it a 401 (a ForbiddenError); RFC 7009 §2.2.1: an RFC 6749 §5.2 400
            raise OAuth2Error(error=exc.error, status_code=400) from exc

    def query_token(self, token_string, token_type_hint):
        return self.server.store.find_token(token_string, token_type_hint)

    def revoke_token(self, token, req):
        self.server.store.revoke_token(token, req.form["token"])


class _AuthorizationServer(AuthorizationServer):
    def __init__(self, app, store):
        self.store = store
        super().__init__(app, query_client=store.query_client, save_token=store.save_token)

    def authenticate_client(self, req, methods, endpoint="token"):
        client = super().authenticate_client(req, methods, endpoint)
        self.store.count_auth(req.auth_method)
        return client

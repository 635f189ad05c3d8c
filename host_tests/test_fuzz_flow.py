"""Property tests of the JSON handling in devauth.oauth.flow: parse_device_code, parse_token,
the reply classifier (reply/result) and Response.json, on any JSON a server could send.

Each either returns a value that meets every documented bound (printable, bounded, https,
numbers in range) or raises ProtocolError; an error reply always raises one DevauthError whose
message is one printable line. No other exception, whatever the types or sizes.
"""

import json

from devauth.errors import (
    AccessDenied,
    ClientRejected,
    DevauthError,
    ExpiredToken,
    OAuthError,
    ProtocolError,
    ServerBusy,
)
from devauth.net.form import decode
from devauth.net.http import Response
from devauth.oauth.flow import (
    MAX_INTERVAL,
    MAX_URI,
    MAX_USER_CODE,
    parse_device_code,
    parse_token,
    result,
)
from hypothesis import given, settings
from hypothesis import strategies as st

TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "https://as.example.com/device",
            "http://as.example.com/device",
            "javascript:alert(1)",
            "https://as.example.com/\x1b[2J",
            "WDJB-MJHT",
            "Bearer",
            "bearer",
            "authorization_pending",
            "slow_down",
            "access_denied",
            "expired_token",
            "invalid_client",
            "",
        ]
    ),
    st.integers(0, 20000).map(lambda n: "x" * n),
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    TEXT,
)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
DEVICE_KEYS = [
    "device_code",
    "user_code",
    "verification_uri",
    "verification_url",
    "verification_uri_complete",
    "expires_in",
    "interval",
]
TOKEN_KEYS = ["access_token", "token_type", "expires_in", "refresh_token", "scope"]


def objects(keys):
    return st.dictionaries(st.sampled_from(keys + ["other"]), JSON, max_size=len(keys) + 1)


def printable(s, limit):
    return isinstance(s, str) and 0 < len(s) <= limit and all(" " <= ch <= "~" for ch in s)


@settings(max_examples=600, deadline=None)
@given(objects(DEVICE_KEYS), st.booleans())
def test_device_authorization_replies_parse_or_raise_protocol_error(obj, allow_http):
    try:
        code = parse_device_code(obj, allow_http)
    except ProtocolError as e:
        assert printable(str(e), 300), str(e)
        return
    assert isinstance(code.device_code, str) and 0 < len(code.device_code) <= 2048
    assert printable(code.user_code, MAX_USER_CODE)
    assert printable(code.verification_uri, MAX_URI)
    scheme = ("https://", "http://") if allow_http else ("https://",)
    assert code.verification_uri.startswith(scheme)
    if code.verification_uri_complete is not None:
        assert printable(code.verification_uri_complete, MAX_URI)
        assert code.verification_uri_complete.startswith(scheme)
    assert type(code.expires_in) is int and 1 <= code.expires_in <= 86400
    assert type(code.interval) is int and 1 <= code.interval <= MAX_INTERVAL
    assert repr(code) == "<DeviceCode %s %s>" % (code.user_code, code.verification_uri)


@settings(max_examples=600, deadline=None)
@given(objects(TOKEN_KEYS))
def test_token_replies_parse_or_raise_protocol_error(obj):
    try:
        t = parse_token(obj)
    except ProtocolError as e:
        assert printable(str(e), 300), str(e)
        return
    assert isinstance(t.access_token, str) and 0 < len(t.access_token) <= 16384
    assert t.token_type.lower() == "bearer"
    assert t.expires_in is None or (type(t.expires_in) is int and t.expires_in >= 0)
    assert t.refresh_token is None or isinstance(t.refresh_token, str)
    assert repr(t) == "<Token %s expires_in=%s>" % (t.token_type, t.expires_in)  # no token


BODY = st.one_of(
    st.binary(max_size=400),
    JSON.map(lambda v: json.dumps(v).encode()),
    objects(["error", "error_description", "error_uri"]).map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b'{"error_code": "rate_limit_exceeded"}', b"error=slow_down&interval=9"]),
)
STATUSES = st.one_of(
    st.sampled_from([200, 400, 401, 403, 428, 429, 500, 502, 503]), st.integers(0, 999)
)
RETRY_AFTER = st.one_of(
    st.none(), st.text(max_size=12), st.integers(0, 10**12).map(str), st.just("999999")
)


def error_reply(resp):
    """What result() raises for a reply (a success counts as a ProtocolError here)."""
    try:
        result(resp, "token endpoint")
    except DevauthError as e:
        return e
    return ProtocolError("token endpoint: a success")


@settings(max_examples=600, deadline=None)
@given(STATUSES, RETRY_AFTER, BODY, st.booleans())
def test_error_replies_become_one_devauth_error_with_one_printable_line(status, ra, body, form):
    headers = {} if ra is None else {"retry-after": ra}
    if form:  # a server that ignores Accept (GitHub) replies with a form
        headers["content-type"] = "application/x-www-form-urlencoded"
    err = error_reply(Response(status, headers, body))
    assert isinstance(err, DevauthError)
    assert printable(str(err), 300), repr(str(err))
    try:
        error = (decode(body) if form else json.loads(body)).get("error")
    except (ValueError, AttributeError):
        error = None
    oauth = isinstance(error, str) and error != ""
    if status >= 500 or (status == 429 and not oauth):
        assert isinstance(err, ServerBusy) and err.retry
        assert err.retry_after is None or 0 <= err.retry_after < 10**6
    elif oauth:  # the error field decides on any other status (Auth0's 429 slow_down)
        assert isinstance(err, OAuthError)
    if isinstance(err, ServerBusy):
        assert status >= 500 or status in (429, 403)  # 403: Google's quota reply
    else:
        assert isinstance(err, (OAuthError, ProtocolError))
        if isinstance(err, OAuthError):
            assert printable(err.error, 100)
            kinds = {
                "access_denied": AccessDenied,
                "authorization_declined": AccessDenied,
                "expired_token": ExpiredToken,
                "invalid_client": ClientRejected,
                "incorrect_client_credentials": ClientRejected,
            }
            if err.error in kinds:
                assert isinstance(err, kinds[err.error])


@settings(max_examples=400, deadline=None)
@given(st.integers(100, 599), BODY)
def test_response_json_gives_a_dict_or_protocol_error(status, body):
    try:
        obj = Response(status, {}, body).json("token endpoint")
    except ProtocolError as e:
        assert printable(str(e), 200)
        return
    assert isinstance(obj, dict)


def test_the_suite_runs_the_same_examples_every_time():
    """host_tests/conftest.py pins the property tests (profile "ci"): derandomized and without
    an example database, so a run's verdict does not depend on a seed or on earlier runs."""
    import os

    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
        assert settings.default.derandomize is True
        assert settings.default.database is None
        assert settings.default.deadline is None

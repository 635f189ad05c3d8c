"""RFC 8628 client behaviour of devauth.oauth.flow, driven by a fake clock and transport
(dual test)."""

from devauth.errors import (
    AccessDenied,
    ClientRejected,
    ExpiredToken,
    NetworkError,
    OAuthError,
    ProtocolError,
    ServerBusy,
)
from devauth.net.http import Response
from devauth.oauth.flow import DeviceFlow, parse_device_code, parse_token, result
from fakes import Config, FakeClock, FakeTransport, Recorder
from mptest import raises

# PingFederate's documented device authorization response (shared/seeds).
PING = {
    "user_code": "YYD6-CD4T",
    "device_code": "4EHsIngavzIPvvqMlFgQlseTCsH7EpU75f9yGvj60T",
    "interval": 5,
    "verification_uri_complete": "https://www.example.com/as/user_authz.oauth2?user_code=YYD6-CD4T",
    "verification_uri": "https://www.example.com/as/user_authz.oauth2",
    "expires_in": 600,
}
TOKEN = {"access_token": "at-SECRET", "token_type": "Bearer", "expires_in": 3600}
PENDING = (400, {"error": "authorization_pending"})


def _flow(script, method="none", secret=None):
    clock = FakeClock(1000)
    transport = FakeTransport(script, clock)
    rec = Recorder()
    return DeviceFlow(Config(method, secret), transport, clock, rec), transport, clock, rec


def _code(**changes):
    d = dict(PING)
    for k in changes:
        if changes[k] is None:
            d.pop(k)
        else:
            d[k] = changes[k]
    return parse_device_code(d)


def test_device_authorization_request_is_the_pingfederate_form():
    flow, t, _, _ = _flow([(200, PING)])
    code = flow.request_code()
    url, body, headers, _ = t.sent[0]
    assert url == "https://as.example.com/as/device_authz.oauth2"
    assert body == b"client_id=df_client&scope=openid+profile"
    assert headers == []
    assert code.user_code == "YYD6-CD4T"
    assert code.verification_uri == PING["verification_uri"]
    assert code.verification_uri_complete == PING["verification_uri_complete"]
    assert code.expires_in == 600 and code.interval == 5
    assert PING["device_code"] not in repr(code)


def test_missing_interval_defaults_to_five_seconds():
    assert _code(interval=None).interval == 5


def test_zero_interval_is_ignored_not_hammered():
    assert _code(interval=0).interval == 5


def test_verification_url_alias_is_accepted():
    d = dict(PING)
    d["verification_url"] = d.pop("verification_uri")
    assert parse_device_code(d).verification_uri == PING["verification_uri"]


def test_bad_device_authorization_replies_are_one_line_errors():
    cases = [
        ({"device_code": None}, "device_code is missing"),
        ({"user_code": 12345}, "user_code is not a non-empty string"),
        ({"user_code": "A" * 10000}, "user_code is over"),
        ({"user_code": "AB\x1b[2J"}, "characters a screen cannot show"),
        ({"verification_uri": None}, "verification_uri is missing"),
        ({"verification_uri": "javascript:alert(1)"}, "not a printable http(s) URL"),
        ({"expires_in": "600s"}, "expires_in is not a whole number"),
        ({"expires_in": "\u00b2"}, "expires_in is not a whole number"),
        ({"expires_in": "-5"}, "expires_in is not a whole number"),
        ({"expires_in": "99999999999"}, "expires_in is not a whole number"),
        ({"interval": "1000000000"}, "interval 1000000000 is outside"),
        ({"expires_in": -5}, "expires_in -5 is outside"),
        ({"interval": 10**9}, "interval 1000000000 is outside"),
        ({"interval": True}, "interval is not a whole number"),
    ]
    for change, expected in cases:
        e = raises(ProtocolError, _code, **change)
        assert expected in str(e), str(e)
        assert "\n" not in str(e)


def test_poll_waits_interval_before_each_request_until_approved():
    flow, t, clock, _ = _flow([PENDING, PENDING, (200, TOKEN)])
    token = flow.poll(_code(interval=5))
    assert token.access_token == "at-SECRET" and token.token_type == "Bearer"
    times = [s[3] for s in t.sent]
    assert times == [6000, 11000, 16000]
    for _, body, _, _ in t.sent:
        assert body.startswith(
            b"client_id=df_client&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
        )
        assert b"&device_code=4EHsIngavzIPvvqMlFgQlseTCsH7EpU75f9yGvj60T" in body


def test_slow_down_adds_five_seconds_for_the_rest_of_the_flow():
    flow, t, _, rec = _flow(
        [PENDING, (400, {"error": "slow_down"}), PENDING, PENDING, (200, TOKEN)]
    )
    flow.poll(_code(interval=5))
    times = [s[3] for s in t.sent]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps == [5000, 10000, 10000, 10000], gaps
    assert rec.kinds("retrying")[0][2] == 10


def test_access_denied_ends_the_flow():
    flow, _, _, _ = _flow([PENDING, (400, {"error": "access_denied"})])
    e = raises(AccessDenied, flow.poll, _code())
    assert e.exit_code == 3


def test_expired_token_from_the_server_ends_the_flow():
    flow, _, _, _ = _flow([(400, {"error": "expired_token"})])
    assert raises(ExpiredToken, flow.poll, _code()).exit_code == 4


def test_deadline_is_expires_in_even_if_the_server_never_says_expired():
    flow, t, clock, _ = _flow([PENDING] * 100)
    raises(ExpiredToken, flow.poll, _code(expires_in=60, interval=5))
    assert len(t.sent) == 11  # polls at 5..55 s; the one at 60 s would be too late
    assert clock.now - 1000 <= 60000


def test_network_failures_back_off_exponentially_then_recover():
    boom = NetworkError("connection reset")
    flow, t, _, rec = _flow([boom, boom, boom, PENDING, (200, TOKEN)])
    flow.poll(_code(interval=5))
    times = [s[3] for s in t.sent]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps == [10000, 20000, 40000, 5000], gaps
    assert [r[2] for r in rec.kinds("retrying")] == [10, 20, 40]


def test_backoff_is_capped():
    boom = NetworkError("timed out")
    flow, t, _, _ = _flow([boom] * 8 + [(200, TOKEN)])
    flow.poll(_code(interval=5, expires_in=1800))
    times = [s[3] for s in t.sent]
    assert max(b - a for a, b in zip(times, times[1:])) == 64000


def test_server_busy_honours_retry_after():
    flow, t, _, _ = _flow([(503, b"<html>busy</html>", {"retry-after": "30"}), (200, TOKEN)])
    flow.poll(_code(interval=5))
    assert t.sent[1][3] - t.sent[0][3] == 30000


def test_a_retry_after_that_is_not_ascii_digits_is_ignored_not_a_crash():
    # '²'.isdigit() is true and int('²') raises: found by hypothesis (issue 12)
    for value in ("²", "٣٠", "1²", "-5", "Wed, 21 Oct 2026 07:28:00 GMT"):
        flow, t, _, rec = _flow([(503, b"", {"retry-after": value}), (200, TOKEN)])
        assert flow.poll(_code(interval=5)).access_token == "at-SECRET"
        assert t.sent[1][3] - t.sent[0][3] == 10000, value  # the usual back-off: 2 x 5 s
        e = raises(ServerBusy, result, Response(429, {"retry-after": value}, b""), "token")
        assert e.retry_after is None


def test_429_and_5xx_html_are_retried():
    flow, t, _, _ = _flow([(429, b""), (502, b"<html>Bad Gateway</html>"), (200, TOKEN)])
    assert flow.poll(_code()).access_token == "at-SECRET"
    assert len(t.sent) == 3


def test_retries_stop_at_the_deadline():
    flow, _, clock, _ = _flow([ServerBusy("busy")] * 50)
    raises(ExpiredToken, flow.poll, _code(expires_in=120, interval=5))
    assert clock.now - 1000 < 120000


def test_other_oauth_errors_end_the_flow_with_the_server_description():
    flow, _, _, _ = _flow([(401, {"error": "invalid_client", "error_description": "Bad client."})])
    e = raises(ClientRejected, flow.poll, _code())
    assert str(e) == "token endpoint: invalid_client: Bad client."
    flow, _, _, _ = _flow([(400, {"error": "invalid_grant"})])
    assert raises(OAuthError, flow.poll, _code()).error == "invalid_grant"


def test_non_oauth_4xx_is_a_protocol_error():
    flow, _, _, _ = _flow([(404, b"<html>Not found</html>")])
    e = raises(ProtocolError, flow.poll, _code())
    assert "HTTP 404" in str(e)


def test_device_authorization_errors_name_the_server_reply():
    flow, _, _, _ = _flow(
        [
            (
                400,
                {
                    "error": "invalid_scope",
                    "error_description": "The requested scope(s) must be blank.",
                },
            )
        ]
    )
    e = raises(OAuthError, flow.request_code)
    assert str(e).startswith("device authorization: invalid_scope: The requested scope")


def test_token_reply_is_validated():
    assert parse_token(TOKEN).expires_in == 3600
    assert parse_token({"access_token": "x", "token_type": "bearer"}).refresh_token is None
    raises(ProtocolError, parse_token, {"access_token": "x", "token_type": "mac"})
    raises(ProtocolError, parse_token, {"token_type": "Bearer"})
    raises(
        ProtocolError,
        parse_token,
        {"access_token": "x", "token_type": "Bearer", "expires_in": "1.5"},
    )
    flow, _, _, _ = _flow([(200, b'{"access_token": "x", ')])
    assert "not valid JSON" in str(raises(ProtocolError, flow.poll, _code()))


def test_client_secret_basic_encodes_before_base64_on_both_endpoints():
    import binascii

    flow, t, _, _ = _flow([(200, PING), (200, TOKEN)], "client_secret_basic", "s3cr:t/+&=% \u00e9")
    flow.poll(flow.request_code())
    for _, body, headers, _ in t.sent:
        # client_id in the body too (PingFederate: "included with every request"), the secret not
        assert body.startswith(b"client_id=df_client&") and b"s3cr" not in body
        name, value = headers[0]
        assert name == "Authorization" and value.startswith("Basic ")
        decoded = binascii.a2b_base64(value[6:])
        assert decoded == b"df_client:s3cr%3At%2F%2B%26%3D%25+%C3%A9"


def test_client_secret_post_puts_the_secret_in_the_body_on_both_endpoints():
    flow, t, _, _ = _flow([(200, PING), (200, TOKEN)], "client_secret_post", "p w")
    flow.poll(flow.request_code())
    for _, body, headers, _ in t.sent:
        assert body.startswith(b"client_id=df_client&client_secret=p+w&")
        assert headers == []


def test_the_observer_gets_a_countdown_without_changing_poll_times():
    flow, t, _, rec = _flow([(200, TOKEN)])
    flow.poll(_code(interval=5, expires_in=600))
    ticks = [e[1] for e in rec.kinds("tick")]
    assert ticks == [600, 599, 598, 597, 596]
    assert t.sent[0][3] == 6000


def test_nothing_secret_reaches_the_observer():
    flow, _, _, rec = _flow(
        [NetworkError("reset"), PENDING, (200, TOKEN)], "client_secret_post", "S3CRET"
    )
    flow_code = _code()
    flow.poll(flow_code)
    text = repr(rec.events) + repr(rec.lines)
    for secret in ("S3CRET", flow_code.device_code, "at-SECRET"):
        assert secret not in text


def test_a_wait_that_runs_past_the_deadline_sends_no_more_polls():
    flow, t, clock, _ = _flow([PENDING] * 5)
    slow = clock.sleep_ms

    def rejoining_wifi(ms):  # the board clock rejoins Wi-Fi inside its sleep: 10 minutes pass
        slow(ms + 600000 if len(clock.sleeps) == 7 else ms)

    clock.sleep_ms = rejoining_wifi
    raises(ExpiredToken, flow.poll, _code(expires_in=600, interval=5))
    assert len(t.sent) == 1  # the poll after the outage would be for a dead code


# -- servers as they really answer (each provider's documented shape) -----------------------

FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


def _gaps(t):
    times = [s[3] for s in t.sent]
    return [b - a for a, b in zip(times, times[1:])]


def test_github_errors_with_http_200_and_form_replies_sign_in():
    github_code = (
        b"device_code=3584d83530557fdd1f46af8289938c8ef79f9dc5&expires_in=899&interval=5"
        b"&user_code=WDJB-MJHT&verification_uri=https%3A%2F%2Fgithub.com%2Flogin%2Fdevice"
    )
    flow, t, _, rec = _flow(
        [
            (200, github_code, FORM),
            (200, b"error=authorization_pending&error_description=pending", FORM),
            (200, b"error=slow_down&interval=15", FORM),  # GitHub's new interval wins: larger
            (200, {"error": "slow_down", "interval": 3}),  # +5 wins over a smaller one
            (200, b"access_token=gho_SECRET&token_type=bearer&scope=repo%2Cgist", FORM),
        ]
    )
    code = flow.request_code()
    assert code.expires_in == 899 and code.interval == 5
    assert code.verification_uri == "https://github.com/login/device"
    token = flow.poll(code)
    assert token.access_token == "gho_SECRET" and token.token_type == "Bearer"
    assert token.scope == "repo gist"
    assert _gaps(t)[1:] == [5000, 15000, 20000], _gaps(t)
    assert [r[2] for r in rec.kinds("retrying")] == [15, 20]


def test_an_error_with_http_200_is_an_error_even_beside_a_token():
    flow, _, _, _ = _flow([(200, {"error": "access_denied", "access_token": "x"})])
    assert raises(AccessDenied, flow.poll, _code()).exit_code == 3
    flow, _, _, _ = _flow([(200, b"error=incorrect_client_credentials", FORM)])
    assert raises(ClientRejected, flow.poll, _code()).error == "incorrect_client_credentials"
    flow, _, _, _ = _flow([(200, {"error": "device_flow_disabled"})])
    e = raises(OAuthError, flow.request_code)
    assert str(e) == "device authorization: device_flow_disabled" and e.exit_code == 1


def test_google_428_pending_403_slow_down_and_quota_back_off():
    flow, t, _, rec = _flow(
        [
            (428, {"error": "authorization_pending", "error_description": "Precondition"}),
            (403, {"error": "slow_down", "error_description": "Forbidden"}),
            (403, {"error_code": "rate_limit_exceeded"}),  # quota: no `error`, back off
            (200, TOKEN),
        ]
    )
    assert flow.poll(_code(interval=5)).access_token == "at-SECRET"
    assert _gaps(t) == [5000, 10000, 20000], _gaps(t)
    assert rec.kinds("retrying")[1][1].startswith("Server busy: token endpoint: server busy")


def test_auth0_403_pending_429_slow_down_and_403_denied():
    flow, t, _, _ = _flow(
        [
            (403, {"error": "authorization_pending"}),
            (429, {"error": "slow_down"}, {"retry-after": "2"}),
            (403, {"error": "access_denied", "error_description": "User cancelled"}),
        ]
    )
    e = raises(AccessDenied, flow.poll, _code(interval=5))
    assert str(e) == "token endpoint: access_denied: User cancelled" and e.exit_code == 3
    assert _gaps(t) == [5000, 10000], _gaps(t)  # 5 s more, not a 2 s busy back-off


def test_a_code_the_server_forgot_at_its_deadline_is_expired_but_not_before():
    late = [PENDING] * 11 + [(403, {"error": "invalid_grant"})]  # Auth0 after expiry
    flow, t, _, _ = _flow(late)
    e = raises(ExpiredToken, flow.poll, _code(expires_in=62, interval=5))
    assert e.exit_code == 4 and len(t.sent) == 12  # polled at 60 s: 2 s left < one interval
    flow, _, _, _ = _flow([PENDING, (400, {"error": "invalid_grant"})])
    e = raises(OAuthError, flow.poll, _code(expires_in=600, interval=5))
    assert not isinstance(e, ExpiredToken) and e.exit_code == 1


def test_entra_authorization_declined_is_denied():
    flow, _, _, _ = _flow(
        [(400, {"error": "authorization_declined", "error_codes": [70000], "message": "x"})]
    )
    assert raises(AccessDenied, flow.poll, _code()).exit_code == 3


def test_entra_v1_numbers_as_strings_and_its_code_parameter():
    v1 = {
        "user_code": "DZ7CX8RGA",
        "device_code": "DAQABAAEAAAD",
        "verification_url": "https://microsoft.com/devicelogin",
        "expires_in": "900",
        "interval": "5",
        "message": "To sign in, use a web browser ...",
    }
    flow, t, _, _ = _flow([(200, v1), PENDING, (200, dict(TOKEN, expires_in="3599"))])
    flow.config.device_grant = ("device_code", "code")
    flow.config.extra_params = [("resource", "https://graph.microsoft.com")]
    flow.config.token_params = [("resource", "https://graph.microsoft.com")]
    code = flow.request_code()
    assert (code.expires_in, code.interval) == (900, 5)
    assert flow.poll(code).expires_in == 3599
    resource = b"resource=https%3A%2F%2Fgraph.microsoft.com"
    assert t.sent[0][1] == b"client_id=df_client&scope=openid+profile&" + resource
    assert (
        t.sent[1][1] == b"client_id=df_client&grant_type=device_code&code=DAQABAAEAAAD&" + resource
    )


def test_old_dex_401_pending_keeps_polling():
    flow, t, _, _ = _flow([(401, {"error": "authorization_pending"}), (200, TOKEN)])
    assert flow.poll(_code()).access_token == "at-SECRET" and len(t.sent) == 2


def test_tolerance_loosens_no_bound():
    cases = [
        ((200, {"error": "slow_down", "interval": 10**6}), "interval 1000000 is outside"),
        ((200, {"error": "slow_down", "interval": "soon"}), "interval is not a whole number"),
        ((200, {"error": 7}), "error is not a non-empty string"),
        ((403, b"<html>Forbidden</html>"), "unexpected HTTP 403 reply without an OAuth error"),
        ((403, {"error_code": "quota"}), "unexpected HTTP 403 reply without an OAuth error"),
        ((400, {"error_code": "rate_limit_exceeded"}), "unexpected HTTP 400 reply without an"),
        ((200, b"access_token=%ZZ", FORM), "token endpoint: reply is not valid form data"),
        ((200, b"access_token=%C3&token_type=bearer", FORM), "not valid form data"),
        ((200, b"token_type=bearer&access_token=x%4", FORM), "not valid form data"),
        ((200, b"access_token=x&token_type=mac", FORM), "token_type mac is not Bearer"),
        ((200, b"token_type=bearer", FORM), "access_token is missing"),
        ((200, b"access_token=x&token_type=bearer&expires_in=1e9", FORM), "not a whole number"),
    ]
    for script, expected in cases:
        flow, _, _, _ = _flow([script])
        e = raises(ProtocolError, flow.poll, _code())
        assert expected in str(e), str(e)


def test_extra_params_go_to_the_device_authorization_and_token_params_to_each_poll():
    flow, t, _, _ = _flow([(200, PING), PENDING, (200, TOKEN)], "client_secret_basic", "S3CRET:+")
    flow.config.client_id = "dev:ice+1"
    flow.config.extra_params = [("audience", "https://api.example.com/\u00e9"), ("x", "a&b=c")]
    flow.config.token_params = [("resource", "urn:api")]
    flow.poll(flow.request_code())
    assert t.sent[0][1] == (
        b"client_id=dev%3Aice%2B1&scope=openid+profile"
        b"&audience=https%3A%2F%2Fapi.example.com%2F%C3%A9&x=a%26b%3Dc"
    )
    for _, body, headers, _ in t.sent[1:]:
        assert body.startswith(b"client_id=dev%3Aice%2B1&grant_type=")
        assert body.endswith(b"&resource=urn%3Aapi") and b"audience" not in body
        assert headers[0][0] == "Authorization" and b"S3CRET" not in body

"""Sign in with devauth, then post a reading to your API every minute with the access token.

On a board: copy this file to the board as /application.py. devauth.board.glue calls
`on_signed_in(session, record)` once a token is at hand and `tick(session)` about once a second.

On the unix port, against `devauth dev-as` (what `devauth sim --app examples/post_readings.py`
runs):
    micropython post_readings.py CONFIG [API_URL [COUNT [PERIOD_S]]]

`session.request` sends `Authorization: Bearer <token>` over verified TLS, refreshes the token
when it is due (and once on a 401), keeps one connection to the API between readings, and never
follows a redirect with the token. Every failure is one line; the next minute tries again.
"""

import sys
import time

from devauth.errors import DevauthError

API_URL = "https://api.example.com/v1/readings"  # your API
PERIOD_S = 60

_state = {"last": None, "n": 0}


def read_sensor():
    """Stand-in for a real sensor (an ADC, a DS18B20, ...): a temperature in °C."""
    return 21.0 + (_state["n"] % 10) / 10


def post(session, url=API_URL):
    """Post one reading -> True when the API took it."""
    _state["n"] += 1
    reading = {"n": _state["n"], "t": read_sensor(), "unit": "°C"}
    try:
        r = session.request("POST", url, json=reading)
    except DevauthError as e:  # network, TLS, refused token, missing scope: one line
        print("reading %d not posted: %s" % (_state["n"], e))
        return False
    print("reading %d posted: HTTP %d" % (_state["n"], r.status))
    return 200 <= r.status < 300


# -- on a board: the application.py hooks ---------------------------------------------------


def on_signed_in(session, record):
    pass  # tick() posts, once a minute


def tick(session):
    now = time.ticks_ms()
    last = _state["last"]
    if last is None or time.ticks_diff(now, last) >= PERIOD_S * 1000:
        _state["last"] = now
        post(session)


# -- on the unix port: sign in, then post COUNT readings (forever without a count) ------------


def main(config, url=API_URL, count=None, period=PERIOD_S):
    from devauth import app, clock

    def posting(session, record):
        done = 0
        while count is None or done < count:
            if done:
                clock.sleep_ms(period * 1000)
            post(session, url)
            done += 1

    return app.run(config, once=True, on_signed_in=posting)


if __name__ == "__main__":
    argv = sys.argv[1:]
    if not argv:
        print("usage: post_readings.py CONFIG [API_URL [COUNT [PERIOD_S]]]")
        sys.exit(2)
    sys.exit(
        main(
            argv[0],
            argv[1] if len(argv) > 1 else API_URL,
            int(argv[2]) if len(argv) > 2 else None,
            int(argv[3]) if len(argv) > 3 else PERIOD_S,
        )
    )

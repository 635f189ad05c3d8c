"""An asyncio application: the board blinks its LED and reads its sensor every 100 ms while the
sign-in code is on the screen, then posts the readings to your API with the access token.

devauth.aio signs in as one task among the application's own: the LED keeps blinking through
the TLS handshakes, the device authorization and every poll, and `auth.request` refreshes the
token when it is due (and once on a 401). Every failure is one line; the next period tries again.

On a board: set LED_PIN (a pin the board's profile does not use) and API_URL, and copy this file
to the board as /application.py (`mpremote cp examples/async_readings.py :application.py`). The
board glue sees `async def main(auth)`: after Wi-Fi and the clock it runs the sign-in, its own
service (watchdog, button, status LED, Wi-Fi) and `main(auth)` as asyncio tasks.

On the unix port, against `devauth dev-as` (what `make sim APP=examples/async_readings.py` runs:
`run(config, url, count, period)`):
    micropython async_readings.py CONFIG [API_URL [COUNT [PERIOD_S]]]
It ends with how much the application did while the code was on the screen.
"""

import asyncio
import sys

from devauth import aio, clock
from devauth.errors import DevauthError

API_URL = "https://api.example.com/v1/readings"  # your API
PERIOD_S = 60  # between posts
READ_MS = 100  # blink and read every 100 ms
LED_PIN = 2  # the ESP32 DevKit's blue LED


class Led:
    """The board's LED (machine.Pin); where there is none (unix port, CPython) it only counts."""

    def __init__(self, pin=LED_PIN):
        try:
            from machine import Pin

            self.pin = Pin(pin, Pin.OUT)
        except (ImportError, AttributeError):  # the unix port's machine has no Pin
            self.pin = None
        self.on = 0
        self.toggles = 0

    def toggle(self):
        self.on ^= 1
        self.toggles += 1
        if self.pin is not None:
            self.pin.value(self.on)


class Sensor:
    """Stand-in for a real sensor (an ADC, a DS18B20, ...): a temperature in °C. Keeps the sum of
    the readings since the last post, not the readings: the memory stays the same."""

    def __init__(self):
        self.reads = 0
        self.total = 0.0
        self.since = 0

    def read(self):
        self.reads += 1
        value = 21.0 + (self.reads % 10) / 10
        self.total += value
        self.since += 1
        return value

    def take(self):
        """The mean of the readings since the last take -> a reading to post."""
        mean = self.total / self.since if self.since else None
        reading = {"t": mean, "unit": "°C", "samples": self.since}
        self.total, self.since = 0.0, 0
        return reading


class Ticker:
    """The application's own task: blink, read, sleep READ_MS; records its longest gap."""

    def __init__(self, led, sensor, period_ms=READ_MS):
        self.led, self.sensor, self.period_ms = led, sensor, period_ms
        self.longest_ms = 0

    async def run(self):
        last = clock.ticks_ms()
        while True:
            self.led.toggle()
            self.sensor.read()
            await aio.sleep_ms(self.period_ms)
            now = clock.ticks_ms()
            self.longest_ms = max(self.longest_ms, clock.ticks_diff(now, last))
            last = now


async def post(auth, sensor, url, n):
    """Post the readings since the last post -> True when the API took them."""
    reading = sensor.take()
    reading["n"] = n
    try:
        r = await auth.request("POST", url, json=reading)
    except DevauthError as e:  # network, TLS, refused token, missing scope: one line
        print("reading %d not posted: %s" % (n, e))
        return False
    print("reading %d posted: HTTP %d" % (n, r.status))
    return 200 <= r.status < 300


async def application(auth, sign_in, url=API_URL, count=None, period=PERIOD_S):
    """Blink and read until `sign_in` (awaitable -> the sign-in's exit code, 0: signed in)
    ends, then post `count` readings (forever: None) `period` seconds apart. -> 0 when every post
    went through, 1 when one did not, else the sign-in's exit code (`devauth run --once`'s)."""
    led, sensor = Led(), Sensor()
    ticker = Ticker(led, sensor)
    busy = asyncio.create_task(ticker.run())
    try:
        started = clock.ticks_ms()
        code = await sign_in  # the screens, the polls; the LED blinks meanwhile
        print(
            "while signing in (%d ms): %d LED toggles, %d readings, longest gap %d ms"
            % (
                clock.ticks_diff(clock.ticks_ms(), started),
                led.toggles,
                sensor.reads,
                ticker.longest_ms,
            )
        )
        if code != 0:
            return code
        ok, n = True, 0
        while count is None or n < count:
            if n:
                await aio.sleep_ms(period * 1000)
            n += 1
            ok = await post(auth, sensor, url, n) and ok
        return 0 if ok else 1
    finally:
        busy.cancel()


async def signed_in(auth, pause=PERIOD_S):
    """On a board the glue's task signs in: wait for its token -> 0. A failed sign-in is one
    line; the board tries again, and so does this, `pause` seconds later."""
    while True:
        try:
            await auth.access_token()
            return 0
        except DevauthError as e:
            print("not signed in yet: %s" % e)
        await aio.sleep_ms(pause * 1000)


async def main(auth):
    """On a board (this file as /application.py): the board glue calls it with its Auth."""
    return await application(auth, signed_in(auth))


def run(config, url=API_URL, count=None, period=PERIOD_S):
    """On the unix port (and `make sim APP=...`): sign in once, post -> the exit code."""

    async def once():
        auth = aio.Auth(config)
        try:
            return await application(auth, auth.run(once=True), url, count, period)
        finally:
            auth.close()

    return asyncio.run(once())


if __name__ == "__main__":
    argv = sys.argv[1:]
    if not argv:
        print("usage: async_readings.py CONFIG [API_URL [COUNT [PERIOD_S]]]")
        sys.exit(2)
    sys.exit(
        run(
            argv[0],
            argv[1] if len(argv) > 1 else API_URL,
            int(argv[2]) if len(argv) > 2 else None,
            int(argv[3]) if len(argv) > 3 else PERIOD_S,
        )
    )

"""The observer of a sign-in: what the flow, the session, app.run and the board glue tell the
person. devauth.oled.ui.UI (console lines and OLED screens) and the board's BoardUI subclass it;
every method has a default, so an observer overrides only what it shows. `out` is where console
lines go (print, or a test's list); secrets are never given to an observer.
"""


class Observer:
    def __init__(self, out=print):
        self.out = out

    def say(self, line):
        """A console line."""
        self.out(line)

    def status(self, title, body=""):
        """A status screen: starting, waiting, signed in ..."""

    def requesting(self):
        """A user code is being requested (RFC 8628 §3.1)."""

    def show_code(self, code):
        """Show the user code and where to enter it (a devauth.oauth.flow.DeviceCode)."""

    def tick(self, seconds_left):
        """About once a second while a code waits: the time it has left."""

    def retrying(self, reason, seconds):
        """A transient failure (or slow_down): the next attempt in `seconds`."""

    def signed_in(self, token):
        """A valid token is at hand (the record is not for printing)."""

    def failed(self, err):
        """The sign-in failed with `err` (a DevauthError): err.short and the line."""

    def wifi(self, ssid):
        """The board joins the Wi-Fi network `ssid`."""
        self.status("Wi-Fi", "Connecting to %s..." % ssid)

    def clock(self, server):
        """The board sets its clock from the NTP server `server`."""
        self.status("Clock", "Getting the time from %s..." % server)

    def toggle(self):
        """The button's short press: the next view of the sign-in, where there is one."""
        self.say("Button: this screen has no other view")

    def stats(self, transport):
        """The sign-in ended: `devauth run --stats` reports the transport's figures here."""

"""The observer of a sign-in: the console lines (the contract below) and the OLED screens.

Console contract (serial console on a board, stdout on the host):
    To sign in, visit <verification_uri> and enter code <user_code>
    Signed in.
    <Short reason>: <one line naming what failed>
This is the one place that prints: device_code, secrets and tokens are never given to it.
"""

from devauth.screen import Screen


class UI:
    def __init__(self, display=None, width=128, height=64, out=print):
        self.screen = Screen(display, width, height) if display is not None else None
        self.out = out
        self._shown = -1

    def say(self, line):
        self.out(line)

    def status(self, title, body=""):
        if self.screen:
            self.screen.message(title, body)

    def requesting(self):
        self.status("Signing in", "Requesting a code...")

    def show_code(self, code):
        self.say("To sign in, visit %s and enter code %s" % (code.verification_uri, code.user_code))
        self._code = code
        self._shown = code.expires_in
        if self.screen:
            self.screen.sign_in(code.user_code, code.verification_uri, code.expires_in)

    def tick(self, seconds_left):
        if self.screen and seconds_left != self._shown:
            self._shown = seconds_left
            self.screen.countdown(seconds_left)

    def retrying(self, reason, seconds):
        self.say("Waiting %d s: %s" % (seconds, reason))

    def signed_in(self, token):
        self.say("Signed in.")
        self.status("Signed in", "")

    def failed(self, err):
        self.say("%s: %s" % (err.short, err))
        self.status(err.short, str(err))

"""The observer of a sign-in: what the flow, the session, app.run and the board glue tell the
person. devauth.oled.ui.UI (console lines and OLED screens) and the board's BoardUI subclass it;
every method but say() does nothing by default, so an observer overrides only what it shows.
Secrets (device_code, tokens) are never given to an observer.

    say(line)                   a console line, through `out` (print, or a test's list)
    status(title, body="")      a status screen: starting, waiting, signed in ...
    requesting()                a user code is being requested (RFC 8628 §3.1)
    show_code(code)             the user code and where to enter it (oauth.flow.DeviceCode)
    tick(seconds_left)          about once a second while a code waits
    retrying(reason, seconds)   a transient failure (or slow_down): the next try in `seconds`
    signed_in(token)            a valid token is at hand (the record is not for printing)
    failed(err)                 the sign-in failed with `err`, a DevauthError
    wifi(ssid), clock(server)   the board joins Wi-Fi, sets its clock from an NTP server
    toggle()                    the button's short press: the next view of the sign-in
    stats(transport)            the sign-in ended (`--stats` reports the transport's figures)
"""

# Kept small: it is resident, and every function and class entry costs heap on a board.


class Observer:
    out = print  # where say() writes; a subclass sets its own

    def say(self, line):
        self.out(line)

    def _nothing(self, *args):  # the default of everything but say()
        pass

    status = requesting = show_code = tick = retrying = signed_in = failed = _nothing
    wifi = clock = toggle = stats = _nothing

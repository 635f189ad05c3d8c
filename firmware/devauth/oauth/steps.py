"""The protocol core's requests to the outside world, and the blocking driver that serves them.

The OAuth logic (devauth.oauth.flow, session, discovery, api) is written as generators that
never sleep and never touch a socket: they `yield` what they need done and get the result back.

    resp = yield ("post_form", (url, body, headers))  # any method of the transport, by name
    yield (SLEEP, ms)                                 # wait ms
    rec = yield (ENSURE, refused)                     # a valid token record (refresh/sign-in)

A failure of the step (a DevauthError from the transport, say) is raised at the `yield`. Two
drivers serve these steps: `run` below, blocking (app.run, Session's methods), and
devauth.aio's, which awaits the asyncio transport and sleep and shares one refresh among tasks.
Each rule is written once, in the generators; a driver only carries steps out.
"""

SLEEP = "sleep"
ENSURE = "ensure"


def run(steps, transport, clock, ensure=None):
    """Drive the generator `steps` to its end with blocking calls -> its return value.

    `ensure(refused)`: how an ENSURE step gets a token record (Session.ensure).
    """
    value = error = None
    while True:
        try:
            step = steps.send(value) if error is None else steps.throw(error)
        except StopIteration as e:
            return e.value
        value = error = None
        try:
            if step[0] == SLEEP:
                clock.sleep_ms(step[1])
            elif step[0] == ENSURE and ensure is not None:
                value = ensure(step[1])
            else:
                value = getattr(transport, step[0])(*step[1])
        except Exception as e:  # raised inside the generator, where the rules decide
            error = e

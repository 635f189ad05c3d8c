"""Board glue, asyncio path: an application.py with `async def main(auth)` owns the loop.

Board.boot comes here instead of devauth.app.run, after the same hardware() and online(), when
the application's `main` is a coroutine function (devauth.board.glue.async_main). Imported only
then: asyncio and devauth.aio cost no heap on the blocking path. One asyncio loop runs

- the sign-in: `auth.run()`, a devauth.aio.Auth with the board's config, display, BoardUI (the
  same screens, LED states and console lines as the blocking path) and request deadline (3/4 of
  the watchdog period);
- the board's service, every SERVICE_MS: what BoardClock's sleep does between slices
  (Board.service: feed the watchdog, read the button, blink the LED, check the Wi-Fi link). A
  dropped link is rejoined right there, as on the blocking path: the loop waits while the board
  rejoins (the watchdog is fed meanwhile);
- the application's `main(auth)`.

A long press (Board.long_press raises NewSignIn out of Board.service) cancels the sign-in and
`main`, signs out (revokes the tokens where the server can, deletes them and a pending code) and
starts both again: `main` gets the same `auth`, signed out. A `main` that raises is one console
line (`Application error: ...`, no traceback); the board stays signed in and calls `main` again
after a pause (30 s, doubling to 10 min). A `main` that returns is not called again.
"""

import asyncio

from devauth import aio
from devauth.app import MAX_PAUSE, RETRY_PAUSE
from devauth.errors import DevauthError

try:
    from micropython import const  # pyright: ignore[reportAssignmentType] (fallback below)
except ImportError:

    def const(x):
        return x


SERVICE_MS = const(100)  # between two services of the board: the button's sampling period


def run(board, opts, display, width, height, main, deadline_ms, restart, transport=None,
        sleep=aio.sleep_ms):  # fmt: skip
    """Run the sign-in, the board's service and `main(auth)` -> the exit code (returns only with
    opts["once"]: when the sign-in ended and, signed in, `main` returned). From
    devauth.board.glue (passed, so that this module does not import it back): each request's
    `deadline_ms`, and `restart`, what Board.service raises on a long press (NewSignIn).
    `transport` and `sleep` (an async sleep in ms) are for tests, as in devauth.aio.Auth."""
    auth = aio.Auth(
        opts["config"],
        display,
        ui=board.ui,
        clock=board.clock,
        width=width,
        height=height,
        request_deadline_ms=deadline_ms,
        transport=transport,
        sleep=sleep,
    )
    try:
        return asyncio.run(_loop(board, auth, main, opts["once"], restart, sleep))
    finally:
        auth.close()


async def _loop(board, auth, main, once, restart, sleep):
    while True:
        board.in_app = True
        signin = asyncio.create_task(auth.run(once))
        app = asyncio.create_task(_application(board, main, auth, once, sleep))
        try:
            while not (once and signin.done() and app.done()):
                board.service(True)  # a long press raises NewSignIn here
                if once and signin.done() and not app.done() and await signin != 0:
                    break  # the sign-in failed: `main` gets no token
                await sleep(SERVICE_MS)
            return await signin
        except restart:  # a long press (NewSignIn)
            board.in_app = False
            await _stop(app, signin)
            await _serve_until(board, asyncio.create_task(_forget(board, auth)), sleep)
        finally:
            board.in_app = False
            await _stop(app, signin)


async def _application(board, main, auth, once, sleep):
    pause = RETRY_PAUSE
    while True:
        try:
            await main(auth)
            return
        except Exception as e:  # the application's code: one line, the board keeps going
            board.app_failed(e)
        if once:
            return
        await sleep(pause * 1000)
        pause = min(MAX_PAUSE, pause * 2)


async def _forget(board, auth):
    """After a long press: the blocking path's Board.new_sign_in, over asyncio."""
    if board.raw is not None:
        board.raw.status("New sign-in", "Forgetting the old one...")
    try:
        await auth.sign_out()  # revokes a stored token where it can; deletes it and a pending code
    except DevauthError as e:
        board.out("%s: %s" % (e.short, e))


async def _serve_until(board, task, sleep):
    """Service the board (no sign-in to restart meanwhile) until `task` is done."""
    while not task.done():
        board.service(True)
        await sleep(SERVICE_MS)
    await task


async def _stop(*tasks):
    """Cancel every task first, then wait for each: none sees the others' cancellation as an
    error (a task waiting for a sign-in that another one drives)."""
    for t in tasks:
        t.cancel()
    for t in tasks:
        try:
            await t
        except aio.CancelledError:
            pass

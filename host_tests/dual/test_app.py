"""devauth.app: the transport it builds from the config (dual test)."""

from devauth import app
from devauth.net.http import HTTPClient
from fakes import Config, Recorder


def test_a_request_may_take_the_timeout_and_never_more_than_the_board_allows():
    cfg = Config()
    cfg.timeout = 15
    t = app.make_transport(cfg, Recorder())
    assert isinstance(t, HTTPClient) and t.timeout == 15 and t.deadline_ms == 15000
    # a Pico W: 3/4 of its 8388 ms watchdog, below the 15 s timeout
    assert app.make_transport(cfg, Recorder(), 6291).deadline_ms == 6291
    assert app.make_transport(cfg, Recorder(), 45000).deadline_ms == 15000

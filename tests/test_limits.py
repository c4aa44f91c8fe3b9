"""Login throttling: wrong passwords slow the next try down; a right one resets it."""

from __future__ import annotations

from assistant.limits import LoginThrottle
from assistant.settings import Settings
from assistant.ui import launch_options


def test_wrong_passwords_make_each_next_try_wait_longer() -> None:
    waits: list[float] = []
    throttle = LoginThrottle([("editor", "s3cret")], sleep=waits.append)
    for _ in range(5):
        assert throttle("editor", "guess") is False
    assert waits == [0.5, 1.0, 2.0, 4.0]
    assert throttle("editor", "s3cret") is True
    assert throttle.delay("editor") == 0


def test_the_ui_login_is_throttled() -> None:
    auth = launch_options(Settings(ui_auth="editor:s3cret"))["auth"]
    assert isinstance(auth, LoginThrottle)

"""Brakes that keep one client from hurting the others: login throttling."""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("assistant.login")


class LoginThrottle:
    """A Gradio ``auth`` callable: each wrong password for a user name makes the next attempt
    for that name wait longer (0.5 s doubling up to ``max_delay``); a right one resets it.

    Gradio hands the callable only the name and password, so failures are counted per name."""

    def __init__(self, pairs: list[tuple[str, str]], base_delay: float = 0.5,
                 max_delay: float = 30.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.pairs = dict(pairs)
        self.base_delay, self.max_delay, self.sleep = base_delay, max_delay, sleep
        self.failures: dict[str, int] = {}
        self.lock = threading.Lock()

    def delay(self, username: str) -> float:
        with self.lock:
            n = self.failures.get(username, 0)
        return 0.0 if n == 0 else min(self.base_delay * 2 ** (n - 1), self.max_delay)

    def __call__(self, username: str, password: str) -> bool:
        wait = self.delay(username)
        if wait:
            self.sleep(wait)
        expected = self.pairs.get(username, "")
        ok = username in self.pairs and hmac.compare_digest(expected.encode(), password.encode())
        with self.lock:
            if ok:
                self.failures.pop(username, None)
            else:
                self.failures[username] = self.failures.get(username, 0) + 1
                log.warning("login failed for %r (%d in a row; next try waits %.1f s)", username,
                            self.failures[username],
                            min(self.base_delay * 2 ** (self.failures[username] - 1),
                                self.max_delay))
        return ok

"""Brakes that keep one client from hurting the others: login throttling, and shared access to
the index (answers run side by side; an ingest or a delete runs alone)."""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
                self.failures[username] = failures = self.failures.get(username, 0) + 1
        if not ok:
            log.warning("login failed for %r (%d in a row; next try waits %.1f s)", username,
                        failures, self.delay(username))
        return ok


class SharedAccess:
    """Readers share, writers are alone: any number of questions are answered at once (each
    waits only on its own LLM call), while an ingest or a delete waits for the answers under
    way and holds new ones back until it is done. A waiting writer goes before new readers,
    so a stream of questions cannot starve an upload."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            self._cond.wait_for(lambda: not self._writing and not self._readers)
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()

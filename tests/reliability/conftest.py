"""Fixtures of the reliability suite (fuzzed bad inputs, worker faults, leaks)."""
from __future__ import annotations

import signal

import pytest


@pytest.fixture
def guard():
    """Fail (instead of hanging the suite) if a test runs longer than 60 s."""
    def on_alarm(signum, frame):
        raise TimeoutError("test exceeded its 60 s guard: probable hang")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


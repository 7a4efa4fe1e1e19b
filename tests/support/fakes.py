"""Fakes for time and chance: a clock a test moves by hand, a sleep that records what it was asked to wait, and
an RNG that always draws the same number."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.support import START


@dataclass
class Clock:
    """One time for the test, the sandbox and dotsync; tests move it with ``advance``."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@dataclass
class FakeSleep:
    """Records the waits asked for, and never sleeps."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class FixedRandom(random.Random):
    """An RNG whose ``random()`` always returns the same value, so jittered waits are predictable."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value

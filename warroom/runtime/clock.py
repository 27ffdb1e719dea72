"""Time is a port. Live, the system clock; in tests and exercises, a clock that only moves
when told to, so a three-day incident runs in milliseconds and nothing ever sleeps."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from warroom.errors import UsageError


class Clock(Protocol):
    def now(self) -> datetime: ...


@runtime_checkable
class SteerableClock(Clock, Protocol):
    """A clock that moves only when told to: exercises and tests jump from wake-up to wake-up."""

    def advance(self, delta: timedelta) -> datetime: ...

    def set(self, moment: datetime) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class VirtualClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise UsageError("a virtual clock needs a time with a UTC offset")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        """Move to `moment`; time never runs backwards."""
        if moment > self._now:
            self._now = moment


class AcceleratedClock:
    """Real time, `speed` times faster, from `start`: a facilitated exercise that rehearses a
    morning in an hour. At speed 1 it is the system clock shifted to `start`."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if speed <= 0:
            raise UsageError("speed must be above 0")
        self.start = start
        self.speed = speed
        self._began = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._began) * self.speed)

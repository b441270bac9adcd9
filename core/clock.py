"""Injectable clocks: every "now" in MealAid comes from one of these, never from datetime.now()."""

from abc import ABC, abstractmethod
from datetime import UTC, date, datetime, timedelta, tzinfo


class Clock(ABC):
    """A base class rather than a Protocol: services check their arguments on every call, and an
    isinstance check against a runtime Protocol costs tens of microseconds an order."""

    tz: tzinfo

    @abstractmethod
    def now(self) -> datetime:
        """The current moment as an aware datetime in the programme's timezone."""


class SystemClock(Clock):
    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(self.tz)


class FixedClock(Clock):
    """A clock that stands still until moved; used by tests, the demo and benchmarks."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.tz = at.tzinfo
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(self.tz)

    def advance(self, delta: timedelta) -> None:
        self._at = self._at + delta


class AcceleratedClock(Clock):
    """Starts at a given moment and runs `speed` times faster than real time: lets the demo
    show a day's cutoffs, planning and escalations pass in minutes."""

    def __init__(self, start: datetime, speed: float) -> None:
        if start.tzinfo is None:
            raise ValueError("AcceleratedClock needs an aware datetime")
        if speed <= 0:
            raise ValueError(f"speed: must be > 0, got {speed}")
        self.tz = start.tzinfo
        self._start, self._speed = start, speed
        self._real_start = datetime.now(UTC)

    def now(self) -> datetime:
        elapsed = datetime.now(UTC) - self._real_start
        return (self._start + elapsed * self._speed).astimezone(self.tz)


def today(clock: Clock) -> date:
    """The service day it is now in the programme's timezone."""
    return clock.now().date()

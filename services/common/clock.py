"""Time, injectable: every rule that reads "now" takes a `Clock`, so tests and demos can move time.

`SystemClock` is the real one. `ManualClock` is for in-process tests. `FileClock` lets a test or a
person move the time of a *running* service (e.g. to watch a bill expire): it reads an ISO-8601
instant from a file, re-read when the file changes, and advances with real time from that instant.
The settings refuse it in production.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

# The file `make run` gives every service as CLOCK_FILE; development tools that stand beside the
# services (the payment simulator) read it too when CLOCK_FILE is not set, so they share the time.
LOCAL_CLOCK_FILE = Path(__file__).resolve().parents[2] / ".local" / "clock"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = instant.astimezone(UTC)


class FileClock:
    """Real time shifted so that it read the file's instant when the file was last written.

    An empty or missing file means no shift. The file is re-read at most once per `check_seconds`.
    """

    def __init__(self, path: Path, check_seconds: float = 0.2) -> None:
        self._path = path
        self._check_seconds = check_seconds
        self._checked_at = float("-inf")
        self._mtime: float | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        self._refresh()
        return datetime.now(UTC) + self._offset

    def _refresh(self) -> None:
        monotonic = time.monotonic()
        if monotonic - self._checked_at < self._check_seconds:
            return
        self._checked_at = monotonic
        try:
            stat = os.stat(self._path)
        except FileNotFoundError:
            self._mtime, self._offset = None, timedelta(0)
            return
        if stat.st_mtime == self._mtime:
            return
        self._mtime = stat.st_mtime
        text = self._path.read_text().strip()
        if not text:
            self._offset = timedelta(0)
            return
        target = datetime.fromisoformat(text)
        if target.tzinfo is None:
            raise ValueError(f"{self._path} must hold an aware ISO-8601 instant")
        written_at = datetime.fromtimestamp(stat.st_mtime, UTC)
        self._offset = target - written_at


def set_file_clock(path: Path, instant: datetime) -> None:
    """Move every service reading `path` to `instant` (used by tests and the local demo)."""
    if instant.tzinfo is None:
        raise ValueError("need an aware datetime")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(instant.isoformat())
    os.replace(tmp, path)

"""A Kudu deployment log read as it grows: each line once, the newest build output again until
the deployment ends, and the last lines kept for the error a failed deployment raises (no I/O).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

LOG_TAIL = 20


class LogFollower:
    """Turns successive reads of a Kudu deployment log into new lines, once each.

    Kudu's log is a list of entries (``id``, ``message``, ``log_time``, ``type``,
    ``details_url``); an entry's details (the build output) grow while it runs, so the newest
    entry with details is read again until the deployment ends.
    """

    def __init__(self, tail: int = LOG_TAIL) -> None:
        self.seen: set[str] = set()
        self.tail: deque[str] = deque(maxlen=tail)
        self._details: dict[str, str] = {}
        self._read: set[str] = set()

    def _line(self, entry: Mapping[str, Any], indent: str = "") -> str | None:
        key = str(entry.get("id") or "") + "|" + str(entry.get("message") or "")
        if key in self.seen:
            return None
        self.seen.add(key)
        level = {1: "WARNING ", 2: "ERROR "}.get(entry.get("type") or 0, "")
        line = f"{indent}{level}{entry.get('message') or ''}".rstrip()
        self.tail.append(line.strip())
        return line

    def on_entries(self, entries: Iterable[Mapping[str, Any]], final: bool = False) -> tuple[list[str], list[str]]:
        """(new lines, details URLs to read now)."""
        lines: list[str] = []
        for entry in entries:
            line = self._line(entry)
            if line is not None:
                lines.append(line)
            if entry.get("details_url"):
                self._details[str(entry.get("id"))] = str(entry["details_url"])
        ids = list(self._details)
        # At the end all of them; before, each new one once and the newest again (still growing).
        wanted = ids if final else [i for i in ids if i not in self._read] + ids[-1:]
        wanted = list(dict.fromkeys(wanted))
        self._read.update(wanted)
        return lines, [self._details[i] for i in wanted]

    def on_details(self, entries: Iterable[Mapping[str, Any]]) -> list[str]:
        return [line for e in entries if (line := self._line(e, "  ")) is not None]

    def last_lines(self) -> list[str]:
        return list(self.tail)

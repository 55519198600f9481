"""What the scrubber remembers across events: clean strings, and results of strings with secrets.

Events repeat most of their strings (header values, reprs, SQL, log lines), so a string
already scrubbed costs one lookup. A clean string is kept as it is: it leaves the process
unchanged anyway. A string that held a secret is never kept: its entry is keyed by its hash
and confirmed by a second, salted hash, and holds only the scrubbed text. Both are bounded
and emptied when full.
"""

from __future__ import annotations

import os

MIN_LEN = 5  # the shortest secret the detectors look for is ``pwd=x``
CLEAN_LIMIT = 16384
CLEAN_CHARS = 4_000_000
DIRTY_LIMIT = 4096
CACHED_LENGTH = 16384  # longer strings are scanned every time


class Results:
    """Remembered scrub results, shared by the threads of one Scrubber."""

    def __init__(self) -> None:
        self.clean: set[str] = set()  # strings every detector leaves as they are
        self._chars = 0
        # hash(s) -> (hash(salt + s), scrubbed s), one table per mode (source lines filter
        # fewer pairs, so a result for text is not one for source).
        self._dirty: tuple[dict, dict] = ({}, {})
        self._salt = os.urandom(8).hex()

    def known(self, s: str, source: bool) -> str | None:
        """The remembered result of a string that held a secret, or None."""
        entry = self._dirty[source].get(hash(s))
        if entry is not None and entry[0] == hash(self._salt + s):
            return entry[1]
        return None

    def split(self, texts: list[str], source: bool) -> tuple[dict[str, str], list[str]]:
        """``({text: remembered result}, [texts still to scrub])``; short and clean ones left out."""
        out, todo, clean = {}, [], self.clean
        known, salt = self._dirty[source].get, self._salt
        for t in dict.fromkeys(texts):
            if len(t) >= MIN_LEN and t not in clean:
                entry = known(hash(t))
                if entry is not None and entry[0] == hash(salt + t):
                    out[t] = entry[1]
                else:
                    todo.append(t)
        return out, todo

    def remember(self, s: str, source: bool, new: str) -> str:
        """Remember the result of a full scrub of ``s`` and return it (``s`` itself if clean)."""
        if new == s:
            if not source:  # clean as text is clean as source, not the other way round
                self.remember_clean(s)
            return s
        if len(s) <= CACHED_LENGTH:
            table = self._dirty[source]
            if len(table) >= DIRTY_LIMIT:
                table.clear()
            table[hash(s)] = (hash(self._salt + s), new)
        return new

    def remember_clean(self, *texts: str) -> None:
        """Keep clean strings, within the count and size bounds."""
        if len(self.clean) >= CLEAN_LIMIT or self._chars >= CLEAN_CHARS:
            self.clean.clear()
            self._chars = 0
        kept = [t for t in texts if len(t) <= CACHED_LENGTH]
        self.clean.update(kept)
        self._chars += sum(map(len, kept))

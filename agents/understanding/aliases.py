"""Place aliases ("杭州", "Hangzhou", "hang zhou") mapped to one canonical place name."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.text import CJK_IDEOGRAPHS

_CJK = re.compile(f"[\u3040-\u30ff{CJK_IDEOGRAPHS}]")  # with Japanese kana: no word boundaries either


def _is_word_char(char: str) -> bool:
    # CJK characters are alphanumeric to Python, but "去Kyoto玩" must still find "Kyoto".
    return char.isalnum() and not _CJK.match(char)


class AliasIndex:
    """Finds known places in free text; the knowledge base feeds it with its aliases.

    Matching is case-insensitive. Latin aliases must stand on word boundaries ("Nice" is not found
    in "nicer"); CJK aliases match as plain substrings. Canonical names are aliases of themselves.
    """

    def __init__(self, aliases: Mapping[str, str]) -> None:
        table = {canonical.casefold(): canonical for canonical in aliases.values()}
        table.update({alias.casefold(): canonical for alias, canonical in aliases.items()})
        table.pop("", None)
        # Longest first, so the first length that matches is the answer.
        self._aliases = sorted(table.items(), key=lambda item: (-len(item[0]), item[0]))
        # Whether an alias is CJK (a plain substring match) is decided once here, not per alias per request:
        # the gazetteer has hundreds of aliases and every request scans them all.
        self._cjk = frozenset(alias for alias, _canonical in self._aliases if _CJK.search(alias))

    def find_in(self, text: str) -> str | None:
        """Canonical name of the longest alias in `text` (the earliest one on a tie), or None."""
        folded = text.casefold()
        best: tuple[int, str] | None = None
        best_length = 0
        for alias, canonical in self._aliases:
            if len(alias) < best_length:
                break
            position = self._position(folded, alias, alias in self._cjk)
            if position is not None and (best is None or position < best[0]):
                best, best_length = (position, canonical), len(alias)
        return best[1] if best else None

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, canonical) of every known place in `text`, in order, overlaps claimed by the longest."""
        folded = text.casefold()
        claimed: list[tuple[int, int, str]] = []
        for alias, canonical in self._aliases:
            if alias not in folded:  # most aliases: one substring test, no slicing
                continue
            start, cjk = 0, alias in self._cjk
            while (position := self._position(folded[start:], alias, cjk)) is not None:
                begin = start + position
                end = begin + len(alias)
                if not any(a < end and begin < b for a, b, _ in claimed):
                    claimed.append((begin, end, canonical))
                start = end
        return sorted(claimed)

    def find_all(self, text: str) -> list[str]:
        """Every distinct known place in `text`, in order of appearance ("杭州和苏州" -> Hangzhou, Suzhou).

        A shorter alias inside a longer match does not count again ("杭州市" is one place).
        """
        folded = text.casefold()
        claimed: list[tuple[int, int]] = []
        found: list[tuple[int, str]] = []
        for alias, canonical in self._aliases:
            position = self._position(folded, alias, alias in self._cjk)
            if position is None or any(a < position + len(alias) and position < b for a, b in claimed):
                continue
            claimed.append((position, position + len(alias)))
            found.append((position, canonical))
        ordered = [canonical for _pos, canonical in sorted(found)]
        return list(dict.fromkeys(ordered))

    @staticmethod
    def _position(text: str, alias: str, cjk: bool) -> int | None:
        start = text.find(alias)
        if cjk:
            return start if start >= 0 else None
        while start >= 0:
            before = text[start - 1] if start > 0 else " "
            after = text[start + len(alias)] if start + len(alias) < len(text) else " "
            if not _is_word_char(before) and not _is_word_char(after):
                return start
            start = text.find(alias, start + 1)
        return None

    def __len__(self) -> int:
        """Number of distinct aliases, canonical names included."""
        return len(self._aliases)

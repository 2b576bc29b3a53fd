"""One-character typos and homophones on domain words: "劳动仲栽", "法治提检", "大讲唐".

Members type with pinyin input methods, so most slips are a character with the same sound
(提 for 体, 唐 for 堂), and some are a look-alike (栽 for 裁). The index cannot match such a
word: its bigrams were never seen. The speller looks only at windows of the message that
contain such an unseen bigram, and replaces a window by a domain word (dictionary, synonyms,
entry keywords) that differs from it in exactly one character, when:

* the word has 2 characters and the two differing characters sound alike (same toneless
  pinyin, or the same up to the usual fuzzy pairs z/zh, c/ch, s/sh, n/l, -n/-ng), and the
  window is not itself a dictionary word (汇费 stays 汇费, it is not a typo for 会费);
* the word has 3 characters and the sounds are alike or one letter apart (栽 zai, 裁 cai);
* the word has 4 or more characters (one character in four is evidence enough).

Cheap by construction: a message whose bigrams are all known costs one set lookup per
bigram, and corrections are memoised per message. The pinyin table is read once per process
from pypinyin's data file into a compact array, not through pypinyin's in-memory dictionary
(56 MB in every worker).
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

CJK_FIRST, CJK_LAST = 0x4E00, 0x9FFF
MIN_WORD, MAX_WORD = 2, 6
# The most domain words the speller keeps (a 10,000-entry base has far more keyword phrases
# than a member could mistype; the dictionary and synonyms come first).
MAX_VOCABULARY = 60_000

_table: tuple[np.ndarray, list[str]] | None = None
_table_lock = threading.Lock()


def _pinyin_table() -> tuple[np.ndarray, list[str]]:
    """Toneless pinyin of the first reading of every CJK Unified Ideograph, as syllable ids."""
    global _table
    if _table is None:
        with _table_lock:
            if _table is None:
                path = _pinyin_data()
                syllables: dict[str, int] = {"": 0}
                ids = np.zeros(CJK_LAST - CJK_FIRST + 1, dtype=np.uint16)
                text = path.read_text(encoding="utf-8")
                for match in re.finditer(r'"(\d+)":\s*"([^",]*)', text):
                    code = int(match.group(1))
                    if CJK_FIRST <= code <= CJK_LAST:
                        sound = _toneless(match.group(2))
                        ids[code - CJK_FIRST] = syllables.setdefault(sound, len(syllables))
                del text
                names = sorted(syllables, key=syllables.__getitem__)
                _table = (ids, names)
    return _table


def _pinyin_data() -> Path:
    """pypinyin's character table, found without importing the package (which would load
    its whole dictionary into this process)."""
    import importlib.util

    spec = importlib.util.find_spec("pypinyin")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pypinyin is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "pinyin_dict.json"


def _toneless(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.lru_cache(maxsize=65536)
def sound(char: str) -> str:
    """Toneless pinyin of a Han character ("" for anything else)."""
    code = ord(char)
    if not CJK_FIRST <= code <= CJK_LAST:
        return ""
    ids, names = _pinyin_table()
    return names[int(ids[code - CJK_FIRST])]


_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"))
_FUZZY_FINALS = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"), ("ing", "in"))


@functools.lru_cache(maxsize=65536)
def fuzzy(syllable: str) -> str:
    """A syllable with the commonly confused initials and finals merged."""
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    for long, short in _FUZZY_FINALS:
        if syllable.endswith(long):
            return syllable[: -len(long)] + short
    return syllable


def sounds_alike(a: str, b: str, *, loose: bool = False) -> bool:
    """Same toneless pinyin up to fuzzy pairs; ``loose`` also allows one letter apart."""
    sa, sb = sound(a), sound(b)
    if not sa or not sb:
        return False
    if sa == sb or fuzzy(sa) == fuzzy(sb):
        return True
    return loose and _one_apart(sa, sb)


def _one_apart(a: str, b: str) -> bool:
    """Levenshtein distance of at most one."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:k] + long[k + 1 :] == short for k in range(len(long)))


def _is_han(text: str) -> bool:
    return all(CJK_FIRST <= ord(c) <= CJK_LAST for c in text)


class Speller:
    """Corrects one character in a window of a message to a domain word.

    :param words: the domain vocabulary, most important first (kept up to MAX_VOCABULARY).
    :param is_word: whether a string is a dictionary word (jieba's frequency lookup).
    """

    def __init__(self, words: Iterable[str], is_word: Callable[[str], object]) -> None:
        vocabulary: dict[str, None] = {}
        for word in words:
            if MIN_WORD <= len(word) <= MAX_WORD and _is_han(word):
                vocabulary.setdefault(word, None)
                if len(vocabulary) >= MAX_VOCABULARY:
                    break
        self.vocabulary = frozenset(vocabulary)
        self._is_word = is_word
        # "仲?" → ["仲裁"], "?裁" → ["仲裁", "总裁"]: the words one character away from a
        # window are found by masking each of its positions in turn.
        masked: dict[str, list[str]] = {}
        for word in vocabulary:
            for k in range(len(word)):
                masked.setdefault(word[:k] + "?" + word[k + 1 :], []).append(word)
        self._masked = {key: tuple(words) for key, words in masked.items()}
        self._cache: dict[tuple[str, frozenset[int]], str | None] = {}

    def correct(self, text: str, unseen: Callable[[str], bool]) -> str | None:
        """``text`` with its typos corrected, or None when nothing was corrected.

        :param text: a normalised message (no punctuation or spaces).
        :param unseen: whether a bigram is absent from the index.
        """
        flagged = frozenset(k for k in range(len(text) - 1) if unseen(text[k : k + 2]))
        if not flagged:
            return None
        key = (text, flagged)
        if key in self._cache:
            return self._cache[key]
        result = self._correct(text, flagged)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _correct(self, text: str, flagged: frozenset[int]) -> str | None:
        chars = list(text)
        taken = [False] * len(text)
        changed = False
        for size in range(MAX_WORD, MIN_WORD - 1, -1):
            for start in range(len(text) - size + 1):
                end = start + size
                # Only windows with an unseen bigram inside, and not overlapping a correction.
                if not any(start <= k < end - 1 for k in flagged) or any(taken[start:end]):
                    continue
                window = text[start:end]
                if window in self.vocabulary or not _is_han(window):
                    continue
                word = self._best(window)
                if word is None:
                    continue
                chars[start:end] = list(word)
                taken[start:end] = [True] * size
                changed = True
        return "".join(chars) if changed else None

    def _best(self, window: str) -> str | None:
        size = len(window)
        if size == 2 and self._is_word(window):
            return None  # a real word of its own (汇费), not a slip
        found: list[tuple[int, str]] = []
        for k in range(size):
            for word in self._masked.get(window[:k] + "?" + window[k + 1 :], ()):
                a, b = window[k], word[k]
                if a == b:
                    continue
                if sound(a) == sound(b):
                    rank = 0
                elif sounds_alike(a, b, loose=size >= 3):
                    rank = 1
                elif size >= 4:
                    rank = 2
                else:
                    continue
                found.append((rank, word))
        if not found:
            return None
        found.sort()
        best_rank = found[0][0]
        best = {word for rank, word in found if rank == best_rank}
        # Two equally good words: the message does not say which; leave it alone.
        return found[0][1] if len(best) == 1 else None


def vocabulary_file_words(path: Path) -> list[str]:
    """The words of a jieba user dictionary (``word freq [tag]`` a line)."""
    if not path.is_file():
        return []
    return [
        line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]

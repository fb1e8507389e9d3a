"""Winnowing fingerprints of Python code (Schleimer, Wilkerson and Aiken, SIGMOD 2003).

Code is reduced to a stream of normalised tokens by Python's own ``tokenize``: comments, blank
lines and spacing are dropped, every identifier a student chooses becomes ``V`` (keywords,
builtins and attribute names such as ``.shape`` or ``.pad`` are kept: renaming a variable
changes nothing, calling another library function does), every number ``N`` and every string
``S``. Each run of ``k`` consecutive tokens (a *k-gram*) is hashed; winnowing keeps the smallest
hash of every window of ``w`` consecutive k-grams, so any match of at least ``k + w - 1``
tokens is guaranteed to share a fingerprint, and nothing shorter than ``k`` tokens can match.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import tokenize
from dataclasses import dataclass

#: Defaults: a match must span at least K tokens; every match of K + W - 1 tokens is found.
K = 8
W = 6

_KEPT = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}


@dataclass(frozen=True)
class Token:
    """One normalised token: ``text`` and its place in the cell's source (1-based line, columns)."""

    text: str
    line: int
    start: int
    end_line: int
    end: int


def _without_magics(source: str) -> str:
    """IPython magics and shell escapes (``%time``, ``!pip``) blanked, line numbers kept."""
    lines = source.split("\n")
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def normalise(source: str) -> list[Token]:
    """Tokens of ``source`` (a cell's code, str) -> list of normalised tokens, in order.

    Code that does not tokenize (a syntax error half-way) keeps the tokens read before the error.
    """
    tokens: list[Token] = []
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(_without_magics(source)).readline):
            if tok.type in _SKIPPED:
                continue
            if tok.type == tokenize.NAME:
                text = tok.string if tok.string in _KEPT or previous == "." else "V"
            elif tok.type == tokenize.NUMBER:
                text = "N"
            elif tok.type == tokenize.STRING or tok.type in _fstring_types():
                text = "S"
            elif tok.type == tokenize.NEWLINE:
                text = ";"
            elif tok.type in (tokenize.INDENT, tokenize.DEDENT):
                text = ">" if tok.type == tokenize.INDENT else "<"
            else:
                text = tok.string
            if text == "S" and tokens and tokens[-1].text == "S":
                continue  # an f-string's parts, or implicitly joined strings: one literal
            previous = tok.string
            (line, start), (end_line, end) = tok.start, tok.end
            tokens.append(Token(text, line, start, end_line, end))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return tokens


def _fstring_types() -> tuple[int, ...]:
    """Token types of f-string pieces (Python >= 3.12 splits f-strings into several tokens)."""
    names = ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
    return tuple(getattr(tokenize, n) for n in names if hasattr(tokenize, n))


def kgram_hashes(tokens: list[Token], k: int = K) -> list[int]:
    """64-bit hashes of every k-gram of ``tokens`` (len(tokens) - k + 1 of them; [] if shorter).

    The hash is stable across runs (BLAKE2b), unlike Python's ``hash`` of strings.
    """
    texts = [t.text for t in tokens]
    return [int.from_bytes(hashlib.blake2b("\x1f".join(texts[i:i + k]).encode(), digest_size=8)
                           .digest(), "big")
            for i in range(len(texts) - k + 1)]


def winnow(hashes: list[int], w: int = W) -> dict[int, list[int]]:
    """Winnowing: hash -> k-gram indices selected (the rightmost minimum of each window of ``w``).

    Fewer than ``w`` hashes form one window. Returns {} for no hashes.
    """
    selected: dict[int, list[int]] = {}
    if not hashes:
        return selected
    last = -1
    for start in range(max(1, len(hashes) - w + 1)):
        window = hashes[start:start + w]
        low = min(window)
        index = start + max(i for i, h in enumerate(window) if h == low)
        if index != last:
            selected.setdefault(low, []).append(index)
            last = index
    return selected

"""Lower-casing for literal pre-checks that must never miss a case-insensitive match."""

from __future__ import annotations

# The only non-ASCII characters that an IGNORECASE pattern matches to ASCII letters (checked
# over all of Unicode with Python 3.11's re): mapping them first makes ``casefolded`` sound.
_CASE_TWINS = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"), ("\u212a", "k"))


def casefolded(text: str) -> str:
    """Lower-cased ``text`` for cheap pre-checks of case-insensitive patterns.

    Wherever an ``re.IGNORECASE`` pattern made of ASCII letters matches ``text``, its lower-case
    letters appear in the result, so ``"word" not in casefolded(text)`` proves no match. When
    the result is as long as ``text``, every character was lowered one for one, so offsets agree.
    """
    if not text.isascii():
        for twin, letter in _CASE_TWINS:  # str.replace beats str.translate by far here
            if twin in text:
                text = text.replace(twin, letter)
    return text.lower()

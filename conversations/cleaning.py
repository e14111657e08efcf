"""Every person's text is cleaned here on its way in, before anything reads or stores it.

Control characters (C0, C1, NUL), zero-width and bidi format characters and lone surrogates
come from copy-paste, odd keyboards or on purpose. Stored, they break what is built from the
rows later (openpyxl refuses them in a cell, a .docx cannot hold them, a bidi override turns a
name around on screen) and a name of three NULs passes any length check. So the engine passes
the whole event through `clean_event` once: names, typed text (answers, evidence, narratives,
comments), captions and file names. Vietnamese letters and their combining marks are kept and
composed (NFC), so "Đắk" typed with combining marks is stored as the same word typed whole.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from conversations.events import Event, EventKind

_DROPPED = frozenset({"Cc", "Cf", "Cs"})  # controls, invisible format characters, surrogates
_LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"}


def clean_text(text: str, *, multiline: bool = True) -> str:
    """`text` without control or invisible characters, in NFC.

    Multi-line text keeps its line breaks (any convention becomes "\\n") and tabs; a
    single-line field (a name, a file name) gets a space for each. Nothing else is changed:
    spaces are tidied by whoever reads the field (a name collapses them, evidence keeps them).
    """
    if text.isascii() and text.isprintable():
        return text  # the common case, unchanged
    for mark, newline in _LINE_BREAKS.items():
        text = text.replace(mark, newline)
    kept = "".join(_kept(char, multiline) for char in text)
    return unicodedata.normalize("NFC", kept)


def _kept(char: str, multiline: bool) -> str:
    if char in "\n\t":
        return char if multiline else " "
    if unicodedata.category(char) in _DROPPED or _noncharacter(char):
        return ""
    return char


def _noncharacter(char: str) -> bool:
    """U+FDD0…U+FDEF and the last two code points of every plane: never text."""
    point = ord(char)
    return 0xFDD0 <= point <= 0xFDEF or (point & 0xFFFE) == 0xFFFE


def clean_event(event: Event) -> Event:
    """The event with every text a person wrote cleaned (a button's token is ours: kept)."""
    sender = replace(event.sender, name=clean_text(event.sender.name, multiline=False))
    payload = event.payload if event.kind is EventKind.CHOICE else clean_text(event.payload)
    file = event.file
    if file is not None:
        file = replace(
            file,
            file_name=_optional(file.file_name, multiline=False),
            caption=_optional(file.caption, multiline=True),
        )
    return replace(event, sender=sender, payload=payload, file=file)


def _optional(text: str | None, *, multiline: bool) -> str | None:
    return None if text is None else clean_text(text, multiline=multiline)


_EDGE_PUNCTUATION = " .,;:!?…\"'“”‘’()[]"


def word_form(text: str) -> str:
    """Short typed text as a word to match against choices and commands.

    Phones add what a person did not mean as part of the word: a full stop ("Xong."), a
    full-width form from an East Asian keyboard ("ｘｏｎｇ", "１０"). The full-width forms are
    made plain; punctuation at either end is dropped. Used only to *recognise* a word: what
    is stored (evidence, narratives) is the text as cleaned by `clean_text`.
    """
    return text.translate(_FULLWIDTH).strip(_EDGE_PUNCTUATION + "\n\t")


# The full-width forms of ASCII (U+FF01…U+FF5E) and the ideographic space, as plain ASCII; not
# NFKC, which would also read "²" as "2" (a superscript is no answer anyone meant).
_FULLWIDTH = {0xFF01 + n: 0x21 + n for n in range(0x5E)} | {0x3000: 0x20}

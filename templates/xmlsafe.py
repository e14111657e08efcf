"""Text that an XML document can hold: what the .docx and .xlsx writers put in their files.

New text is cleaned on its way in (`conversations.cleaning`), but rows stored before that may
hold a NUL or another control character, and one such character makes openpyxl refuse the cell
(IllegalCharacterError) or python-docx the paragraph: the whole workbook or report would then
fail for good. The writers pass every text through here, so a stored row never stops them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Outside XML 1.0's Char production (tab, newline and carriage return are allowed).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """`text` without the characters XML cannot hold."""
    return _NOT_XML.sub("", text)


def xml_safe_tree(value: Any) -> Any:
    """Every string inside `value` (dicts, lists, tuples; other values as they are) made safe."""
    if isinstance(value, str):
        return xml_safe(value)
    if isinstance(value, Mapping):
        return {key: xml_safe_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [xml_safe_tree(item) for item in value]
    if isinstance(value, tuple):
        return tuple(xml_safe_tree(item) for item in value)
    return value

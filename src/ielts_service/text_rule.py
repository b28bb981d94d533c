"""The one rule for every string a client sends: printable text, no hidden reordering.

Refused: Unicode category Cc (C0 controls with NUL, tab and newline, DEL, C1 controls) and
every Bidi_Control character (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069): the
embeddings, overrides and isolates make stored text read differently from what it is (the
"Trojan Source" trick), and the marks have no use in a topic, a key name or a filter.
"""

from __future__ import annotations

import re

# Cc is exactly U+0000-U+001F and U+007F-U+009F.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def check_text(value: str) -> None:
    """Raise ValueError naming the first forbidden character, if any."""
    found = _FORBIDDEN.search(value)
    if found:
        raise ValueError(
            f"must not contain control or bidirectional formatting characters "
            f"(found U+{ord(found.group()):04X} at position {found.start()})"
        )

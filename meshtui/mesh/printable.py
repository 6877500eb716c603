"""Text from resources made safe for a terminal: names, labels and annotations are data, and a
control character in them (an escape, an OSC sequence, a bidi override) is shown, never run.
Every interface passes such text through here."""

from __future__ import annotations

import unicodedata


def printable(text: str) -> str:
    """Make text safe for a terminal: control characters (escapes, OSC) are shown, not run."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)

"""Where a check finding's matched text occurs in an item, with the text marked, for a reviewer.

A finding keeps the term it matched (a negative-list item, a sensitive word) or, for personal
data, a masked copy (``110**********1234``): the first three and last four characters locate
the real number again without storing it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

CONTEXT = 30


@dataclass(frozen=True)
class Place:
    where: str  # the field's Chinese label
    snippet: Markup  # escaped text around the match, the match in <mark>


def pattern(excerpt: str) -> re.Pattern[str] | None:
    if not excerpt:
        return None
    masked = re.fullmatch(r"(.{3})(\*+)(.{4})", excerpt)
    if masked:
        head, stars, tail = masked.groups()
        gap = len(stars)
        return re.compile(re.escape(head) + r"[0-9Xx\- ]{" + str(gap) + "," + str(gap + 4) + "}"
                          + re.escape(tail))
    return re.compile(re.escape(excerpt))


def places(excerpt: str, texts: list[tuple[str, str]], *, limit: int = 5) -> list[Place]:
    """Up to ``limit`` occurrences of ``excerpt`` in ``texts`` ((label, text) pairs)."""
    found: list[Place] = []
    regex = pattern(excerpt)
    if regex is None:
        return found
    for label, text in texts:
        for match in regex.finditer(text):
            start, end = match.span()
            lead = max(0, start - CONTEXT)
            tail = min(len(text), end + CONTEXT)
            snippet = ("…" if lead else "") + escape(text[lead:start]) + "<mark>" + \
                escape(text[start:end]) + "</mark>" + escape(text[end:tail]) + ("…" if tail < len(text) else "")
            found.append(Place(label, Markup(snippet)))
            if len(found) >= limit:
                return found
    return found

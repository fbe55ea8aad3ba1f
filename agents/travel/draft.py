"""A readable draft of a plan from the beginning of the model's JSON, while it streams.

The model answers with one JSON object (summary, then days with a title and activities); until it is
complete it cannot be parsed, but its string fields can be read as they come. The draft is progress
only: the parsed, checked plan replaces it.
"""

from __future__ import annotations

import json
import re

# a "summary" / "title" / "name" field and its string value, which may still be cut off at the end
_FIELD = re.compile(r'"(summary|title|name)"\s*:\s*"((?:[^"\\]|\\.)*)(")?')


def draft_of(prefix: str) -> str:
    """Markdown of what the JSON so far says: the summary, each day's title in bold, its activities listed.

    A field still being written is the last line, without its end of line: every complete line ends with one.
    """
    lines: list[str] = []
    for match in _FIELD.finditer(prefix):
        field, raw, closed = match.group(1), match.group(2), match.group(3)
        text = _unescape(raw).strip()
        line = f"**{text}**" if field == "title" else f"- {text}" if field == "name" else text
        if not closed:  # still being written: the last line, without its end of line
            return "".join(f"{done}\n" for done in lines) + (line if text else "")
        if text:
            lines.append(line)
    return "".join(f"{done}\n" for done in lines)


def _unescape(raw: str) -> str:
    try:
        return str(json.loads(f'"{raw}"'))
    except ValueError:  # cut inside an escape
        return raw.rsplit("\\", 1)[0]

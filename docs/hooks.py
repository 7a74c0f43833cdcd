"""MkDocs hooks: pages generated from the code, so they cannot drift from it.

- `<!-- fault-matrix -->` becomes the table of `tests/test_fault_matrix.py`'s rows;
- `<!-- modules -->` becomes the modules grouped by room, each with its docstring's first
  paragraph.
"""

from __future__ import annotations

import ast
import pathlib
import sys
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent


def fault_matrix() -> str:
    sys.path.insert(0, str(ROOT))
    try:
        from tests.test_fault_matrix import ROWS
    finally:
        sys.path.remove(str(ROOT))
    lines = ["| fault | outcome | token requests |", "|---|---|---:|"]
    for row in ROWS:
        if row.error is None:
            outcome = "a token" if row.requests == 1 else "retried, then a token"
        else:
            outcome = f"`{row.error.__name__}`" + (f' "{row.message}"' if row.message else "")
        lines.append(f"| {row.name} | {outcome} | {row.requests} |")
    return "\n".join(lines)


# The rooms, from the faces down to the ground (docs/architecture.md explains the order).
ROOMS = [
    ("", "The front doors"),
    ("cli", "The command line"),
    ("web", "The web consent flow"),
    ("integrations", "SDK integrations"),
    ("mcp", "MCP"),
    ("testing", "The emulator and the test kit"),
    ("_auth", "AdsAuth"),
    ("_logins", "Logins"),
    ("_refresh", "Refresh"),
    ("_stores", "Stores"),
    ("_lwa", "Login with Amazon"),
    (".", "The ground"),
]


def first_paragraph(path: pathlib.Path) -> str:
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    return " ".join(docstring.split("\n\n")[0].split()).replace("|", "/")


def room_of(path: pathlib.Path, package: pathlib.Path) -> str:
    parts = path.relative_to(package).parts
    if len(parts) > 1:
        return parts[0]
    return "" if parts[0] in ("__init__.py", "__main__.py") else "."


def modules() -> str:
    """The package's modules grouped by room, each with its docstring's first paragraph."""
    package = ROOT / "amazon_ads_auth"
    by_room: dict[str, list[pathlib.Path]] = {}
    for path in sorted(package.rglob("*.py")):
        by_room.setdefault(room_of(path, package), []).append(path)
    # A room not named in ROOMS yet is still listed (under its folder's name), above the
    # ground; name it in ROOMS to give it its place and title.
    known = [room for room, _ in ROOMS]
    new_rooms = [(room, room) for room in sorted(set(by_room) - set(known))]
    sections = []
    for room, title in [*ROOMS[:-1], *new_rooms, ROOMS[-1]]:
        paths = by_room.get(room)
        if not paths:
            continue
        heading = f"### {title}" + (f" (`{room}/`)" if room not in ("", ".") else "")
        lines = [heading, ""]
        front = package / room / "__init__.py"
        if room not in ("", ".") and front.exists():
            lines += [first_paragraph(front), ""]
        lines += ["| module | what it is for |", "|---|---|"]
        for path in paths:
            if room not in ("", ".") and path == front:
                continue
            name = path.relative_to(package).with_suffix("").as_posix().replace("/", ".")
            lines.append(f"| `{name}` | {first_paragraph(path)} |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if "<!-- fault-matrix -->" in markdown:
        markdown = markdown.replace("<!-- fault-matrix -->", fault_matrix())
    if "<!-- modules -->" in markdown:
        markdown = markdown.replace("<!-- modules -->", modules())
    return markdown

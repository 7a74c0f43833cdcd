"""The README and the docs pages as the tests read them: their Python blocks, each with
the `<!-- not run: reason -->` mark a block that cannot run carries."""

from __future__ import annotations

import dataclasses
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = {"README.md": ROOT / "README.md"} | {
    f"docs/{p.name}": p for p in sorted((ROOT / "docs").glob("*.md"))
}
_BLOCK = re.compile(r"(?:<!-- not run: (?P<reason>[^>]*?) -->\n)?```python\n(?P<code>.*?)```", re.S)


@dataclasses.dataclass(frozen=True)
class Block:
    page: str
    code: str
    not_run: str | None  # the reason it cannot run, or None


def text(page: str) -> str:
    return PAGES[page].read_text()


def blocks(page: str, after: str | None = None) -> list[Block]:
    """The page's Python blocks, in order (from the heading `after` on, if given)."""
    body = text(page)
    if after is not None:
        body = body[body.index(after) :]
    return [Block(page, m["code"], m["reason"]) for m in _BLOCK.finditer(body)]

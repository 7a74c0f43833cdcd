"""MkDocs hooks: pages generated from the code, so they cannot drift from it.

- `<!-- fault-matrix -->` becomes the table of `tests/test_fault_matrix.py`'s rows;
- `<!-- modules -->` becomes the list of modules with their first docstring line.
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


def modules() -> str:
    package = ROOT / "amazon_ads_auth"
    lines = ["| module | what it is for |", "|---|---|"]
    for path in sorted(package.rglob("*.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        first = " ".join(docstring.split("\n\n")[0].split())
        name = path.relative_to(package).with_suffix("").as_posix().replace("/", ".")
        lines.append(f"| `{name}` | {first.replace('|', '/')} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if "<!-- fault-matrix -->" in markdown:
        markdown = markdown.replace("<!-- fault-matrix -->", fault_matrix())
    if "<!-- modules -->" in markdown:
        markdown = markdown.replace("<!-- modules -->", modules())
    return markdown

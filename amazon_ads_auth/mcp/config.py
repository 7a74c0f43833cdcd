"""`amazon-ads-auth mcp config`: the assistant's JSON that starts the stdio bridge.

The entry names a command and its arguments (which login, which account), never a token
or a secret: the bridge reads the stored login each time it starts. `--write` merges the
entry into the assistant's file (other servers kept), after copying the old file to a
backup, and shows the change as a diff.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from .._errors import ConfigurationError

SERVER_NAME = "amazon-ads"
CLIENTS = ("claude-desktop", "claude-code", "cursor", "kiro")


@dataclasses.dataclass(frozen=True)
class BridgeChoice:
    """What the bridge is started with (all optional: the stored login decides)."""

    store_key: str | None = None
    profile_id: str | None = None
    account_id: str | None = None
    region: str | None = None
    lite: bool = False

    def arguments(self) -> list[str]:
        args = ["-m", "amazon_ads_auth", "mcp", "stdio"]
        for flag, value in (
            ("--store-key", self.store_key),
            ("--profile-id", self.profile_id),
            ("--account-id", self.account_id),
            ("--region", self.region),
        ):
            if value is not None:
                args += [flag, value]
        if self.lite:
            args.append("--lite")
        return args


def server_entry(client: str, choice: BridgeChoice, python: str | None = None) -> dict[str, Any]:
    """The `mcpServers` entry for `client`: this Python runs the bridge (so the assistant
    finds the same installation, whatever its PATH).

    Raises: ConfigurationError for an unknown client."""
    if client not in CLIENTS:
        raise ConfigurationError(f"unknown client {client!r}: use one of {', '.join(CLIENTS)}")
    entry: dict[str, Any] = {"command": python or sys.executable, "args": choice.arguments()}
    if client == "claude-code":
        entry = {"type": "stdio", **entry, "env": {}}
    elif client == "kiro":
        entry = {**entry, "env": {}, "disabled": False, "autoApprove": []}
    return entry


def config_document(client: str, choice: BridgeChoice, name: str = SERVER_NAME) -> dict[str, Any]:
    """The whole JSON document to print: `{"mcpServers": {name: entry}}`."""
    return {"mcpServers": {name: server_entry(client, choice)}}


def default_path(client: str) -> Path:
    """Where `client` reads its MCP servers (claude-code: the project's .mcp.json here)."""
    home = Path.home()
    if client == "claude-desktop":
        if sys.platform == "darwin":
            base = home / "Library" / "Application Support"
        elif sys.platform == "win32":
            base = Path(os.environ.get("APPDATA", home / "AppData" / "Roaming"))
        else:
            base = Path(os.environ.get("XDG_CONFIG_HOME", home / ".config"))
        return base / "Claude" / "claude_desktop_config.json"
    if client == "claude-code":
        return Path.cwd() / ".mcp.json"
    if client == "cursor":
        return home / ".cursor" / "mcp.json"
    if client == "kiro":
        return home / ".kiro" / "settings" / "mcp.json"
    raise ConfigurationError(f"unknown client {client!r}: use one of {', '.join(CLIENTS)}")


@dataclasses.dataclass(frozen=True)
class Written:
    path: Path
    backup: Path | None
    diff: str


def write_config(path: Path, document: dict[str, Any]) -> Written:
    """Merge `document`'s servers into the JSON file at `path` (created if missing), after
    copying the old file next to it (`.bak-<time>`); returns the diff.

    Raises: ConfigurationError when the file is not a JSON object (it is left alone)."""
    old_text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        current = json.loads(old_text) if old_text.strip() else {}
    except ValueError:
        raise ConfigurationError(
            f"{path} is not valid JSON: fix it or move it away, then run this again "
            "(it was not changed)"
        ) from None
    if not isinstance(current, dict) or not isinstance(current.get("mcpServers", {}), dict):
        raise ConfigurationError(f"{path} does not hold a JSON object with mcpServers: not changed")
    merged = {**current, "mcpServers": {**current.get("mcpServers", {}), **document["mcpServers"]}}
    new_text = json.dumps(merged, indent=2) + "\n"
    backup = None
    if path.exists():
        backup = path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(path, backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(new_text, encoding="utf-8")
    os.replace(temporary, path)
    diff = "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=str(backup or "/dev/null"),
            tofile=str(path),
        )
    )
    return Written(path, backup, diff)

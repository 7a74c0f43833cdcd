"""A real keyring backend that keeps secrets in a JSON file: for tests on machines without
an OS keychain (CI). It is a full `keyring.backend.KeyringBackend`, not a mock."""

from __future__ import annotations

import json
import pathlib
import threading

import keyring.backend
import keyring.errors


class FileKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self, path: pathlib.Path) -> None:
        super().__init__()
        self.path = path
        self._guard = threading.Lock()

    def _all(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        data: dict[str, str] = json.loads(self.path.read_text())
        return data

    def get_password(self, service: str, username: str) -> str | None:
        with self._guard:
            return self._all().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._guard:
            data = self._all()
            data[f"{service}\0{username}"] = password
            self.path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        with self._guard:
            data = self._all()
            if data.pop(f"{service}\0{username}", None) is None:
                raise keyring.errors.PasswordDeleteError("no such password")
            self.path.write_text(json.dumps(data))

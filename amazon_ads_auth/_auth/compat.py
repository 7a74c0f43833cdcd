"""Optional httpx2 support, paid for only by programs that use httpx2.

httpx2 (the maintained successor of httpx) only keeps an auth object that is an instance of
its own `httpx2.Auth`; anything else callable is wrapped as a plain function. So AdsAuth
must derive from `httpx2.Auth`. Importing httpx2 costs about as much as the rest of this
package, which a script on requests or httpx should not pay. So AdsAuth is created with an
empty stand-in, `Httpx2Auth`, among its bases, and `adopt_httpx2` puts `httpx2.Auth` in its
place: at once if httpx2 is already imported, else the moment anything imports it (a
one-shot import hook that wraps httpx2's own loader). No httpx2 client can exist before
that, so every one sees an `httpx2.Auth`. We never alias modules in sys.modules.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any


class Httpx2Auth:
    """Where `httpx2.Auth` goes among AdsAuth's bases (empty until httpx2 is imported)."""


def have_httpx2(cls: type) -> bool:
    """Whether `cls` already derives from httpx2's Auth."""
    return any(base.__module__.startswith("httpx2") for base in cls.__mro__)


def adopt_httpx2(cls: type) -> None:
    """Give `cls` httpx2's Auth as a base now, or as soon as httpx2 is imported."""
    module = sys.modules.get("httpx2")
    if module is not None:
        _replace_stand_in(cls, module)
    elif "httpx2" not in sys.modules and importlib.util.find_spec("httpx2") is not None:
        sys.meta_path.insert(0, _WhenImported(cls))


def _replace_stand_in(cls: type, httpx2: types.ModuleType) -> None:
    cls.__bases__ = tuple(httpx2.Auth if b is Httpx2Auth else b for b in cls.__bases__)


class _WhenImported(importlib.abc.MetaPathFinder):
    """Finds nothing itself: on `import httpx2` it steps aside, lets the real finder find
    httpx2, and wraps its loader so `cls` gets the base right after httpx2 has loaded."""

    def __init__(self, cls: type) -> None:
        self._cls = cls

    def find_spec(
        self, fullname: str, path: Any = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "httpx2":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenAdopt(spec.loader, self._cls)
        return spec


class _ThenAdopt(importlib.abc.Loader):
    def __init__(self, loader: Any, cls: type) -> None:
        self._loader = loader
        self._cls = cls

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        created: types.ModuleType | None = self._loader.create_module(spec)
        return created

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        _replace_stand_in(self._cls, module)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self._loader, name)

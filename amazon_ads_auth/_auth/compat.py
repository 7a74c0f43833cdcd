"""Optional httpx2 support, paid for only by programs that make an AdsAuth with httpx2
installed.

httpx2 (the maintained successor of httpx) keeps an auth object only if it is an instance of
its own `httpx2.Auth`, a plain class (not an ABC, so nothing can be registered with it);
anything else callable is wrapped as a plain function. So an AdsAuth must be an instance of
a class deriving from `httpx2.Auth`. Importing httpx2 costs about 15 % of `import requests,
httpx`, which a script that only imports AdsAuth should not pay.

The mechanism, chosen among the explicit ones: `AdsAuth` itself derives from requests' and
httpx's bases only. `AdsAuth.__init__` first gives the new instance the class
`httpx2_class(type(self))`: the class itself when httpx2 is not installed (`find_spec`,
asked once), else a subclass of it and `httpx2.Auth`, created once per class on first need
and cached, named like it (so reprs and tracebacks read `amazon_ads_auth.AdsAuth`) and
adding no state (`__slots__ = ()`). Its MRO is always (AdsAuth, ..., httpx.Auth,
httpx2.Auth, object), whatever was imported first; no class's `__bases__` is rewritten, no
import hook is installed and no module is aliased. Done in `__init__` rather than
`__new__`, so `inspect.signature(AdsAuth)` still shows the constructor's arguments. The
cost of importing httpx2 moves from `from amazon_ads_auth import AdsAuth` to the first
AdsAuth made, and only where httpx2 is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from typing import Any

_made: dict[type, type] = {}
_lock = threading.Lock()
_installed: bool | None = None


def have_httpx2(cls: type) -> bool:
    """Whether `cls` derives from httpx2's Auth."""
    return any(base.__module__.startswith("httpx2") for base in cls.__mro__)


def httpx2_installed() -> bool:
    """Whether httpx2 can be imported here (asked once; False when it is blocked)."""
    global _installed
    if _installed is None:
        try:
            _installed = importlib.util.find_spec("httpx2") is not None
        except (ImportError, ValueError):  # a broken or blocked install
            _installed = False
    return _installed


def httpx2_class(cls: type) -> type:
    """The class an instance of `cls` is made as: `cls` when httpx2 is not installed (or
    `cls` already derives from httpx2.Auth), else its httpx2 twin, made once."""
    made = _made.get(cls)
    if made is not None:
        return made
    with _lock:
        made = _made.get(cls)
        if made is None:
            made = cls if have_httpx2(cls) or not httpx2_installed() else _twin(cls)
            _made[cls] = made
    return made


def _twin(cls: type) -> type:
    httpx2: Any = importlib.import_module("httpx2")
    namespace = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "__slots__": (),  # adds nothing to the instances
    }
    return type(cls)(cls.__name__, (cls, httpx2.Auth), namespace)

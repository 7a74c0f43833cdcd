"""Installing an adapter's patches once per process, and undoing them in any order.

An adapter that patches an SDK process-wide serves one AdsAuth: a second install with a
different AdsAuth is refused (clients built for advertiser A would otherwise send B's
token). Every patched attribute keeps a stack of the patches installed on it: undoing one
removes it from the stack and, if it was the one in place, puts back the newest patch still
installed, else what was there before any. So undoing two installs in either order never
leaves an undone patch in place, and never removes a newer one (including someone else's).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .._errors import ConfigurationError

_serving: dict[str, tuple[Any, int]] = {}  # adapter name -> (its AdsAuth, installs)
_stacks: dict[tuple[int, str], tuple[Any, list[Any]]] = {}  # (owner, attr) -> (base, patches)
_guard = threading.Lock()


def install(
    name: str, auth: Any, patches: list[tuple[Any, str, Any]], how_to_route: str
) -> Callable[[], None]:
    """`setattr(owner, attribute, value)` for each patch; returns the undo.

    Raises: ConfigurationError when `name` already serves another AdsAuth."""
    with _guard:
        current, count = _serving.get(name, (auth, 0))
        if current is not auth:
            raise ConfigurationError(
                f"{name} is already installed for another AdsAuth ({current!r}): one AdsAuth "
                f"serves it per process. {how_to_route}; or call the first install's undo "
                "before installing another"
            )
        for owner, attr, value in patches:
            _, stack = _stacks.setdefault((id(owner), attr), (getattr(owner, attr), []))
            stack.append(value)
            setattr(owner, attr, value)
        _serving[name] = (auth, count + 1)
    done = False

    def undo() -> None:
        nonlocal done
        with _guard:
            if done:
                return
            done = True
            for owner, attr, value in patches:
                base, stack = _stacks[(id(owner), attr)]
                stack.remove(value)
                if getattr(owner, attr) is value:  # ours is in place: the next one down
                    setattr(owner, attr, stack[-1] if stack else base)
                if not stack:
                    del _stacks[(id(owner), attr)]
            served, count = _serving[name]
            if count <= 1:
                del _serving[name]
            else:
                _serving[name] = (served, count - 1)

    return undo

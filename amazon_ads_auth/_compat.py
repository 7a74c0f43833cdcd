"""Optional httpx2 support: its Auth base class when installed, an empty stand-in otherwise.

httpx2 (the maintained successor of httpx) only keeps an auth object that is an instance of
its own `httpx2.Auth`; anything else callable is wrapped as a plain function. So AdsAuth also
derives from `httpx2.Auth` when httpx2 is importable. We never alias modules in sys.modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:

    class Httpx2Auth:
        """Type-checking stand-in, so mypy gives the same answer with or without httpx2."""

else:
    try:
        from httpx2 import Auth as Httpx2Auth
    except ImportError:

        class Httpx2Auth:
            """httpx2 is not installed: nothing to inherit."""


HAVE_HTTPX2 = Httpx2Auth.__module__.startswith("httpx2")

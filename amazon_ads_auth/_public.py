"""`@public`: a public class shows the package in reprs and tracebacks
(`amazon_ads_auth.AdsAuth`, not `amazon_ads_auth._auth.AdsAuth`), and pickle finds it there
by the same name, however it was first imported."""

from __future__ import annotations

from typing import TypeVar

_T = TypeVar("_T", bound=type)


def public(cls: _T) -> _T:
    cls.__module__ = "amazon_ads_auth"
    return cls

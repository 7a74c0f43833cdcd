"""The Amazon Ads API model: bearer-token and client-id checks, profiles, and a few routes
with Amazon's shapes (SP v3 campaign list, Ads API v1 query, report download redirect),
plus the demo data they answer with.

An unknown profile id in `Amazon-Advertising-API-Scope` is refused the way Amazon refuses
it (401 UNAUTHORIZED, "Not authorized to access scope"), so a tool that sends the wrong
profile fails here as it would in production.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ._accounts import Accounts
from ._lwa_model import Access
from ._wire import Answer, Request, json_answer, random_token


@dataclasses.dataclass(frozen=True)
class ApiRequest:
    """An Ads API request as the emulator saw it."""

    method: str
    path: str
    headers: Mapping[str, str]
    status: int


class AdsSettings(Protocol):
    """What the model reads from its emulator on every request (tests change these)."""

    profiles: list[dict[str, Any]]
    report_location: str | None
    accounts: Accounts


class AdsModel:
    """Answers Ads API requests; `valid_access` says whether a bearer token is good."""

    def __init__(self, settings: AdsSettings, valid_access: Callable[[str], Access | None]) -> None:
        self._settings = settings
        self._valid_access = valid_access
        self.requests: Counter[int] = Counter()  # by status
        self.log: list[ApiRequest] = []
        self._guard = threading.Lock()

    def answer(self, request: Request) -> Answer:
        status, extra, payload = self._route(request.method, request.target, request.headers)
        with self._guard:
            self.requests[status] += 1
            seen = ApiRequest(request.method, request.target, dict(request.headers), status)
            self.log.append(seen)
        return json_answer(status, payload, extra)

    def reset(self) -> None:
        with self._guard:
            self.requests.clear()
            self.log.clear()

    def _route(
        self, method: str, target: str, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        authorization = headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return 401, {}, {"code": "UNAUTHORIZED", "details": "Authentication failed"}
        access = self._valid_access(authorization[7:])
        if access is None:
            return 401, {}, {"code": "UNAUTHORIZED", "details": "Unauthorized"}
        if headers.get("amazon-advertising-api-clientid") != access.client_id:
            return 401, {}, {"code": "UNAUTHORIZED", "details": "Invalid client id"}
        route = target.partition("?")[0]
        profiles = self._settings.accounts.profiles_of(
            access.grant.account, self._settings.profiles
        )
        if method == "GET" and route == "/v2/profiles":
            return 200, {}, profiles
        if route.startswith("/v2/reports/") and route.endswith("/download"):
            return self._report(route)
        if method == "GET" and route.startswith("/v2/profiles/"):
            wanted = route.rsplit("/", 1)[1]
            found = [p for p in profiles if str(p.get("profileId")) == wanted]
            if not found:
                return 404, {}, {"code": "NOT_FOUND", "details": "Profile not found"}
            return 200, {}, found[0]
        scope = headers.get("amazon-advertising-api-scope")
        account = headers.get("amazon-ads-accountid")
        if scope is None and account is None:
            return 400, {}, {"code": "400", "details": "Scope header is missing"}
        if scope is not None and all(str(p.get("profileId")) != scope for p in profiles):
            details = f"Not authorized to access scope {scope}"
            return 401, {}, {"code": "UNAUTHORIZED", "details": details}
        if method == "POST" and route == "/sp/campaigns/list":
            campaigns = [demo_campaign("SPONSORED_PRODUCTS", v3=True)]
            return 200, {}, {"campaigns": campaigns, "totalResults": len(campaigns)}
        if method == "POST" and route == "/adsApi/v1/query/campaigns":
            return 200, {}, {"campaigns": [demo_campaign("SPONSORED_PRODUCTS", v3=False)]}
        echo = {"ok": True, "method": method, "path": target, "scope": scope, "accountId": account}
        return 200, {}, echo

    def _report(self, route: str) -> tuple[int, dict[str, str], Any]:
        location = self._settings.report_location
        if location is None:
            return 404, {}, {"code": "NOT_FOUND", "details": "Report not found"}
        report_id = route.split("/")[3]
        signed = f"{location}/{report_id}?X-Amz-Signature={random_token(16)}"
        return 307, {"Location": signed}, None


DEMO_PROFILE_ID = 3141592653589793


def demo_profile() -> dict[str, Any]:
    """The sandbox's one profile, with the fields `GET /v2/profiles` returns."""
    return {
        "profileId": DEMO_PROFILE_ID,
        "countryCode": "US",
        "currencyCode": "USD",
        "dailyBudget": 999999999.0,
        "timezone": "America/Los_Angeles",
        "accountInfo": {
            "marketplaceStringId": "ATVPDKIKX0DER",
            "id": "A2EMULATOR0DEMO",
            "type": "seller",
            "name": "Emulator Demo Store",
        },
    }


def demo_campaign(ad_product: str, *, v3: bool) -> dict[str, Any]:
    """One campaign as the SP v3 list (v3) or the Ads API v1 query returns it."""
    if v3:
        return {
            "campaignId": "271828182845",
            "name": "Emulator Campaign",
            "state": "ENABLED",
            "targetingType": "AUTO",
            "budget": {"budget": 10.0, "budgetType": "DAILY"},
            "startDate": "2026-01-01",
            "dynamicBidding": {"strategy": "LEGACY_FOR_SALES"},
        }
    return {
        "campaignId": "271828182845",
        "adProduct": ad_product,
        "name": "Emulator Campaign",
        "state": "ENABLED",
        "budgets": [{"budgetType": "MONETARY", "recurrenceTimePeriod": "DAILY"}],
    }

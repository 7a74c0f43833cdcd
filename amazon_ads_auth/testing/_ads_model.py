"""The Amazon Ads API model: the route table, the checks Amazon makes on every request
(bearer token, client id, Scope), profiles, and a few routes with Amazon's shapes (SP v3
campaign list, Ads API v1 query, report download redirect), plus the demo data they answer
with.

The order is Amazon's as far as it shows: a path no route knows answers 404 NOT_FOUND and a
known path with another method 405; then a request without a valid bearer token answers 401
UNAUTHORIZED, one without `Amazon-Advertising-API-ClientId` 403, one whose client id is not
the token's 401; then a route that needs a Scope answers 400 "Scope header is missing"
without one, and 401 "Not authorized to access scope" for a profile the account does not
have. Only then does the route's handler answer. Tests add routes (`Emulator.route`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from ._accounts import Accounts
from ._lwa_model import Access
from ._routes import (
    ApiRequest,
    ApiResponse,
    Headers,
    RouteAnswer,
    RouteHandler,
    RouteTable,
    as_response,
    parse_query,
)
from ._wire import Answer, Request, json_answer, random_token

logger = logging.getLogger(__name__)


def _error(status: int, code: str, details: str) -> ApiResponse:
    return ApiResponse(status, {"code": code, "details": details})


def _no_route(request: ApiRequest, allowed: list[str]) -> ApiResponse:
    """404 for a path no route knows; 405 (with Allow) for one known with other methods."""
    if allowed:
        details = f"{request.method} is not allowed on {request.path}; use {' or '.join(allowed)}"
        return ApiResponse(
            405, {"code": "METHOD_NOT_ALLOWED", "details": details}, {"Allow": ", ".join(allowed)}
        )
    return _error(
        404,
        "NOT_FOUND",
        f"Could not find resource for full path: {request.path} (the emulator does not "
        "model it: Emulator.route(method, path, handler) adds it)",
    )


def _scope_refusal(request: ApiRequest, profiles: list[dict[str, Any]]) -> ApiResponse | None:
    """Amazon's refusal of a request without a Scope (or Amazon-Ads-AccountId), or with a
    profile the account does not have; None when it may go on."""
    scope = request.profile_id
    if scope is None and "amazon-ads-accountid" not in request.headers:
        return _error(400, "400", "Scope header is missing")
    if scope is not None and all(str(p.get("profileId")) != scope for p in profiles):
        return _error(401, "UNAUTHORIZED", f"Not authorized to access scope {scope}")
    return None


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
        self.routes = RouteTable()
        for method, pattern, handler, needs_scope in (
            ("GET", "/v2/profiles", self._profiles, False),
            ("GET", "/v2/profiles/{profileId}", self._profile, False),
            ("GET", "/v2/reports/{reportId}/download", self._report, True),
            ("POST", "/sp/campaigns/list", self._sp_campaigns, True),
            ("POST", "/adsApi/v1/query/campaigns", self._v1_campaigns, True),
        ):
            self.routes.add(method, pattern, handler, needs_scope=needs_scope, builtin=True)

    def add_route(
        self, method: str, pattern: str, handler: RouteHandler, *, needs_scope: bool
    ) -> None:
        self.routes.add(method, pattern, handler, needs_scope=needs_scope, builtin=False)

    def answer(self, request: Request) -> Answer:
        seen = ApiRequest(
            request.method,
            request.path,
            Headers(request.headers),
            query=parse_query(request.query),
            body=request.body,
        )
        response, seen = self._respond(seen)
        with self._guard:
            self.requests[response.status] += 1
            self.log.append(dataclasses.replace(seen, status=response.status))
        return json_answer(response.status, response.json, response.headers)

    def reset(self) -> None:
        with self._guard:
            self.requests.clear()
            self.log.clear()

    def _respond(self, request: ApiRequest) -> tuple[ApiResponse, ApiRequest]:
        """The answer, and the request as far as it was understood (with the route's path
        parameters and the token's account once those are known)."""
        route, params, allowed = self.routes.find(request.method, request.path)
        if route is None:
            return _no_route(request, allowed), request
        access = self._access(request)
        if isinstance(access, ApiResponse):
            return access, request
        account = access.grant.account
        profiles = self._settings.accounts.profiles_of(account, self._settings.profiles)
        if route.needs_scope:
            refusal = _scope_refusal(request, profiles)
            if refusal is not None:
                return refusal, request
        routed = dataclasses.replace(
            request, path_params=params, profiles=tuple(profiles), account=account
        )
        where = f"{route.method} {route.pattern}"
        try:
            return as_response(route.handler(routed), where), routed
        except Exception as exc:
            logger.warning("the emulator's handler of %s raised %s", where, type(exc).__name__)
            details = f"the handler of {where} raised {type(exc).__name__}: {exc}"
            return _error(500, "INTERNAL_ERROR", details), routed

    def _access(self, request: ApiRequest) -> Access | ApiResponse:
        """The bearer token's record, or Amazon's refusal of the token or the client id."""
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return _error(401, "UNAUTHORIZED", "Authentication failed")
        access = self._valid_access(authorization[7:])
        if access is None:
            return _error(401, "UNAUTHORIZED", "Unauthorized")
        if request.client_id is None:
            return _error(403, "403", "Amazon-Advertising-API-ClientId header is missing")
        if request.client_id != access.client_id:
            return _error(401, "UNAUTHORIZED", "Invalid client id")
        return access

    # ----- the routes the model answers itself ------------------------------------------------

    def _profiles(self, request: ApiRequest) -> RouteAnswer:
        return 200, list(request.profiles)

    def _profile(self, request: ApiRequest) -> RouteAnswer:
        wanted = request.path_params["profileId"]
        found = [p for p in request.profiles if str(p.get("profileId")) == wanted]
        if not found:
            return _error(404, "NOT_FOUND", "Profile not found")
        return 200, found[0]

    def _sp_campaigns(self, request: ApiRequest) -> RouteAnswer:
        campaigns = [demo_campaign("SPONSORED_PRODUCTS", v3=True)]
        return 200, {"campaigns": campaigns, "totalResults": len(campaigns)}

    def _v1_campaigns(self, request: ApiRequest) -> RouteAnswer:
        return 200, {"campaigns": [demo_campaign("SPONSORED_PRODUCTS", v3=False)]}

    def _report(self, request: ApiRequest) -> RouteAnswer:
        location = self._settings.report_location
        if location is None:
            return _error(404, "NOT_FOUND", "Report not found")
        report_id = request.path_params["reportId"]
        signed = f"{location}/{report_id}?X-Amz-Signature={random_token(16)}"
        return ApiResponse(307, None, {"Location": signed})


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

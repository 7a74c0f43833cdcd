"""A Starlette app where tenants connect their Amazon Ads accounts ("Connect Amazon Ads").

    pip install 'amazon-ads-auth[web]'
    python examples/connect_app.py --emulator     # no Amazon account needed
    python examples/connect_app.py                # your LwA client, see below

It opens on http://127.0.0.1:8000. Sign in as a tenant (a stand-in for your own sign-in: a
cookie), click Connect, consent at Amazon, and come back: the page lists every tenant with
its state and its profiles, fetched live through its own AdsAuth.

With --emulator, Amazon is the emulator on another loopback port, with a consent page where
you pick one of two Amazon accounts (alice: one profile; bob: two) or Cancel, and grants are
kept in memory. Without it, set AMAZON_ADS_CLIENT_ID, AMAZON_ADS_CLIENT_SECRET and
APP_SECRET_KEY (32 bytes or more), register http://127.0.0.1:8000/amazon-ads/callback as an
Allowed Return URL of your LwA security profile, and grants go to AMAZON_ADS_TOKEN_STORE
(default: the CLI's file store).
"""

from __future__ import annotations

import argparse
import html
import os
from datetime import timedelta

try:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, RedirectResponse, Response
    from starlette.routing import Route
except ImportError as missing:  # say which extra to install, not a traceback
    raise SystemExit(
        f"error: this example needs {missing.name}: pip install 'amazon-ads-auth[web]'"
    ) from None

import requests

from amazon_ads_auth import AdsAuthError, Login, LoginDirectory, MemoryTokenStore, open_store
from amazon_ads_auth.web import ConsentFlow, ExpiringTenant
from amazon_ads_auth.web.starlette import consent_routes

TENANTS = ("acme", "globex")
STYLE = """
body{margin:0;background:#f3f4f6;color:#1a1d21;
font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
header{background:#232f3e;color:#fff;padding:1rem 2rem;display:flex;gap:1rem;
align-items:center;justify-content:space-between}
header a{color:#fff}.who{display:flex;gap:1rem;align-items:center}
main{max-width:48rem;margin:2rem auto;padding:0 1rem}
section{background:#fff;border:1px solid #d5d9e0;border-radius:12px;padding:1.5rem;
margin-bottom:1.5rem}
h1{font-size:1.25rem;margin:0}h2{font-size:1.125rem;margin:0 0 1rem}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
.button,button{display:inline-block;padding:.5rem 1rem;border-radius:8px;border:0;
background:#0b57d0;color:#fff;font:inherit;font-weight:600;text-decoration:none;
cursor:pointer}
.secondary{background:#e5e7eb;color:#1a1d21}
.state-connected{color:#146c2e;font-weight:600}.state-not{color:#4a5260}
"""


def make_app(flow: ConsentFlow) -> Starlette:
    def tenant_of(request: Request) -> str | None:
        return request.cookies.get("tenant") or None  # your own sign-in goes here

    async def home(request: Request) -> Response:
        wanted = request.query_params.get("tenant")
        if wanted in TENANTS:  # "sign in" as this tenant
            response = RedirectResponse("/", status_code=303)
            response.set_cookie("tenant", wanted, httponly=True, samesite="lax")
            return response
        return HTMLResponse(page(flow, tenant_of(request)))

    async def sign_out(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie("tenant")
        return response

    async def disconnect(request: Request) -> Response:
        tenant = tenant_of(request)
        if tenant:
            flow.disconnect(tenant)
        return RedirectResponse("/", status_code=303)

    routes = [
        Route("/", home),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/disconnect", disconnect, methods=["POST"]),
        *consent_routes(flow, tenant=tenant_of, sign_in_url="/"),
    ]
    return Starlette(routes=routes)


def page(flow: ConsentFlow, tenant: str | None) -> str:
    """The home page: who is signed in, their Connect or Disconnect, and every tenant."""
    # Consent ends 365 days after it was given: each tenant's days left, and a banner.
    ending = {t.tenant: t for t in flow.expiring(within=timedelta(days=366))}
    with flow.directory() as directory:
        logins = {login.tenant or login.store_key: login for login in directory}
        if tenant:
            who = (
                f'<div class="who"><span id="signed-in">Signed in as <b>{html.escape(tenant)}'
                '</b></span><form action="/sign-out" method="post"><button class="secondary" '
                'id="sign-out" type="submit">Sign out</button></form></div>'
            )
            action = (
                '<form action="/disconnect" method="post"><button class="secondary" '
                f'id="disconnect-{html.escape(tenant)}" type="submit">Disconnect Amazon Ads'
                "</button></form>"
                if tenant in logins
                else '<a class="button" id="connect" href="/amazon-ads/connect">'
                "Connect Amazon Ads</a>"
            )
            about = (
                "<p>Connected: this app manages your campaigns with the profiles below.</p>"
                if tenant in logins
                else "<p>Connect your Amazon Ads account so this app can manage your "
                "campaigns. You choose the account on Amazon's page.</p>"
            )
            yours = f"<section><h2>Your Amazon Ads account</h2>{about}{action}</section>"
            if tenant in logins and tenant in ending and ending[tenant].days_left <= 30:
                yours = reconnect_banner(ending[tenant]) + yours
        else:
            links = " ".join(
                f'<a class="button" id="sign-in-{t}" href="/?tenant={t}">Sign in as {t}</a>'
                for t in TENANTS
            )
            who = "<span>Not signed in</span>"
            yours = f"<section><h2>Sign in</h2><p>{links}</p></section>"
        rows = "".join(tenant_row(directory, t, logins.get(t), ending.get(t)) for t in TENANTS)
    table = (
        "<section><h2>Tenants</h2><table id='tenants'><tr><th>Tenant</th><th>State</th>"
        f"<th>Consent ends</th><th>Advertising profiles</th></tr>{rows}</table></section>"
    )
    head = (
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>Example app</title><style>{STYLE}</style>"
    )
    body = f"<header><h1>Example app</h1>{who}</header><main>{yours}{table}</main>"
    return f'<!doctype html>\n<html lang="en"><head>{head}</head>\n<body>{body}</body></html>\n'


def reconnect_banner(ending: ExpiringTenant) -> str:
    """The banner a tenant sees when its consent ends within 30 days, with Reconnect (the
    same Connect route: a new consent replaces the grant)."""
    when = "has ended" if ending.expired else f"ends in {ending.days_left} days"
    return (
        f'<div id="reconnect" class="banner">Your Amazon Ads connection {when}. '
        '<a class="button" href="/amazon-ads/connect">Reconnect</a></div>'
    )


def tenant_row(
    directory: LoginDirectory, tenant: str, login: Login | None, ending: ExpiringTenant | None
) -> str:
    """One tenant: its state with the days left of its consent (unknown for grants older
    than the expiry rule), and its profiles as the Ads API lists them now, through its own
    AdsAuth."""
    name = html.escape(tenant)
    if login is None:
        state, shown, days = '<span class="state-not">Not connected</span>', "", ""
    else:
        state = '<span class="state-connected">Connected</span>'
        days = "unknown" if ending is None else f"in {ending.days_left} days"
        shown = live_profiles(directory, login)
    return (
        f'<tr id="tenant-{name}"><td>{name}</td><td id="state-{name}">{state}</td>'
        f'<td id="consent-{name}">{days}</td><td id="profiles-{name}">{shown}</td></tr>'
    )


def live_profiles(directory: LoginDirectory, login: Login) -> str:
    try:
        answer = requests.get(
            f"{login.api_url}/v2/profiles", auth=directory.auth(login.store_key), timeout=30
        )
        profiles = answer.json() if answer.status_code == 200 else []
        return ", ".join(
            f"{html.escape(str(p['accountInfo']['name']))} ({p['profileId']}, "
            f"{html.escape(str(p['countryCode']))})"
            for p in profiles
        )
    except (AdsAuthError, requests.RequestException, ValueError, KeyError) as exc:
        return f"profiles unavailable ({html.escape(type(exc).__name__)})"


def emulator_flow(app_url: str) -> ConsentFlow:
    """Amazon played by the emulator, with two Amazon accounts to pick on its consent page
    (and Cancel); grants kept in memory."""
    from amazon_ads_auth.testing import Emulator, account_profile

    emu = Emulator().start()
    emu.add_account("alice", [account_profile(1001, "Alice Store US")])
    emu.add_account(
        "bob",
        [
            account_profile(2001, "Bob Outdoor US"),
            account_profile(2002, "Bob Outdoor UK", country="GB", currency="GBP"),
        ],
    )
    print(f"Amazon (the emulator) is on {emu.url}", flush=True)
    return ConsentFlow(
        emu.client_id,
        emu.client_secret,
        store=MemoryTokenStore(),
        redirect_uri=f"{app_url}/amazon-ads/callback",
        secret_key=os.urandom(32),
        **emu.consent_flow_kwargs(),
    )


def amazon_flow(app_url: str) -> ConsentFlow:
    """Your LwA client, from the environment."""
    names = ("AMAZON_ADS_CLIENT_ID", "AMAZON_ADS_CLIENT_SECRET", "APP_SECRET_KEY")
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise SystemExit(f"set {', '.join(missing)} (or run with --emulator)")
    return ConsentFlow(
        os.environ["AMAZON_ADS_CLIENT_ID"],
        os.environ["AMAZON_ADS_CLIENT_SECRET"],
        store=open_store(os.environ.get("AMAZON_ADS_TOKEN_STORE", "file:")),
        redirect_uri=f"{app_url}/amazon-ads/callback",
        secret_key=os.environ["APP_SECRET_KEY"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--emulator", action="store_true", help="Amazon is the emulator")
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args()
    app_url = f"http://127.0.0.1:{options.port}"
    try:
        flow = emulator_flow(app_url) if options.emulator else amazon_flow(app_url)
    except AdsAuthError as error:  # a setting that is not usable: say which, no traceback
        raise SystemExit(f"error: {error}") from None
    print(f"Open {app_url}", flush=True)
    uvicorn.run(make_app(flow), host="127.0.0.1", port=options.port, log_level="warning")


if __name__ == "__main__":
    main()

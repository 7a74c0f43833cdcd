"""A FastAPI app where tenants connect their Amazon Ads accounts ("Connect Amazon Ads").

    python examples/connect_app.py --emulator     # no Amazon account needed
    python examples/connect_app.py                # your LwA client, see below

It opens on http://127.0.0.1:8000. Sign in as a tenant with `/?tenant=acme` (a stand-in for
your own sign-in: a cookie), click Connect, consent at Amazon, and come back: the page lists
every connected tenant (LoginDirectory) with its profiles, fetched live through AdsAuth.

With --emulator, Amazon is the emulator on another loopback port (each consent there is a
new Amazon account with profiles of its own), and grants are kept in memory. Without it,
set AMAZON_ADS_CLIENT_ID, AMAZON_ADS_CLIENT_SECRET and APP_SECRET_KEY (32 bytes or more),
register http://127.0.0.1:8000/amazon-ads/callback as an Allowed Return URL of your LwA
security profile, and grants go to AMAZON_ADS_TOKEN_STORE (default: the CLI's file store).
"""

from __future__ import annotations

import argparse
import html
import os
from typing import Any

import requests
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from amazon_ads_auth import AdsAuthError, Login, LoginDirectory, MemoryTokenStore, open_store
from amazon_ads_auth.web import ConsentFlow
from amazon_ads_auth.web.starlette import consent_routes

TENANTS = ("acme", "globex")


def make_app(flow: ConsentFlow) -> FastAPI:
    app = FastAPI(title="Connect Amazon Ads (example)")

    def tenant_of(request: Request) -> str | None:
        return request.cookies.get("tenant")  # your own sign-in goes here

    app.router.routes += consent_routes(flow, tenant=tenant_of)

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, tenant: str | None = None) -> Any:
        if tenant is not None:  # "sign in" as this tenant
            response = RedirectResponse("/", status_code=303)
            response.set_cookie("tenant", tenant, httponly=True, samesite="lax")
            return response
        return HTMLResponse(page(flow, tenant_of(request)))

    @app.post("/disconnect")
    def disconnect(request: Request) -> RedirectResponse:
        tenant = tenant_of(request)
        if tenant:
            flow.disconnect(tenant)
        return RedirectResponse("/", status_code=303)

    return app


def page(flow: ConsentFlow, tenant: str | None) -> str:
    """The home page: who is signed in, Connect, and every connected tenant."""
    switch = " ".join(f'<a href="/?tenant={t}">{t}</a>' for t in TENANTS)
    parts = [f"<h1>Connect Amazon Ads</h1><p>Sign in as: {switch}</p>"]
    if tenant:
        parts.append(
            f'<p id="signed-in">Signed in as <b>{html.escape(tenant)}</b></p>'
            '<form action="/amazon-ads/connect" method="get">'
            '<input type="hidden" name="next" value="/">'
            '<button id="connect" type="submit">Connect Amazon Ads</button></form>'
        )
    parts.append("<h2>Connected tenants</h2><ul id='tenants'>")
    with flow.directory() as directory:
        for login in directory:
            parts.append(tenant_item(directory, login, login.tenant == tenant))
    parts.append("</ul>")
    body = "\n".join(parts)
    head = '<meta charset="utf-8"><title>Connect Amazon Ads</title>'
    return f"<!doctype html>\n<html><head>{head}</head>\n<body>{body}</body></html>\n"


def tenant_item(directory: LoginDirectory, login: Login, signed_in: bool) -> str:
    """One tenant: its profiles as the Ads API lists them now, through its own AdsAuth."""
    name = html.escape(login.tenant or login.store_key)  # tenants have a namespace of their own
    try:
        answer = requests.get(
            f"{login.api_url}/v2/profiles", auth=directory.auth(login.store_key), timeout=30
        )
        profiles = answer.json() if answer.status_code == 200 else []
        shown = ", ".join(
            f"{html.escape(str(p['accountInfo']['name']))} ({p['profileId']}, "
            f"{html.escape(str(p['countryCode']))})"
            for p in profiles
        )
    except (AdsAuthError, requests.RequestException, ValueError, KeyError) as exc:
        shown = f"profiles unavailable ({html.escape(type(exc).__name__)})"
    button = (
        '<form action="/disconnect" method="post" style="display:inline">'
        f'<button id="disconnect-{name}" type="submit">Disconnect</button></form>'
        if signed_in
        else ""
    )
    listed = f'<span id="profiles-{name}">{shown}</span>'
    return f'<li id="tenant-{name}"><b>{name}</b>: {listed} {button}</li>'


def emulator_flow(app_url: str) -> ConsentFlow:
    """Amazon played by the emulator, where each consent is a new Amazon account with two
    profiles of its own; grants kept in memory."""
    from amazon_ads_auth.testing import Emulator, account_profile

    emu = Emulator().start()
    emu.new_account_per_consent(
        lambda n: [
            account_profile(n * 1000 + 1, f"Advertiser {n} US"),
            account_profile(n * 1000 + 2, f"Advertiser {n} UK", country="GB", currency="GBP"),
        ]
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emulator", action="store_true", help="Amazon is the emulator")
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args()
    app_url = f"http://127.0.0.1:{options.port}"
    try:
        flow = emulator_flow(app_url) if options.emulator else amazon_flow(app_url)
    except AdsAuthError as error:  # a setting that is not usable: say which, no traceback
        raise SystemExit(f"error: {error}") from None
    print(f"Open {app_url}", flush=True)
    print(f"(sign in as a tenant with {app_url}/?tenant=acme)", flush=True)
    uvicorn.run(make_app(flow), host="127.0.0.1", port=options.port, log_level="warning")


if __name__ == "__main__":
    main()

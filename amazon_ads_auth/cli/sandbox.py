"""The CLI's sandbox: the one place production code reaches the emulator, and only when a
command asks for it (`--emulator`, `amazon-ads-auth emulator`). `import amazon_ads_auth` and
`import amazon_ads_auth.cli` never load `amazon_ads_auth.testing`.

Each `--store-key` is an advertiser of its own in the sandbox (its own account and
profiles, the same every time), so `login --emulator --store-key brand-a` and `--store-key
brand-b` give an agency two logins to route between.

`logout --emulator` sticks: it leaves a marker beside the demo folder, so later `--emulator`
commands say "no demo login" instead of quietly making a new one; `login --emulator`
removes it.
"""

from __future__ import annotations

import contextlib
import pathlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import click


@contextlib.contextmanager
def sandbox(store_key: str | None = None) -> Iterator[Any]:
    """The emulator an `--emulator` command runs against, for that command only: its
    consents come from the store key's sandbox account (None or "default": the demo user)."""
    from ..testing import Sandbox

    with Sandbox(store_key=store_key) as emulator:
        yield emulator


def _marker() -> pathlib.Path:
    from .._stores.file import default_data_dir

    return default_data_dir() / "demo-logged-out"


def demo_logged_out() -> bool:
    """Whether the last demo command was `logout --emulator` (no new demo login then)."""
    return _marker().exists()


def set_demo_logged_out(logged_out: bool) -> None:
    marker = _marker()
    if logged_out:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(
            "`amazon-ads-auth logout --emulator` was run; login --emulator undoes it\n"
        )
    else:
        marker.unlink(missing_ok=True)


def try_lines(api_url: str) -> list[str]:
    """What the banner of `amazon-ads-auth emulator` suggests: each works when pasted."""
    return [
        "amazon-ads-auth token --headers --emulator",
        f"curl -H @<(amazon-ads-auth token --headers --emulator) {api_url}/v2/profiles",
    ]


def serve_emulator(port: int) -> None:
    """`amazon-ads-auth emulator`: serve in the foreground until Ctrl-C, with a banner. It
    signs and accepts tokens with the demo key, so `token --emulator` output works here
    (each login's with its own profiles)."""
    from ..testing import Sandbox

    with Sandbox(port=port) as emu:
        refresh_token = emu.issue_refresh_token()
        click.echo(f"Emulator running at {emu.url}")
        click.echo(f"  token URL:         {emu.token_url}")
        click.echo(f"  authorization URL: {emu.authorization_url}")
        click.echo(f"  Ads API URL:       {emu.api_url}")
        click.echo(f"  client id:         {emu.client_id}")
        click.echo(f"  client secret:     {emu.client_secret}  (demo credentials)")
        click.echo(f"  a refresh token:   {refresh_token}")
        click.echo("Try (in bash):")
        for line in try_lines(emu.api_url):
            click.echo(f"  {line}")
        click.echo("Ctrl-C stops it.")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()

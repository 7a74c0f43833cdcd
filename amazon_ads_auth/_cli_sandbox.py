"""The CLI's sandbox: the one place production code reaches the emulator, and only when a
command asks for it (`--emulator`, `amazon-ads-auth emulator`). `import amazon_ads_auth` and
`import amazon_ads_auth.cli` never load `amazon_ads_auth.testing`."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import click


@contextlib.contextmanager
def sandbox() -> Iterator[Any]:
    """The emulator an `--emulator` command runs against, for that command only."""
    from .testing import Sandbox

    with Sandbox() as emulator:
        yield emulator


def serve_emulator(port: int) -> None:
    """`amazon-ads-auth emulator`: serve in the foreground until Ctrl-C, with a banner."""
    from .testing import Emulator

    with Emulator(port=port) as emu:
        refresh_token = emu.issue_refresh_token()
        click.echo(f"Emulator running at {emu.url}")
        click.echo(f"  token URL:         {emu.token_url}")
        click.echo(f"  authorization URL: {emu.authorization_url}")
        click.echo(f"  Ads API URL:       {emu.api_url}")
        click.echo(f"  client id:         {emu.client_id}")
        click.echo(f"  client secret:     {emu.client_secret}  (demo credentials)")
        click.echo(f"  a refresh token:   {refresh_token}")
        click.echo(
            "Try: amazon-ads-auth login --no-browser --store memory: "
            f"--client-id {emu.client_id} --client-secret {emu.client_secret} "
            f"--token-url {emu.token_url} --authorization-url {emu.authorization_url} "
            f"--api-url {emu.api_url}"
        )
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()

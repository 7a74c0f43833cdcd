"""`amazon-ads-auth store ...`: the token store itself, for the people who run it.

- `store ddl --store URL`: the CREATE TABLE of the SQL store, for apps that run their own
  migrations.
- `store new-key`: a new Fernet key for AMAZON_ADS_STORE_KEYS.
- `store rekey --store URL --key NEW --old-key OLD`: re-encrypt every grant with NEW, each
  under its lock, while workers keep running (keys default to AMAZON_ADS_STORE_KEYS: the
  first is the new one; flags show up in `ps`, the variable does not).
"""

from __future__ import annotations

import sys

import click

from .._errors import ConfigurationError
from .._logins.resolve import ENV
from .._redact import describe_store
from .._stores.url import open_store
from .errors import handle_errors

_STORE_OPTION = click.option(
    "--store",
    "store_url",
    envvar=ENV["token_store"],
    required=True,
    help="Token store URL (AMAZON_ADS_TOKEN_STORE): sqlite:///path, postgresql://..., "
    "redis://..., file:///path",
)


@click.group(short_help="The token store: DDL, encryption keys, re-encryption.")
def store() -> None:
    """The token store: its SQL table, encryption keys and key rotation."""


@store.command(short_help="Print the SQL store's CREATE TABLE.")
@_STORE_OPTION
@click.option("--table", default=None, help="Table name (default: amazon_ads_auth_grants).")
@handle_errors
def ddl(store_url: str, table: str | None) -> None:
    """Print the CREATE TABLE statement of the SQL token store for this database."""
    from .._stores.sql import DEFAULT_TABLE, SQLTokenStore

    scheme = store_url.partition(":")[0].lower()
    if not scheme.startswith(("sqlite", "postgres")):
        raise ConfigurationError(
            "store ddl is for SQL stores: pass --store sqlite:///path or postgresql://..."
        )
    # No connection is made: the dialect is all the DDL needs.
    click.echo(SQLTokenStore(store_url, table=table or DEFAULT_TABLE).ddl())


@store.command("new-key", short_help="Print a new encryption key.")
@handle_errors
def new_key_command() -> None:
    """Print a new Fernet key (put it in AMAZON_ADS_STORE_KEYS, never beside the data)."""
    from .._stores.encrypted import key_id, new_key

    key = new_key()
    click.echo(key)
    click.echo(f"key id {key_id(key)}", err=True)


@store.command(short_help="Re-encrypt every grant with a new key, online.")
@_STORE_OPTION
@click.option(
    "--key",
    "new_key",
    default=None,
    help="The new key (default: the first of AMAZON_ADS_STORE_KEYS).",
)
@click.option(
    "--old-key",
    "old_keys",
    multiple=True,
    help="A key grants may be encrypted with now (repeatable; default: the rest of "
    "AMAZON_ADS_STORE_KEYS).",
)
@click.option("--table", default=None, help="The SQL store's table, if not the default.")
@handle_errors
def rekey(
    store_url: str, new_key: str | None, old_keys: tuple[str, ...], table: str | None
) -> None:
    """Re-encrypt every grant (and saved client secret) with the new key, each under its
    lock; unencrypted grants are encrypted. Grants no key opens are listed and left alone."""
    from .._stores.encrypted import key_id, keys_from_env
    from .._stores.encrypted import rekey as rekey_store

    from_env = keys_from_env()
    keys = [new_key] if new_key else from_env[:1]
    olds = list(old_keys) or (from_env if new_key else from_env[1:])
    target = open_store(store_url, keys=())
    if table is not None:
        from .._stores.sql import SQLTokenStore

        if not isinstance(target, SQLTokenStore):
            raise ConfigurationError("--table is for SQL stores (sqlite:///..., postgresql://...)")
        target = SQLTokenStore(target.engine, table=table)
    result = rekey_store(target, keys, old_keys=olds)
    where = describe_store(target)
    click.echo(
        f"Re-encrypted {len(result.rekeyed)} grant(s) in {where} with key "
        f"{key_id(keys[0])}; {len(result.unchanged)} already were."
    )
    for key, why in result.failed.items():
        click.echo(f"Not re-encrypted: {key}: {why}", err=True)
    if result.failed:
        sys.exit(1)

"""`amazon-ads-auth api [METHOD] PATH`: the stored login, the Scope header, bodies from
JSON, files and stdin, extra headers, --include, --raw, exit 1 with Amazon's error body on
a non-2xx answer, and the token never sent to a host that is not the login's."""

from __future__ import annotations

import json
import pathlib

from click.testing import CliRunner

from amazon_ads_auth.cli import main
from amazon_ads_auth.testing import Emulator
from tests.accounts import DEMO_PROFILE_ID
from tests.conftest import assert_no_secrets
from tests.test_cli import grant, pointing_at

__all__ = ["grant"]  # the fixture


def test_get_profiles_with_the_stored_login(emulator: Emulator, grant: pathlib.Path) -> None:
    result = CliRunner().invoke(main, ["api", "/v2/profiles", *pointing_at(emulator, grant)])
    assert result.exit_code == 0, result.output
    profiles = json.loads(result.stdout)
    assert profiles[0]["profileId"] == DEMO_PROFILE_ID
    assert_no_secrets([result.output], emulator.issued_secrets(), "api output")


def test_post_with_data_scope_and_headers(
    emulator: Emulator, grant: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"maxResults": 10}')
    for data, stdin in ((f"@{body}", None), ("@-", '{"maxResults": 10}'), ('{"a": 1}', None)):
        result = CliRunner().invoke(
            main,
            [
                "api",
                "/sp/campaigns/list",
                "--data",
                data,
                "--profile-id",
                str(DEMO_PROFILE_ID),
                "--header",
                "Accept: application/vnd.spCampaign.v3+json",
                *pointing_at(emulator, grant),
            ],
            input=stdin,
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["totalResults"] == 1
        seen = emulator.api_log[-1]
        assert seen.method == "POST"
        assert seen.headers["amazon-advertising-api-scope"] == str(DEMO_PROFILE_ID)
        assert seen.headers["accept"] == "application/vnd.spCampaign.v3+json"
        assert seen.headers["content-type"] == "application/json"


def test_a_non_2xx_answer_prints_amazons_error_and_exits_1(
    emulator: Emulator, grant: pathlib.Path
) -> None:
    result = CliRunner().invoke(
        main,
        ["api", "POST", "/sp/campaigns/list", "--data", "{}", *pointing_at(emulator, grant)],
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"code": "400", "details": "Scope header is missing"}
    assert "400" in result.stderr


def test_include_and_raw(emulator: Emulator, grant: pathlib.Path) -> None:
    result = CliRunner().invoke(
        main, ["api", "GET", "/v2/profiles", "-i", "--raw", *pointing_at(emulator, grant)]
    )
    assert result.exit_code == 0, result.output
    head, _, body = result.stdout.partition("\n\n")
    assert head.splitlines()[0] == "HTTP 200 OK"
    assert "Content-Type: application/json" in head
    assert body.strip().startswith('[{"profileId"')


def test_usage_errors_exit_2(emulator: Emulator, grant: pathlib.Path) -> None:
    args = pointing_at(emulator, grant)
    for bad in (
        ["api", "/v2/profiles", "--data", "{not json"],
        ["api", "/v2/profiles", "--header", "no colon"],
        ["api", "FETCH", "/v2/profiles"],
        ["api"],
    ):
        result = CliRunner().invoke(main, [*bad, *args])
        assert result.exit_code == 2, (bad, result.output)
    assert emulator.api_log == []


def test_the_token_goes_only_to_the_logins_hosts(emulator: Emulator, grant: pathlib.Path) -> None:
    result = CliRunner().invoke(
        main, ["api", "https://example.com/v2/profiles", *pointing_at(emulator, grant)]
    )
    assert result.exit_code == 1
    assert "not an Ads API host" in result.stderr
    assert emulator.api_log == []


def test_works_with_the_sandbox() -> None:
    result = CliRunner().invoke(main, ["api", "/v2/profiles", "--emulator"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["accountInfo"]["name"] == "Emulator Demo Store"

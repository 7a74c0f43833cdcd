"""The emulator account the tests use: the profiles they send in the Scope header (the
emulator refuses any other, as Amazon does)."""

from __future__ import annotations

from typing import Any

# Profile ids the tests use; `profiles_for_tests()` gives an emulator account that has them.
TEST_PROFILE_IDS = (1, 2, 3, 4, 5, 7, 8, 11, 42, 999, 2222, 123456789)
DEMO_PROFILE_ID = 3141592653589793


def profiles_for_tests(ids: tuple[int, ...] = TEST_PROFILE_IDS) -> list[dict[str, Any]]:
    """Profiles in Amazon's shape: the demo one, then one per id."""
    return [
        {
            "profileId": profile_id,
            "countryCode": "US",
            "currencyCode": "USD",
            "dailyBudget": 100.0,
            "timezone": "America/Los_Angeles",
            "accountInfo": {
                "marketplaceStringId": "ATVPDKIKX0DER",
                "id": f"A{profile_id}",
                "type": "seller",
                "name": "Emulator Demo Store"
                if profile_id == DEMO_PROFILE_ID
                else f"Test {profile_id}",
            },
        }
        for profile_id in (DEMO_PROFILE_ID, *ids)
    ]

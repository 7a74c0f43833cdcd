"""Operations: the health of every grant in a store (`check_grants`), above AdsAuth.

A room of its own above `_auth` (it builds an AdsAuth per grant, so each check goes
through the same token manager and single flight as live traffic) and below the faces
(`cli.check`, `otel`), which present its results.
"""

"""OpenTelemetry: the documented metric and span names, recorded with the SDK's in-memory
reader and exporter; no secret, profile id or store key as an attribute unless asked; and
no OpenTelemetry import anywhere without the extra."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from amazon_ads_auth import AdsAuth, InvalidGrantError, MemoryTokenStore, Token, check_grants, otel
from amazon_ads_auth._logins.records import Login, save_login
from amazon_ads_auth.testing import Emulator, FakeClock


class Recorded:
    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer_provider = tracer_provider

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def counts(self, name: str, attribute: str) -> dict[str, float]:
        return {p.attributes[attribute]: p.value for p in self.points(name) if p.value}


@pytest.fixture
def recorded() -> Iterator[tuple[Recorded, otel.Instrumentation]]:
    r = Recorded()
    instrumentation = otel.instrument(r.meter_provider, r.tracer_provider)
    yield r, instrumentation
    instrumentation.uninstrument()


def test_token_requests_are_counted_timed_and_traced(
    recorded: tuple[Recorded, otel.Instrumentation],
    make_auth: Callable[..., AdsAuth],
    emulator: Emulator,
) -> None:
    r, _ = recorded
    make_auth(region="eu", profile_id=1234567890).ensure_token()
    revoked = emulator.issue_refresh_token()
    emulator.revoke_refresh_token(revoked)
    with pytest.raises(InvalidGrantError):
        make_auth(revoked).ensure_token()
    requests = r.points(otel.TOKEN_REQUESTS)
    assert {(dict(p.attributes)["result"], dict(p.attributes)["region"]) for p in requests} == {
        ("ok", "eu"),
        ("revoked", "na"),
    }
    assert all(dict(p.attributes)["grant_type"] == "refresh_token" for p in requests)
    durations = r.points(otel.TOKEN_DURATION)
    assert sum(p.count for p in durations) == 2
    spans = r.exporter.get_finished_spans()
    assert [s.name for s in spans] == ["lwa.refresh", "lwa.refresh"]
    assert spans[0].attributes is not None
    assert dict(spans[0].attributes) == {
        "amazon_ads_auth.region": "eu",
        "amazon_ads_auth.result": "ok",
        "amazon_ads_auth.soft": False,
    }
    failed = spans[1]
    assert failed.status.status_code.name == "ERROR"
    assert failed.attributes is not None and failed.attributes["error.type"] == "invalid_grant"
    assert failed.end_time is not None and failed.start_time is not None
    assert failed.end_time > failed.start_time
    texts = repr([dict(s.attributes or {}) for s in spans]) + repr(
        [dict(p.attributes) for p in requests]
    )
    for private in ("1234567890", "default", emulator.client_id, emulator.client_secret):
        assert private not in texts


def test_keys_only_when_asked(make_auth: Callable[..., AdsAuth]) -> None:
    r = Recorded()
    instrumentation = otel.instrument(
        r.meter_provider, r.tracer_provider, include_keys=True, listen=False
    )
    make_auth(on_event=instrumentation, store_key="acme").ensure_token()
    (span,) = r.exporter.get_finished_spans()
    assert span.attributes is not None
    assert str(span.attributes["amazon_ads_auth.key"]).endswith("/acme")


def test_exchanges_are_lwa_exchange_spans(
    recorded: tuple[Recorded, otel.Instrumentation], emulator: Emulator
) -> None:
    r, _ = recorded
    from tests.web_apps import Person, add_accounts, make_flow

    add_accounts(emulator)
    flow = make_flow(emulator, 8000, MemoryTokenStore())
    start = flow.begin("acme")
    callback = Person("http://127.0.0.1:9", None).consent_at_amazon(start.url, "alice")
    flow.complete(callback, start.cookie_value, tenant="acme")
    assert [s.name for s in r.exporter.get_finished_spans()] == ["lwa.exchange"]
    assert r.counts(otel.TOKEN_REQUESTS, "grant_type") == {"authorization_code": 1}


def test_check_feeds_the_gauge_of_grants_by_state(
    recorded: tuple[Recorded, otel.Instrumentation], emulator: Emulator, clock: FakeClock
) -> None:
    r, _ = recorded
    store = MemoryTokenStore()
    for name in ("a", "b", "c"):
        refresh_token = emulator.issue_refresh_token()
        store.save(f"{emulator.client_id}/{name}", Token("Atza|x", refresh_token, 1.0))
        login = Login(
            client_id=emulator.client_id,
            store_key=name,
            token_url=emulator.token_url,
            client_secret=emulator.client_secret,
        )
        save_login(store, login)
        if name == "c":
            emulator.revoke_refresh_token(refresh_token)
    check_grants(store, clock=clock)
    assert r.counts(otel.GRANTS, "state") == {"ok": 2, "revoked": 1}
    assert r.counts(otel.GRANT_CHECKS, "state") == {"ok": 2, "revoked": 1}
    states = {dict(p.attributes)["state"] for p in r.points(otel.GRANTS)}
    assert {"ok", "expiring", "revoked", "unreachable", "no secret"} <= states  # every series


def test_uninstrument_stops_recording(make_auth: Callable[..., AdsAuth]) -> None:
    r = Recorded()
    otel.instrument(r.meter_provider, r.tracer_provider).uninstrument()
    make_auth().ensure_token()
    assert r.exporter.get_finished_spans() == ()


def test_without_the_extra_nothing_imports_opentelemetry() -> None:
    code = (
        "import sys\n"
        "import amazon_ads_auth, amazon_ads_auth.cli, amazon_ads_auth.web\n"
        "from amazon_ads_auth import AdsAuth, check_grants, MemoryTokenStore\n"
        "from amazon_ads_auth.testing import Emulator\n"
        "emu = Emulator()\n"
        "auth = AdsAuth(emu.client_id, emu.client_secret, emu.issue_refresh_token(),"
        " **emu.auth_kwargs())\n"
        "auth.ensure_token()\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_otel_module_without_the_extra_says_how_to_install_it() -> None:
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"
        "try:\n"
        "    import amazon_ads_auth.otel\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'amazon-ads-auth[otel]'" in out.stdout

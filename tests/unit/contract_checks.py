"""What the contract tests of the services share: every event of a service has a valid sample of
its data, and each event round-trips through its CloudEvents envelope.

Each service's `test_contract.py` keeps its own samples (`<SERVICE>_SAMPLES`, in the shape of
`SAMPLES` in tests/unit/test_contracts.py) and its own rules; these helpers only run the checks
that are the same for every service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from contracts import REGISTRY, new_event, parse_event
from contracts.personal import minimised

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def assert_every_event_has_a_sample(
    specs: Iterable[Any], samples: Mapping[type, Any], producer: str | None = None
) -> None:
    """One sample per event of `specs`, no other; with `producer`, each event is registered as
    that service's."""
    specs = list(specs)
    assert {spec.data_model for spec in specs} == set(samples)
    if producer is not None:
        for spec in specs:
            assert spec.routing_key in REGISTRY and spec.producer == producer


def assert_round_trips(
    spec: Any, samples: Mapping[type, Any], *, source_service: str, subject: str
) -> None:
    """The event of `spec`, made from its sample, parses back to itself, and names its
    applicant and the subject that owns the request."""
    data = spec.data_model.model_validate(samples[spec.data_model])
    event = new_event(
        spec.routing_key, data, source_service=source_service, subject=subject, time=NOW
    )
    # The data comes back as the broker carries it (contracts/personal.py).
    assert parse_event(event.to_json()) == (event, minimised(spec, data))
    assert {"applicant", "owner_subject"} <= set(spec.data_model.model_fields)

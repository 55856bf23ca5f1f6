"""The check CI makes of the Node.js reference subscriber's report (tests/integration/
node_subscriber.py): each of its failure conditions fails, and a complete, valid report passes."""

from __future__ import annotations

from typing import Any

from contracts import REGISTRY
from tests.integration.node_subscriber import check_report, published_schemas

SCHEMAS = published_schemas()
KEYS = REGISTRY.keys()


def report(**changes: Any) -> dict[str, Any]:
    """A report of a subscriber that saw one valid event of every registry type."""
    base: dict[str, Any] = {
        "received": len(KEYS),
        "duplicates": 0,
        "types": {f"jo.gov.amman.{key}": 1 for key in KEYS},
        "failures": [],
        "unknown_types": [],
        "events": [],
    }
    return {**base, **changes}


def test_the_schemas_are_the_registry() -> None:
    assert set(KEYS) == SCHEMAS


def test_a_complete_valid_report_passes() -> None:
    assert check_report(report(), schemas=SCHEMAS, registry=KEYS) == []


def test_an_event_that_failed_validation_fails() -> None:
    failure = {
        "id": "abc",
        "type": "jo.gov.amman.payments.bill.issued.v1",
        "errors": ["data/amount_fils must be integer"],
    }
    problems = check_report(report(failures=[failure]), schemas=SCHEMAS, registry=KEYS)
    assert problems == [
        "event abc (jo.gov.amman.payments.bill.issued.v1) failed validation: "
        "data/amount_fils must be integer"
    ]


def test_a_received_type_without_a_published_schema_fails() -> None:
    types = {**report()["types"], "jo.gov.amman.payments.bill.forgiven.v1": 1}
    problems = check_report(report(types=types), schemas=SCHEMAS, registry=KEYS)
    assert problems == ["jo.gov.amman.payments.bill.forgiven.v1: received, but no published schema"]
    # Also when the subscriber only listed it as unknown.
    unknown = report(unknown_types=["jo.gov.amman.payments.bill.forgiven.v1"])
    assert check_report(unknown, schemas=SCHEMAS, registry=KEYS) == problems


def test_a_registry_type_never_seen_fails() -> None:
    types = dict(report()["types"])
    del types["jo.gov.amman.payments.bill.paid.v1"]
    problems = check_report(report(types=types), schemas=SCHEMAS, registry=KEYS)
    assert problems == ["payments.bill.paid.v1: in the registry, but never seen by the subscriber"]
    # Without a registry (the acceptance walk), an unseen type is no problem.
    assert check_report(report(types=types), schemas=SCHEMAS) == []


def test_a_report_of_nothing_fails() -> None:
    problems = check_report(report(received=0, types={}), schemas=SCHEMAS)
    assert problems == ["the subscriber received no event at all"]

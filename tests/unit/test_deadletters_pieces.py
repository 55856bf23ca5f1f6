"""Pure pieces of the dead-letter tools and of the outbox's age gauge (no broker, no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from services.common.deadletters import DeadLetter
from services.common.outbox import OUTBOX_FIELD, _oldest_age

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


class Message:
    """What `DeadLetter.of` reads of an incoming AMQP message."""

    def __init__(self, body: bytes, headers: dict[str, Any], message_id: str | None = None) -> None:
        self.body = body
        self.headers = headers
        self.message_id = message_id
        self.content_type = "application/cloudevents+json"


def test_an_explicit_dead_letter_names_its_reason_origin_and_event() -> None:
    body = json.dumps({"id": "ev-1", "type": "jo.gov.amman.exams.x.v1"}).encode()
    headers = {
        "x-dead-letter-reason": "malformed: ValidationError: data.x: Field required",
        "x-original-exchange": "amman.events",
        "x-original-routing-key": "exams.x.v1",
        "x-failed-at": NOW.isoformat(),
    }
    letter = DeadLetter.of("exams.payments", Message(body, headers, "ev-1"))  # type: ignore[arg-type]
    assert letter.reason.startswith("malformed: ValidationError")
    assert (letter.original_exchange, letter.original_routing_key) == ("amman.events", "exams.x.v1")
    assert (letter.event_id, letter.event_type) == ("ev-1", "jo.gov.amman.exams.x.v1")
    assert letter.failed_at == NOW.isoformat()
    same = DeadLetter.of("exams.payments", Message(body, dict(headers), "ev-1"))  # type: ignore[arg-type]
    assert same.id == letter.id
    later = {**headers, "x-failed-at": (NOW + timedelta(seconds=1)).isoformat()}
    assert DeadLetter.of("exams.payments", Message(body, later, "ev-1")).id != letter.id  # type: ignore[arg-type]


def test_a_dead_letter_of_the_broker_reads_x_death_and_a_body_that_is_not_json() -> None:
    headers = {
        "x-death": [
            {
                "reason": "delivery_limit",
                "exchange": "amman.events",
                "routing-keys": [b"payments.bill.paid.v1"],
                "time": NOW,
                "queue": "exams.payments",
            }
        ]
    }
    letter = DeadLetter.of("exams.payments", Message(b"\xff{not json", headers))  # type: ignore[arg-type]
    assert letter.reason == "delivery_limit (by the broker)"
    assert letter.original_routing_key == "payments.bill.paid.v1"
    assert letter.original_exchange == "amman.events"
    assert letter.event_id is None and letter.failed_at == NOW.isoformat()
    assert letter.summary(body_chars=3)["body"].endswith("…")
    json.dumps(letter.headers)  # JSON-able as the API returns it


def test_the_oldest_outbox_entry_gives_the_age_and_bad_times_are_skipped() -> None:
    document = {
        OUTBOX_FIELD: [
            {"time": (NOW - timedelta(seconds=90)).isoformat()},
            {"time": (NOW - timedelta(seconds=30)).isoformat()},
            {"time": "not a time"},
            {},
        ]
    }
    assert _oldest_age(document, NOW) == 90.0
    assert _oldest_age({}, NOW) == 0.0

"""Personal data on the broker (contracts/personal.py, contracts/README.md "Personal data"):
every event type is walked; a personal field the rules do not cover fails, and so does an event
that carries in clear more than the rules allow."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from contracts import REGISTRY, new_event
from contracts.examples import example_data
from contracts.personal import (
    PERSONAL_FIELDS,
    clear_fields,
    mask_name,
    mask_phone,
    minimised,
    personal_paths,
)
from contracts.registry import EventSpec

# Names that would be personal on any event; one of them not in PERSONAL_FIELDS is a new kind of
# personal data nobody decided on yet.
SUSPECT = {
    *PERSONAL_FIELDS,
    "email",
    "address",
    "birth_date",
    "date_of_birth",
    "mobile",
    "id_number",
    "passport",
    "passport_number",
    "full_name",
    "first_name",
    "last_name",
}
# Where a suspect name is no person's: the text of a course, an exam or a centre.
NOT_A_PERSON = {"LocalizedText", "ExamDetails", "ExamCentre"}
SPECS = list(REGISTRY)


def _schema_paths(schema: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Every property of a data schema: (dotted path, the $ref's model name if any)."""
    definitions = schema.get("$defs", {})
    found: list[tuple[str, str | None]] = []

    def walk(node: dict[str, Any], path: str, seen: frozenset[str]) -> None:
        for choice in node.get("anyOf", []) + node.get("allOf", []):
            walk(choice, path, seen)
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            if name in seen:
                return
            walk(definitions[name], path, seen | {name})
            return
        if node.get("type") == "array":
            walk(node.get("items", {}), path, seen)
        for key, child in node.get("properties", {}).items():
            ref = child.get("$ref") or next(
                (c["$ref"] for c in child.get("anyOf", []) if "$ref" in c), None
            )
            found.append((f"{path}{key}", ref.rsplit("/", 1)[1] if ref else None))
            walk(child, f"{path}{key}.", seen)

    walk(schema, "", frozenset())
    return found


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.routing_key)
def test_every_personal_field_is_covered_by_the_rules(spec: EventSpec) -> None:
    known = set(personal_paths(example_data(spec)[0][1]))
    uncovered = []
    for path, ref in _schema_paths(spec.data_model.model_json_schema()):
        leaf = path.rsplit(".", 1)[-1]
        if leaf not in SUSPECT or ref in NOT_A_PERSON:
            continue
        if leaf not in PERSONAL_FIELDS:
            uncovered.append(f"{path}: a new kind of personal data; decide it in personal.py")
        elif path not in known:
            uncovered.append(f"{path}: personal, and not covered by personal.py's rules")
    assert not uncovered, "\n".join(uncovered)


def _value(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.routing_key)
def test_an_event_carries_in_clear_only_what_its_consumers_need(spec: EventSpec) -> None:
    clear = clear_fields(spec)
    for _, data in example_data(spec):
        full = data.model_dump(mode="json")
        event = new_event(
            spec.routing_key,
            data,
            source_service=spec.producer,
            subject="X-1",
            time=datetime(2026, 12, 5, tzinfo=UTC),
        )
        sent = json.loads(event.to_json())["data"]
        for path in personal_paths(data):
            leaf = path.rsplit(".", 1)[-1]
            original, carried = _value(full, path), _value(sent, path)
            if original is None:
                assert carried is None, path
            elif leaf in clear:
                assert carried == original, f"{path} is needed in clear, and was changed"
            else:
                assert carried != original, f"{path} travels in clear; the rules say it must not"
        # What is left is still valid data for the subscriber.
        spec.data_model.model_validate(sent)


def test_national_ids_travel_on_no_event() -> None:
    for spec in SPECS:
        assert "national_id" not in clear_fields(spec)


def test_the_consumers_get_what_they_need() -> None:
    """The notifier needs the phone of every event it sends an SMS for; payments the payer's
    name and phone on a payment or refund request."""
    for spec in SPECS:
        clear = clear_fields(spec)
        if spec.notifies_applicant:
            assert "phone" in clear, spec.routing_key
        if spec.routing_key.endswith((".payment.requested.v1", ".refund.requested.v1")):
            assert {"name", "phone"} <= clear, spec.routing_key


def test_the_masks() -> None:
    assert mask_phone("+962791234567") == "+9627*****567"
    assert mask_phone("0791234567") == "07*****567"
    assert mask_name("ليلى أحمد") == "ل*** أ***"
    assert mask_name("Sami Al-Khalid") == "S*** A***"
    assert mask_name("  ") == "*" and mask_phone("n/a") == "*"  # never empty


def test_minimising_leaves_a_model_without_personal_data_alone() -> None:
    class Plain(BaseModel):
        request_number: str

    plain = Plain(request_number="EX-2026-000001")
    assert minimised(SPECS[0], plain) is plain

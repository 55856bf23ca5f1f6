"""The event contracts: envelope, registry, data models, and the generated documents.

The first test is the guard the rest of the platform relies on: the committed JSON Schemas,
AsyncAPI document and README table are exactly what the models produce, so a model edited
without ``python -m contracts.generate`` fails here.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

import contracts
from contracts import (
    CONTENT_TYPE,
    REGISTRY,
    ROUTING_KEY_RE,
    SCHEMA_BASE,
    TYPE_PREFIX,
    Applicant,
    BillCancelled,
    BillExpired,
    BillIssued,
    BillPaid,
    CloudEvent,
    ContractModel,
    EventRegistry,
    EventSpec,
    LocalizedText,
    PaymentCancelled,
    PaymentRequested,
    RefundApproved,
    RefundRejected,
    RefundRequested,
    SmsFailed,
    UnknownEventType,
    event_type_of,
    exams,
    generate,
    new_event,
    parse_event,
    reference,
    reference_parts,
    routing_key_of,
)
from contracts.personal import minimised
from tests.unit.contractors.test_contract import CONTRACTOR_SAMPLES
from tests.unit.courses.test_contract import COURSE_SAMPLES
from tests.unit.licensing.test_contract import LICENSING_SAMPLES
from tests.unit.test_documents import DOCUMENT_SAMPLES
from tests.unit.training.test_contract import TRAINING_SAMPLES

NOW = datetime(2026, 11, 28, 7, 30, 12, tzinfo=UTC)
AMMAN = timezone(timedelta(hours=3))

APPLICANT: dict[str, Any] = {"name": "ليلى أحمد", "phone": "+962791234567", "lang": "ar"}
FEE_TEXT: dict[str, Any] = {"ar": "رسوم امتحان تجريبي", "en": "Trial exam fee"}
BILL: dict[str, Any] = {
    "payment_reference": "exams:EX-2026-000123:fee",
    "request_number": "EX-2026-000123",
    "e_payment_number": "2026000123457",
}
REFUND: dict[str, Any] = {
    "refund_reference": "training:TR-2026-000045:no_show_refund",
    "payment_reference": "training:TR-2026-000045:fee",
    "request_number": "TR-2026-000045",
    "amount_fils": 75000,
    "applicant": APPLICANT,
}

EXAM: dict[str, Any] = {
    "code": "icdl-documents",
    "type": "official",
    "name": {"ar": "ICDL معالجة النصوص", "en": "ICDL Documents"},
    "subject": {
        "ar": "الرخصة الدولية لقيادة الحاسوب",
        "en": "International Computer Driving Licence",
    },
    "granting_body": {"ar": "ICDL العربية", "en": "ICDL Arabia"},
}
CENTRE: dict[str, Any] = {
    "name": {"ar": "المحطة المعرفية - رأس العين", "en": "Knowledge Station, Ras Al-Ain"},
    "working_hours": {"ar": "الأحد إلى الخميس 8:30-15:00", "en": "Sunday to Thursday 08:30-15:00"},
}
EXAM_REQUEST: dict[str, Any] = {
    "request_number": "EX-2026-000123",
    "exam": EXAM,
    "applicant": APPLICANT,
    "owner_subject": "citizen-9f3a",
}
DOCUMENTS: dict[str, Any] = {"ar": "البطاقة الشخصية سارية المفعول", "en": "your valid ID card"}

# One valid `data` per contract model, as it arrives on the wire. A new model without a sample
# fails `test_every_registered_model_has_a_sample`, so the generic tests below cover it too.
SAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    PaymentRequested: {
        "payment_reference": "exams:EX-2026-000123:fee",
        "request_number": "EX-2026-000123",
        "amount_fils": 25000,
        "currency": "JOD",
        "description": FEE_TEXT,
        "due_at": "2026-12-01T21:59:59Z",
        "payer": APPLICANT,
        "service_type": "exams.exam_fee",
    },
    PaymentCancelled: {
        "payment_reference": "exams:EX-2026-000123:fee",
        "request_number": "EX-2026-000123",
        "reason": "the applicant withdrew the request",
    },
    RefundRequested: {
        "payment_reference": "training:TR-2026-000045:fee",
        "refund_reference": "training:TR-2026-000045:no_show_refund",
        "request_number": "TR-2026-000045",
        "amount_fils": 75000,
        "reason": {"ar": "استرداد بعد عدم الحضور", "en": "Refund after a no-show"},
        "needs_approval": True,
        "payer": APPLICANT,
    },
    BillIssued: {
        **BILL,
        "amount_fils": 25000,
        "due_at": "2026-12-01T21:59:59Z",
        "description": FEE_TEXT,
        "applicant": APPLICANT,
    },
    BillPaid: {**BILL, "amount_fils": 25000, "paid_at": NOW.isoformat(), "applicant": APPLICANT},
    BillExpired: {**BILL, "at": NOW.isoformat(), "applicant": APPLICANT},
    BillCancelled: {**BILL, "at": NOW.isoformat(), "applicant": APPLICANT},
    RefundApproved: {**REFUND, "decided_by_role": "finance.approver"},
    RefundRejected: {**REFUND, "decided_by_role": "finance.approver", "reason": "no receipt"},
    exams.ExamRequestSubmitted: {
        **EXAM_REQUEST,
        "centre": CENTRE,
        "fee_fils": 25000,
        "payment_reference": "exams:EX-2026-000123:fee",
        "payment_due_at": "2026-11-29T20:59:59Z",
        "submitted_at": NOW.isoformat(),
    },
    exams.ExamRequestPaid: {
        **EXAM_REQUEST,
        "centre": CENTRE,
        "e_payment_number": "2026000123457",
        "amount_fils": 25000,
        "paid_at": NOW.isoformat(),
        "session_minimum": 5,
    },
    exams.ExamRequestScheduled: {
        **EXAM_REQUEST,
        "session_number": "ES-2026-000012",
        "exam_at": "2026-12-06T07:00:00Z",
        "venue": CENTRE["name"],
        "documents": DOCUMENTS,
    },
    exams.ExamAttendanceRecorded: {**EXAM_REQUEST, "at": NOW.isoformat()},
    exams.ExamAbsenceRecorded: {
        **EXAM_REQUEST,
        "session_number": "ES-2026-000012",
        "exam_at": "2026-12-06T07:00:00Z",
        "at": "2026-12-06T10:00:00Z",
    },
    exams.ExamResultRecorded: {
        **EXAM_REQUEST,
        "outcome": "passed",
        "score": 86,
        "centre": CENTRE,
        "documents": DOCUMENTS,
        "recorded_at": NOW.isoformat(),
    },
    exams.ExamCertificateCollected: {
        **EXAM_REQUEST,
        "collected_at": NOW.isoformat(),
        "collected_by": "ليلى أحمد",
    },
    exams.ExamRequestCancelled: {
        **EXAM_REQUEST,
        "cause": "payment_expired",
        "payment_due_at": "2026-11-29T20:59:59Z",
        "at": NOW.isoformat(),
    },
    exams.ExamSessionMinimumReached: {
        "session_number": "ES-2026-000012",
        "exam": EXAM,
        "minimum": 5,
        "candidates": 5,
        "minimum_reached_at": NOW.isoformat(),
        "date_due_at": "2026-12-03T21:00:00Z",
    },
    exams.ExamSessionScheduled: {
        "session_number": "ES-2026-000012",
        "exam": EXAM,
        "exam_at": "2026-12-06T07:00:00Z",
        "venue": CENTRE["name"],
        "candidates": ["EX-2026-000123", "EX-2026-000124"],
        "scheduled_at": NOW.isoformat(),
    },
    exams.ExamSessionOverdue: {
        "session_number": "ES-2026-000012",
        "exam": EXAM,
        "candidates": 5,
        "minimum_reached_at": NOW.isoformat(),
        "date_due_at": "2026-12-03T21:00:00Z",
    },
    SmsFailed: {
        "message_id": "msg-1",
        "event_id": "7f1c2b9e4d0a4c6f9b3e2a1d5c8e7f60",
        "event_type": "jo.gov.amman.payments.bill.issued.v1",
        "template": "bill_issued",
        "phone_masked": "+96279*****67",
        "status": "permanent-failure",
        "reason": "number not in service",
        "request_number": "EX-2026-000123",
    },
}
# The other services' samples live beside their own contract tests.
SAMPLES.update(COURSE_SAMPLES)
SAMPLES.update(CONTRACTOR_SAMPLES)
SAMPLES.update(LICENSING_SAMPLES)
SAMPLES.update(TRAINING_SAMPLES)
SAMPLES.update(DOCUMENT_SAMPLES)


def bill_issued(**changes: Any) -> BillIssued:
    return BillIssued.model_validate({**SAMPLES[BillIssued], **changes})


def bill_issued_event(**changes: Any) -> CloudEvent:
    return new_event(
        "payments.bill.issued.v1",
        bill_issued(),
        source_service="payments",
        subject="EX-2026-000123",
        time=NOW,
        **changes,
    )


def wire(event: CloudEvent, **changes: Any) -> dict[str, Any]:
    """The event as a subscriber receives it, with some attributes changed."""
    document: dict[str, Any] = json.loads(event.to_json())
    document.update(changes)
    return document


# ---- the generated documents ----------------------------------------------------------------


def test_generated_files_are_up_to_date() -> None:
    problems = generate.check()
    assert problems == [], "out of date; run: python -m contracts.generate\n" + "\n".join(problems)


@pytest.fixture
def generated_copy(tmp_path: Path) -> Path:
    """A fresh, up-to-date copy of the generated documents, to tamper with."""
    root = tmp_path / "contracts"
    root.mkdir()
    shutil.copy(generate.PACKAGE_DIR / "README.md", root / "README.md")
    generate.write(root)
    return root


def test_check_fails_when_a_model_changed_without_regenerating(generated_copy: Path) -> None:
    # The same model, as someone would edit it in place: one optional field more.
    edited_bill_paid = create_model(
        "BillPaid",
        __base__=BillPaid,
        __doc__=BillPaid.__doc__,
        receipt_number=(str | None, Field(default=None, description="The provider's receipt.")),
    )
    edited = EventRegistry(
        replace(spec, data_model=edited_bill_paid)
        if spec.routing_key == "payments.bill.paid.v1"
        else spec
        for spec in REGISTRY
    )

    problems = generate.check(generated_copy, edited)

    # An added optional field is compatible: only the generated files (and the released
    # snapshot, which `generate` refreshes) are behind, no breaking change is reported.
    assert problems == [
        "contracts/asyncapi.json: differs from what the models produce",
        "contracts/released/payments.bill.paid.v1.json: differs from what the models produce",
        "contracts/schemas/payments.bill.paid.v1.json: differs from what the models produce",
    ]


def test_check_fails_when_an_event_type_is_added_without_regenerating(
    generated_copy: Path,
) -> None:
    extended = REGISTRY.copy()
    extended.register(
        EventSpec("exams.request.imagined.v1", PaymentCancelled, "exams", "A request arrived.")
    )

    problems = generate.check(generated_copy, extended)

    assert "contracts/schemas/exams.request.imagined.v1.json: missing" in problems
    assert "contracts/README.md: differs from what the models produce" in problems


def test_check_reports_hand_edits_and_stale_files_and_write_repairs_them(
    generated_copy: Path,
) -> None:
    schema = generated_copy / "schemas" / "payments.bill.issued.v1.json"
    schema.write_text(schema.read_text().replace("e-payment", "E-PAYMENT"))
    (generated_copy / "asyncapi.json").unlink()
    stale = generated_copy / "schemas" / "payments.bill.lost.v1.json"
    stale.write_text("{}\n")

    assert generate.check(generated_copy) == [
        "contracts/asyncapi.json: missing",
        "contracts/schemas/payments.bill.issued.v1.json: differs from what the models produce",
        "contracts/schemas/payments.bill.lost.v1.json: stale, no such event type",
    ]

    generate.write(generated_copy)

    assert generate.check(generated_copy) == []
    assert not stale.exists()


def test_check_fails_on_a_readme_without_its_markers(generated_copy: Path) -> None:
    (generated_copy / "README.md").write_text("# Event contracts\n")

    [problem] = generate.check(generated_copy)

    assert "lacks the markers" in problem


def test_cli_check_exits_1_and_writes_nothing_when_out_of_date(
    generated_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = generated_copy / "schemas" / "payments.bill.paid.v1.json"
    schema.write_text("{}\n")

    assert generate.main(["--check"], root=generated_copy) == 1
    assert "payments.bill.paid.v1.json: differs" in capsys.readouterr().err
    assert schema.read_text() == "{}\n"

    assert generate.main([], root=generated_copy) == 0
    assert generate.main(["--check"], root=generated_copy) == 0


def test_schemas_carry_id_dialect_and_summary() -> None:
    for spec in REGISTRY:
        path = generate.PACKAGE_DIR / "schemas" / f"{spec.routing_key}.json"
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$id"] == f"{SCHEMA_BASE}{spec.routing_key}.json"
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["description"] == spec.summary
        assert schema["title"] == spec.data_model.__name__


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_asyncapi_document_describes_every_event_on_the_topic_exchange() -> None:
    document = json.loads((generate.PACKAGE_DIR / "asyncapi.json").read_text(encoding="utf-8"))

    assert document["asyncapi"] == "3.0.0"
    production = document["servers"]["production"]
    assert production["protocol"] == "amqps"
    assert production["pathname"] == "/{vhost}"
    assert "vhost" in production["variables"]
    assert production["security"] == [{"$ref": "#/components/securitySchemes/userPassword"}]
    assert document["components"]["securitySchemes"]["userPassword"]["type"] == "userPassword"
    assert document["servers"]["development"]["protocol"] == "amqp"
    assert "read-only" in document["info"]["description"]
    assert sorted(document["channels"]) == REGISTRY.keys()
    for spec in REGISTRY:
        channel = document["channels"][spec.routing_key]
        assert channel["address"] == spec.routing_key
        binding = channel["bindings"]["amqp"]
        assert binding["is"] == "routingKey"
        assert binding["exchange"] == {
            "name": "amman.events",
            "type": "topic",
            "durable": True,
            "autoDelete": False,
        }  # no vhost: it is the server's variable
        operation = document["operations"][f"{spec.routing_key}.send"]
        assert operation["action"] == "send"
        assert operation["tags"] == [{"name": spec.producer}]
        assert _resolve(document, operation["channel"]["$ref"]) is channel
        message = document["components"]["messages"][spec.routing_key]
        assert message["contentType"] == CONTENT_TYPE
        data_ref = message["payload"]["allOf"][1]["properties"]["data"]["$ref"]
        assert _resolve(document, data_ref)["title"] == spec.data_model.__name__
    for node in _walk(document):
        if isinstance(node, dict) and "$ref" in node:
            _resolve(document, node["$ref"])  # every reference resolves inside the document


def test_readme_example_is_a_valid_event() -> None:
    readme = (generate.PACKAGE_DIR / "README.md").read_text(encoding="utf-8")
    [example] = re.findall(r"```json\n(.*?)```", readme, flags=re.DOTALL)

    event, data = parse_event(example)

    assert event.type == "jo.gov.amman.payments.bill.issued.v1"
    assert isinstance(data, BillIssued)


# ---- the envelope ---------------------------------------------------------------------------


def test_new_event_and_parse_event_round_trip() -> None:
    data = bill_issued()
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    event = new_event(
        "payments.bill.issued.v1",
        data,
        source_service="payments",
        subject="EX-2026-000123",
        time=NOW.astimezone(AMMAN),
        traceparent=traceparent,
    )
    parsed, parsed_data = parse_event(event.to_json())

    assert parsed == event
    # The data, as the broker carries it: the payer's name masked (contracts/personal.py).
    assert parsed_data == minimised(REGISTRY.spec_for("payments.bill.issued.v1"), data)
    assert parsed_data.applicant.phone == data.applicant.phone
    assert parsed.specversion == "1.0"
    assert re.fullmatch(r"[0-9a-f]{32}", parsed.id)
    assert parsed.source == "/services/payments"
    assert parsed.type == "jo.gov.amman.payments.bill.issued.v1"
    assert parsed.routing_key == "payments.bill.issued.v1"
    assert parsed.subject == "EX-2026-000123"
    assert parsed.time == NOW
    assert parsed.time.tzinfo == UTC
    assert parsed.datacontenttype == "application/json"
    assert parsed.dataschema == "https://schemas.amman.jo/events/payments.bill.issued.v1.json"
    assert parsed.traceparent == traceparent


@pytest.mark.parametrize("routing_key", REGISTRY.keys())
def test_every_registered_event_round_trips(routing_key: str) -> None:
    spec = REGISTRY.spec_for(routing_key)
    data = spec.data_model.model_validate(SAMPLES[spec.data_model])

    event = new_event(routing_key, data, source_service=spec.producer, subject=None, time=NOW)

    # The data comes back as the broker carries it (contracts/personal.py).
    assert parse_event(event.to_json()) == (event, minimised(spec, data))


def test_parse_event_accepts_bytes_text_and_a_mapping() -> None:
    event = bill_issued_event()

    for body in (event.to_json(), event.to_json().decode(), wire(event)):
        assert parse_event(body) == (
            event,
            minimised(REGISTRY.spec_for("payments.bill.issued.v1"), bill_issued()),
        )


def test_each_event_gets_its_own_id_unless_given_one() -> None:
    assert bill_issued_event().id != bill_issued_event().id
    assert bill_issued_event(event_id="outbox-42").id == "outbox-42"


def test_body_leaves_out_unset_attributes_but_keeps_nulls_in_data() -> None:
    body = json.loads(bill_issued_event().to_json())

    assert "traceparent" not in body
    assert body["data"]["applicant"]["national_id"] is None


def test_extensions_survive_a_round_trip() -> None:
    document = wire(bill_issued_event(), partitionkey="EX-2026-000123", sequence=7)

    event, _ = parse_event(document)

    assert event.model_extra == {"partitionkey": "EX-2026-000123", "sequence": 7}
    assert json.loads(event.to_json())["sequence"] == 7


@pytest.mark.parametrize(
    "extension",
    [{"trace_id": "x"}, {"Partition": "x"}, {"nested": {"a": 1}}, {"ratio": 0.5}],
    ids=["underscore", "uppercase", "object", "float"],
)
def test_extensions_must_be_cloudevents_attributes(extension: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_event(wire(bill_issued_event(), **extension))


def test_unknown_event_type_is_rejected() -> None:
    unknown = wire(bill_issued_event(), type="jo.gov.amman.payments.bill.lost.v1")

    with pytest.raises(UnknownEventType) as raised:
        parse_event(unknown)
    assert raised.value.routing_key == "payments.bill.lost.v1"

    with pytest.raises(UnknownEventType):
        new_event(
            "payments.bill.lost.v1",
            bill_issued(),
            source_service="payments",
            subject=None,
            time=NOW,
        )


@pytest.mark.parametrize(
    "changes",
    [
        {"type": "payments.bill.issued.v1"},  # no jo.gov.amman. prefix
        {"specversion": "0.3"},
        {"id": ""},
        {"source": "payments"},
        {"time": "2026-11-28T07:30:12"},  # naive
        {"datacontenttype": "application/xml"},
        {"data": None},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_malformed_envelope_is_rejected(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_event(wire(bill_issued_event(), **changes))


def test_bad_json_is_a_value_error() -> None:
    # Consumers dead-letter on ValueError: pydantic's ValidationError is one.
    with pytest.raises(ValueError):
        parse_event(b'{"specversion": "1.0", ')


@pytest.mark.parametrize(
    "data_changes",
    [
        {"amount_fils": -1},
        {"amount_fils": 12.5},
        {"currency": "USD"},
        {"due_at": "2026-12-01T21:59:59"},  # naive
        {"payment_reference": "EX-2026-000123"},  # no <service>: prefix
        {"e_payment_number": "EP-1"},
        {"applicant": {"name": "ليلى أحمد"}},  # no phone
        {"description": {"ar": "رسوم"}},  # no English text
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_invalid_data_is_rejected(data_changes: dict[str, Any]) -> None:
    event = bill_issued_event()
    document = wire(event, data={**event.data, **data_changes})

    with pytest.raises(ValidationError):
        parse_event(document)


def test_new_event_insists_on_the_registered_model_producer_and_an_aware_time() -> None:
    with pytest.raises(TypeError, match="BillIssued"):
        new_event(
            "payments.bill.issued.v1",
            BillPaid.model_validate(SAMPLES[BillPaid]),
            source_service="payments",
            subject=None,
            time=NOW,
        )
    with pytest.raises(ValueError, match="produced by 'payments'"):
        new_event(
            "payments.bill.issued.v1",
            bill_issued(),
            source_service="exams",
            subject=None,
            time=NOW,
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        new_event(
            "payments.bill.issued.v1",
            bill_issued(),
            source_service="payments",
            subject=None,
            time=NOW.replace(tzinfo=None),
        )


def test_new_event_uses_the_given_registry() -> None:
    registry = EventRegistry(
        [EventSpec("exams.request.imagined.v1", PaymentCancelled, "exams", "A request arrived.")]
    )
    data = PaymentCancelled.model_validate(SAMPLES[PaymentCancelled])

    event = new_event(
        "exams.request.imagined.v1",
        data,
        source_service="exams",
        subject=None,
        time=NOW,
        registry=registry,
    )

    assert parse_event(event.to_json(), registry) == (event, data)
    with pytest.raises(UnknownEventType):
        parse_event(event.to_json())


def test_routing_key_and_event_type_convert_both_ways() -> None:
    assert event_type_of("exams.payment.requested.v1") == (
        "jo.gov.amman.exams.payment.requested.v1"
    )
    assert routing_key_of("jo.gov.amman.exams.payment.requested.v1") == (
        "exams.payment.requested.v1"
    )
    assert TYPE_PREFIX == "jo.gov.amman."
    for not_ours in ("exams.payment.requested.v1", "jo.gov.amman.", "com.example.x.y.z.v1"):
        with pytest.raises(ValueError):
            routing_key_of(not_ours)


# ---- the registry ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "routing_key",
    [
        "payments.bill.issued",  # no version
        "payments.bill.issued.v0",  # majors start at 1
        "payments.bill.issued.1",
        "payments.bill.issued.V1",
        "Payments.bill.issued.v1",
        "payments.bill.issued.v1.extra",
        "payments.bill.v1",
        "payments..issued.v1",
        "payments.bill_.issued.v1",
        "payments._bill.issued.v1",
        "payments.bill-x.issued.v1",
        "payments.bill2.issued.v1",
        "payments.bill.issued.v1\n",
        "payments.*.issued.v1",
        "",
    ],
)
def test_register_refuses_a_malformed_routing_key(routing_key: str) -> None:
    with pytest.raises(ValueError, match="is not <service>"):
        EventRegistry().register(EventSpec(routing_key, BillIssued, "payments", "Something."))


def test_register_refuses_a_key_not_starting_with_its_producer() -> None:
    with pytest.raises(ValueError, match="must start with its producer"):
        EventRegistry().register(
            EventSpec("exams.bill.issued.v1", BillIssued, "payments", "A bill was issued.")
        )


def test_register_refuses_a_second_model_for_a_key_but_accepts_the_same_spec_again() -> None:
    spec = EventSpec("payments.bill.issued.v1", BillIssued, "payments", "A bill was issued.")
    registry = EventRegistry([spec])

    registry.register(spec)
    with pytest.raises(ValueError, match="already registered with BillIssued"):
        registry.register(replace(spec, data_model=BillPaid))
    with pytest.raises(ValueError, match="different spec"):
        registry.register(replace(spec, summary="Another summary."))
    assert registry.spec_for("payments.bill.issued.v1") is spec


def test_register_refuses_a_model_that_forbids_added_fields() -> None:
    class Strict(ContractModel):
        model_config = ConfigDict(extra="forbid")

        name: str = Field(description="A name.")

    with pytest.raises(ValueError, match="must not forbid extra fields"):
        EventRegistry().register(EventSpec("exams.thing.done.v1", Strict, "exams", "Done."))


def test_the_default_registry_is_frozen_and_copies_are_not() -> None:
    spec = EventSpec("exams.request.imagined.v1", PaymentCancelled, "exams", "A request arrived.")

    with pytest.raises(RuntimeError, match="frozen"):
        REGISTRY.register(spec)

    copy = REGISTRY.copy()
    copy.register(spec)
    assert spec.routing_key in copy
    assert spec.routing_key not in REGISTRY
    assert len(copy) == len(REGISTRY) + 1


def test_registry_iterates_sorted_and_parses_data() -> None:
    assert [spec.routing_key for spec in REGISTRY] == sorted(REGISTRY.keys())
    assert "payments.bill.paid.v1" in REGISTRY
    assert "payments.bill.lost.v1" not in REGISTRY

    data = REGISTRY.parse_data("payments.bill.paid.v1", SAMPLES[BillPaid])

    assert isinstance(data, BillPaid)
    with pytest.raises(UnknownEventType):
        REGISTRY.spec_for("payments.bill.lost.v1")


def test_every_registered_key_follows_the_rule_and_names_its_producer() -> None:
    for spec in REGISTRY:
        match = ROUTING_KEY_RE.fullmatch(spec.routing_key)
        assert match is not None, spec.routing_key
        assert match["service"] == spec.producer, spec.routing_key


def test_registry_holds_exactly_the_contract_modules_specs() -> None:
    modules = [
        importlib.import_module(f"contracts.{info.name}")
        for info in pkgutil.iter_modules(contracts.__path__)
    ]
    declared = [spec for module in modules for spec in getattr(module, "SPECS", ())]

    assert {module.__name__ for module in modules if hasattr(module, "SPECS")} == {
        module.__name__ for module in contracts.CONTRACT_MODULES
    }
    assert sorted(spec.routing_key for spec in declared) == REGISTRY.keys()


def test_the_payments_contract_is_complete() -> None:
    for service in ("licensing", "contractors", "courses", "training", "exams"):
        assert REGISTRY.spec_for(f"{service}.payment.requested.v1").data_model is PaymentRequested
        assert REGISTRY.spec_for(f"{service}.payment.cancelled.v1").data_model is PaymentCancelled
        assert REGISTRY.spec_for(f"{service}.refund.requested.v1").data_model is RefundRequested
    for key, model in {
        "payments.bill.issued.v1": BillIssued,
        "payments.bill.paid.v1": BillPaid,
        "payments.bill.expired.v1": BillExpired,
        "payments.bill.cancelled.v1": BillCancelled,
        "payments.refund.approved.v1": RefundApproved,
        "payments.refund.rejected.v1": RefundRejected,
        "notifier.sms.failed.v1": SmsFailed,
    }.items():
        assert REGISTRY.spec_for(key).data_model is model
    assert len(REGISTRY) == sum(len(module.SPECS) for module in contracts.CONTRACT_MODULES)


def test_events_that_name_an_applicant_notify_them_or_say_why_not() -> None:
    for spec in REGISTRY:
        if {"applicant", "payer"} & set(spec.data_model.model_fields):
            assert spec.notifies_applicant or spec.silent_because, spec.routing_key
    assert REGISTRY.spec_for("payments.bill.issued.v1").notifies_applicant


# ---- the data models ------------------------------------------------------------------------


def test_every_registered_model_has_a_sample() -> None:
    assert {spec.data_model for spec in REGISTRY} <= set(SAMPLES)


@pytest.mark.parametrize("model", list(SAMPLES), ids=lambda model: model.__name__)
def test_data_models_tolerate_fields_added_later(model: type[BaseModel]) -> None:
    # Within a major version producers may add optional fields, at any depth: an older
    # subscriber must go on reading the event.
    added: dict[str, Any] = {
        name: {**value, "added_later": True} if isinstance(value, dict) else value
        for name, value in SAMPLES[model].items()
    }
    added["added_later"] = {"any": ["json"]}

    assert model.model_validate(added) == model.model_validate(SAMPLES[model])


def test_published_schemas_never_forbid_added_fields() -> None:
    for spec in REGISTRY:
        for node in _walk(spec.data_model.model_json_schema()):
            assert not (isinstance(node, dict) and node.get("additionalProperties") is False)


def test_every_field_of_every_published_schema_has_a_description() -> None:
    # Other government systems read only the schemas: an undescribed field is a question to us.
    for spec in REGISTRY:
        schema = spec.data_model.model_json_schema()
        objects = [schema, *schema.get("$defs", {}).values()]
        for obj in objects:
            for name, prop in obj["properties"].items():
                assert prop.get("description"), f"{spec.routing_key}: {obj['title']}.{name}"


def test_times_are_normalised_to_utc_and_must_be_aware() -> None:
    paid = BillPaid.model_validate({**SAMPLES[BillPaid], "paid_at": "2026-11-28T10:30:12+03:00"})

    assert paid.paid_at == NOW
    assert paid.paid_at.tzinfo == UTC
    with pytest.raises(ValidationError):
        BillPaid.model_validate({**SAMPLES[BillPaid], "paid_at": "2026-11-28T10:30:12"})


def test_a_payment_request_is_for_a_positive_amount() -> None:
    # A free step publishes no payment request at all.
    with pytest.raises(ValidationError):
        PaymentRequested.model_validate({**SAMPLES[PaymentRequested], "amount_fils": 0})


def test_applicant_defaults_to_arabic_and_text_is_bilingual() -> None:
    applicant = Applicant(name="Layla Ahmad", phone="+962791234567")

    assert applicant.lang == "ar"
    assert applicant.national_id is None
    assert LocalizedText(ar="رسوم", en="Fee").en == "Fee"


def test_contract_models_are_frozen() -> None:
    with pytest.raises(ValidationError):
        bill_issued().amount_fils = 1  # type: ignore[misc]


def test_a_reference_is_built_and_read_back_by_one_rule() -> None:
    built = reference("training", "TR-2026-000045", "no_show_refund")

    assert built == "training:TR-2026-000045:no_show_refund"
    assert reference_parts(built) == ("training", "TR-2026-000045", "no_show_refund")
    for malformed in ("exams:EX-1", "exams::fee", "Exams:EX-1:fee", "exams:EX 1:fee", ""):
        assert reference_parts(malformed) is None, malformed

"""The `notifier.sms.send` command: its contract, its envelope and its schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contracts import REGISTRY, generate, parse_event
from contracts.notifier import COMMAND_SPECS, SEND_SMS_COMMAND, SendSms, send_sms_command
from services.notifier.consumers import COMMAND_REGISTRY

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_a_command_round_trips_through_its_envelope() -> None:
    command = SendSms(
        message_id="contractors:CP-2026-000123:verification:1",
        phone="0791234567",
        template="one_time_code",
        values={"code": "482913"},
        sensitive=True,
        request_number="CP-2026-000123",
    )

    envelope = send_sms_command(command, source_service="contractors", time=NOW)
    event, data = parse_event(envelope.to_json(), COMMAND_REGISTRY)

    assert event.type == "jo.gov.amman.notifier.sms.send.v1"
    assert event.routing_key == SEND_SMS_COMMAND
    assert event.source == "/services/contractors"
    assert event.subject == "CP-2026-000123"
    assert data == command


def test_the_command_is_not_an_event() -> None:
    assert SEND_SMS_COMMAND not in REGISTRY
    assert SEND_SMS_COMMAND in COMMAND_REGISTRY and COMMAND_REGISTRY.is_frozen


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "hi", "template": "one_time_code"},
        {},
        {"text": "hi", "values": {"code": "1"}},
        {"text": ""},
        {"template": "Bad Name"},
    ],
)
def test_a_command_needs_exactly_one_of_text_and_template(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SendSms(message_id="contractors:1", phone="0791234567", **fields)  # type: ignore[arg-type]


def test_the_message_id_names_the_sending_service() -> None:
    with pytest.raises(ValidationError):
        SendSms(message_id="just-an-id", phone="0791234567", text="hi")


def test_a_naive_command_time_is_refused() -> None:
    command = SendSms(message_id="contractors:1", phone="0791234567", text="hi")

    with pytest.raises(ValueError, match="timezone"):
        send_sms_command(command, source_service="contractors", time=datetime(2026, 1, 1))


def test_the_commands_json_schema_is_generated_apart_from_the_events() -> None:
    [spec] = COMMAND_SPECS
    commands = generate.PACKAGE_DIR / generate.COMMANDS_DIR
    path = commands / generate.SCHEMA_DIR / f"{spec.routing_key}.json"
    schema = json.loads(path.read_text())

    assert schema == json.loads(json.dumps(generate.data_schema(spec, command=True)))
    assert schema["$id"] == "https://schemas.amman.jo/commands/notifier.sms.send.v1.json"
    assert not (generate.PACKAGE_DIR / generate.SCHEMA_DIR / path.name).exists()
    document = json.loads((commands / generate.ASYNCAPI_FILE).read_text())
    channel = document["channels"]["notifier.sms.send"]
    assert channel["bindings"]["amqp"]["exchange"]["name"] == "amman.commands"
    assert channel["bindings"]["amqp"]["exchange"]["type"] == "direct"
    assert document["operations"]["notifier.sms.send.receive"]["action"] == "receive"
    events = json.loads((generate.PACKAGE_DIR / generate.ASYNCAPI_FILE).read_text())
    assert "notifier.sms.send.v1" not in events["components"]["messages"]
    assert not any("SendSms" in name for name in events["components"]["schemas"])
    assert {"message_id", "phone", "text", "template", "sensitive"} <= set(schema["properties"])

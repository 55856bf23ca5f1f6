"""Every message of the published AsyncAPI documents has realistic examples, built from the
contract models, that a real JSON Schema validator (python-jsonschema, draft 2020-12, formats
checked) accepts: the whole message against its payload in the AsyncAPI document, and the data
against the standalone schema a subscriber downloads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from contracts import REGISTRY, generate
from contracts.examples import AR_APPLICANT, EN_APPLICANT, EXAMPLE_CODE_PUBLIC_KEY
from contracts.personal import mask_name
from services.common.codeseal import open_values, private_key, public_key

ROOT = generate.PACKAGE_DIR
EVENTS = json.loads((ROOT / generate.ASYNCAPI_FILE).read_text(encoding="utf-8"))
COMMANDS = json.loads((ROOT / "commands" / generate.ASYNCAPI_FILE).read_text(encoding="utf-8"))
ARABIC = re.compile(r"[\u0600-\u06FF]")
LATIN = re.compile(r"[A-Za-z]")

MESSAGES = [
    (name, document, folder)
    for document, folder in ((EVENTS, ROOT / "schemas"), (COMMANDS, ROOT / "commands" / "schemas"))
    for name in document["components"]["messages"]
]


def _payload_validator(document: dict[str, Any], message: str) -> Draft202012Validator:
    # The payload's $refs point at #/components/schemas of the AsyncAPI document: validate with
    # the document's components as the root the references resolve against.
    schema = {
        "$ref": f"#/components/messages/{message}/payload",
        "components": document["components"],
    }
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _texts(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for value in node.values() for text in _texts(value)]
    if isinstance(node, list):
        return [text for value in node for text in _texts(value)]
    return []


def test_every_event_type_and_the_command_have_a_message() -> None:
    assert sorted(EVENTS["components"]["messages"]) == REGISTRY.keys()
    assert sorted(COMMANDS["components"]["messages"]) == ["notifier.sms.send.v1"]


@pytest.mark.parametrize(("message", "document", "folder"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_every_example_is_valid_against_its_schemas(
    message: str, document: dict[str, Any], folder: Path
) -> None:
    examples = document["components"]["messages"][message]["examples"]
    assert examples, f"{message} has no example"
    payload = _payload_validator(document, message)
    data_schema = json.loads((folder / f"{message}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(data_schema)
    data = Draft202012Validator(data_schema, format_checker=FormatChecker())
    for example in examples:
        event = example["payload"]
        assert [str(e.message) for e in payload.iter_errors(event)] == [], example["name"]
        assert [str(e.message) for e in data.iter_errors(event["data"])] == [], example["name"]
        assert event["type"] == f"jo.gov.amman.{message}"
        assert event["dataschema"] == data_schema["$id"]


def test_the_validator_would_refuse_a_broken_example() -> None:
    # The check above can fail: a wrong amount type and a missing field are refused.
    event = json.loads(json.dumps(EVENTS["components"]["messages"]["payments.bill.issued.v1"]))
    broken = event["examples"][0]["payload"]
    broken["data"]["amount_fils"] = "25.000"
    del broken["data"]["e_payment_number"]
    errors = list(_payload_validator(EVENTS, "payments.bill.issued.v1").iter_errors(broken))
    assert len(errors) >= 1


@pytest.mark.parametrize("message", REGISTRY.keys())
def test_examples_are_bilingual(message: str) -> None:
    examples = EVENTS["components"]["messages"][message]["examples"]
    texts = [text for example in examples for text in _texts(example["payload"]["data"])]
    people = [
        example["payload"]["data"].get(field)
        for example in examples
        for field in ("applicant", "payer")
        if field in example["payload"]["data"]
    ]
    if people:
        # One example per language of the applicant, each as the broker carries it: the name
        # masked unless a consumer needs it (contracts/personal.py), never the national ID.
        assert sorted(person["lang"] for person in people) == ["ar", "en"]
        assert all(person["national_id"] is None for person in people)
        names = {person["name"] for person in people}
        assert names in (
            {AR_APPLICANT["name"], EN_APPLICANT["name"]},
            {mask_name(AR_APPLICANT["name"]), mask_name(EN_APPLICANT["name"])},
        )
        assert any(ARABIC.search(t) for t in texts) and any(LATIN.search(t) for t in texts)


def test_the_one_time_code_example_is_marked_sensitive() -> None:
    [otp] = [
        example["payload"]
        for example in COMMANDS["components"]["messages"]["notifier.sms.send.v1"]["examples"]
        if example["name"] == "one_time_code"
    ]
    assert otp["data"]["sensitive"] is True
    assert "values" not in otp["data"] or otp["data"]["values"] == {}
    assert "482913" not in json.dumps(otp)
    # The example's sealed box opens, with the example key pair's private half, to the code.
    example_private_key = private_key("k3fpsn6fmqlR56brl2myP6fITYdSatwDg1LR9qfy/+E=")
    assert bytes(example_private_key.public_key) == bytes(public_key(EXAMPLE_CODE_PUBLIC_KEY))
    assert open_values(otp["data"]["sealed_values"], example_private_key) == {"code": "482913"}

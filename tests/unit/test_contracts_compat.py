"""The compatibility gate (contracts/compat.py): each kind of change to a released schema.

The fixtures are the released schema of ``payments.bill.issued.v1`` (nested models, a ``$ref``,
an optional nullable field, a const, an enum) with one change applied each; then the gate is
run end to end through ``generate.check``/``write``/``main`` on a copy of the contracts folder.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import Field, create_model

from contracts import REGISTRY, BillPaid, EventRegistry, generate
from contracts.compat import RELEASED_DIR, breaking_changes, catalogue_changes, load_released

RELEASED = load_released(generate.PACKAGE_DIR)
BASE = RELEASED["payments.bill.issued.v1"]

Change = Callable[[dict[str, Any]], None]


def changed(change: Change) -> dict[str, Any]:
    schema = copy.deepcopy(BASE)
    change(schema)
    return schema


def _drop_field(s: dict[str, Any]) -> None:
    del s["properties"]["e_payment_number"]


def _drop_nested_field(s: dict[str, Any]) -> None:
    del s["$defs"]["Applicant"]["properties"]["lang"]


def _retype(s: dict[str, Any]) -> None:
    s["properties"]["amount_fils"]["type"] = "string"


def _retype_nullable(s: dict[str, Any]) -> None:
    # biller_code: string | null -> string (null refused)
    s["properties"]["biller_code"] = {"type": "string", "description": "x"}


def _narrow_enum(s: dict[str, Any]) -> None:
    s["$defs"]["Applicant"]["properties"]["lang"]["enum"] = ["ar"]


def _change_const(s: dict[str, Any]) -> None:
    s["properties"]["currency"]["const"] = "USD"


def _enum_on_open(s: dict[str, Any]) -> None:
    s["properties"]["e_payment_number"]["enum"] = ["2026000123457"]


def _make_required(s: dict[str, Any]) -> None:
    s["required"].append("biller_code")


def _new_required(s: dict[str, Any]) -> None:
    s["properties"]["receipt"] = {"type": "string"}
    s["required"].append("receipt")


def _required_made_optional(s: dict[str, Any]) -> None:
    s["required"].remove("amount_fils")


def _tighten_bound(s: dict[str, Any]) -> None:
    s["$defs"]["Applicant"]["properties"]["name"]["minLength"] = 3


def _new_pattern(s: dict[str, Any]) -> None:
    s["properties"]["e_payment_number"]["pattern"] = "^[0-9]{13}$"


def _forbid_extra(s: dict[str, Any]) -> None:
    s["additionalProperties"] = False


BREAKING: dict[str, tuple[Change, str]] = {
    "field lost": (_drop_field, "e_payment_number: field removed"),
    "nested field lost": (_drop_nested_field, "applicant.lang: field removed"),
    "type changed": (_retype, "amount_fils: type narrowed, no longer accepts integer"),
    "null refused": (_retype_nullable, "biller_code: type narrowed, no longer accepts null"),
    "enum narrowed": (_narrow_enum, 'applicant.lang: enum narrowed, no longer accepts "en"'),
    "const changed": (_change_const, 'currency: enum narrowed, no longer accepts "JOD"'),
    "enum on an open value": (
        _enum_on_open,
        "e_payment_number: an enum now restricts a value that was open",
    ),
    "field made required": (_make_required, "biller_code: field made required"),
    "new required field": (_new_required, "receipt: new field is required"),
    "required made optional": (
        _required_made_optional,
        "amount_fils: required field made optional",
    ),
    "bound tightened": (_tighten_bound, "applicant.name: minLength tightened to 3"),
    "pattern changed": (_new_pattern, "e_payment_number: pattern changed to '^[0-9]{13}$'"),
    "extra forbidden": (_forbid_extra, "(the data): additional fields now forbidden"),
}


@pytest.mark.parametrize("kind", BREAKING)
def test_each_breaking_change_is_named(kind: str) -> None:
    change, expected = BREAKING[kind]
    assert breaking_changes(BASE, changed(change)) == [expected]


def _add_optional(s: dict[str, Any]) -> None:
    s["properties"]["receipt"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
    }


def _add_nested_optional(s: dict[str, Any]) -> None:
    s["$defs"]["Applicant"]["properties"]["email"] = {"type": "string"}


def _widen_enum(s: dict[str, Any]) -> None:
    s["$defs"]["Applicant"]["properties"]["lang"]["enum"] = ["ar", "en", "fr"]


def _widen_type(s: dict[str, Any]) -> None:
    s["properties"]["amount_fils"]["type"] = "number"


def _make_nullable(s: dict[str, Any]) -> None:
    s["properties"]["e_payment_number"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}


def _loosen_bound(s: dict[str, Any]) -> None:
    del s["properties"]["amount_fils"]["minimum"]


def _reword(s: dict[str, Any]) -> None:
    s["description"] = "Reworded."
    s["properties"]["amount_fils"]["examples"] = [25000]


COMPATIBLE: dict[str, Change] = {
    "optional field added": _add_optional,
    "nested optional field added": _add_nested_optional,
    "enum widened": _widen_enum,
    "type widened": _widen_type,
    "null accepted": _make_nullable,
    "bound loosened": _loosen_bound,
    "descriptions and examples": _reword,
}


@pytest.mark.parametrize("kind", COMPATIBLE)
def test_compatible_changes_pass(kind: str) -> None:
    assert breaking_changes(BASE, changed(COMPATIBLE[kind])) == []


def test_every_released_schema_is_compatible_with_itself() -> None:
    assert catalogue_changes(RELEASED, RELEASED) == []


def test_a_type_that_disappears_is_breaking() -> None:
    current = {name: schema for name, schema in RELEASED.items() if name != "payments.bill.paid.v1"}
    assert catalogue_changes(RELEASED, current) == [
        "payments.bill.paid.v1: released, but no longer published (a type disappeared)"
    ]


def test_every_published_type_is_released() -> None:
    published = {spec.routing_key for spec in [*REGISTRY, *generate.command_specs()]}
    assert published == set(RELEASED)
    for name, schema in RELEASED.items():
        folder = generate.PACKAGE_DIR / "schemas"
        if not (folder / f"{name}.json").exists():
            folder = generate.PACKAGE_DIR / "commands" / "schemas"
        current = (folder / f"{name}.json").read_text(encoding="utf-8")
        assert json.loads(current) == schema, f"{name}: released snapshot is behind"


# ---- end to end through the generator, on a copy of the contracts folder ----------------------


@pytest.fixture
def contracts_copy(tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    root.mkdir()
    shutil.copy(generate.PACKAGE_DIR / "README.md", root / "README.md")
    shutil.copytree(generate.PACKAGE_DIR / RELEASED_DIR, root / RELEASED_DIR)
    generate.write(root)
    assert generate.check(root) == []
    return root


def _with_bill_paid(**fields: Any) -> EventRegistry:
    edited = create_model("BillPaid", __base__=BillPaid, __doc__=BillPaid.__doc__, **fields)
    return EventRegistry(
        replace(spec, data_model=edited) if spec.routing_key == "payments.bill.paid.v1" else spec
        for spec in REGISTRY
    )


def test_gate_refuses_a_required_field_and_generate_writes_nothing(contracts_copy: Path) -> None:
    registry = _with_bill_paid(receipt=(str, Field(description="The provider's receipt.")))
    before = (contracts_copy / "schemas" / "payments.bill.paid.v1.json").read_text()

    problems = generate.check(contracts_copy, registry)
    assert "breaking change: payments.bill.paid.v1: receipt: new field is required" in problems
    with pytest.raises(ValueError, match="receipt: new field is required"):
        generate.write(contracts_copy, registry)
    assert (contracts_copy / "schemas" / "payments.bill.paid.v1.json").read_text() == before


def test_gate_refuses_a_narrowed_enum(contracts_copy: Path) -> None:
    registry = _with_bill_paid(
        currency=(Literal["USD"], Field(default="USD", description="Currency of the amount."))
    )
    assert generate.breaking(contracts_copy, registry) == [
        'payments.bill.paid.v1: currency: enum narrowed, no longer accepts "JOD"'
    ]


def test_gate_refuses_a_type_that_disappears(contracts_copy: Path) -> None:
    registry = EventRegistry(s for s in REGISTRY if s.routing_key != "payments.bill.paid.v1")
    assert generate.breaking(contracts_copy, registry) == [
        "payments.bill.paid.v1: released, but no longer published (a type disappeared)"
    ]


def test_gate_passes_an_optional_field_and_generate_releases_it(contracts_copy: Path) -> None:
    registry = _with_bill_paid(
        receipt=(str | None, Field(default=None, description="The provider's receipt."))
    )
    assert generate.breaking(contracts_copy, registry) == []
    generate.write(contracts_copy, registry)
    released = json.loads(
        (contracts_copy / RELEASED_DIR / "payments.bill.paid.v1.json").read_text()
    )
    assert "receipt" in released["properties"]
    assert generate.check(contracts_copy, registry) == []


def test_cli_check_exits_1_on_a_breaking_change(
    contracts_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = contracts_copy / RELEASED_DIR / "payments.bill.paid.v1.json"
    schema = json.loads(snapshot.read_text())
    schema["properties"]["paid_by_card"] = {"type": "boolean"}  # released, now gone
    snapshot.write_text(json.dumps(schema))

    assert generate.main(["--check"], root=contracts_copy) == 1
    assert "payments.bill.paid.v1: paid_by_card: field removed" in capsys.readouterr().err
    assert generate.main([], root=contracts_copy) == 1

"""The registry import (a registrar's API; all or nothing, row errors by line and field,
idempotent), and who may see and do what: a citizen sees only their own renewals (others: 404),
staff actions need their role (403), bad input is a problem naming the field, never a 500."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.contractors.conftest import PAID, StartPlatform

pytestmark = pytest.mark.integration

GOOD_JSON = {
    "rows": [
        {
            "contractor_number": "C-77001",
            "name_ar": "شركة البناء الحديث",
            "name_en": "Modern Building Co.",
            "classification": "roads",
            "category": "2",
            "phone": "0795556677",
            "permit_number": "P-2026-5001",
            "permit_year": 2026,
            "valid_from": "2026-02-01",
            "valid_to": "2027-01-31",
        }
    ]
}
BAD_CSV = """contractor_number,name_ar,name_en,classification,category,phone,permit_number,\
permit_year,valid_from,valid_to,permit_status
C-88001,مؤسسة أ,Est. A,buildings,2,,P-1,2026,2026-01-01,2026-12-31,active
C-88002,,Est. B,buildings,2,0612345678,P-2,20x6,2026-01-01,2025-12-31,active
C-88003,مؤسسة ج,Est. C,buildings,2,,P-3,2026,2026-13-01,2026-12-31,closed
"""


async def _import(
    platform: Any, content: bytes, content_type: str, token: str | None = None
) -> Any:
    return await platform.call(
        "POST",
        "/v1/registry/imports",
        token or platform.registrar(),
        content=content,
        headers={"Content-Type": content_type},
    )


async def test_the_registry_import_is_all_or_nothing_and_idempotent(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform(payments=False)

    good = await _import(platform, json.dumps(GOOD_JSON).encode(), "application/json")
    assert good.status_code == 200, good.text
    assert good.json() == {
        "rows": 1,
        "created": {"contractors": 1, "permits": 1},
        "updated": {"contractors": 0, "permits": 0},
        "unchanged": {"contractors": 0, "permits": 0},
    }
    again = await _import(platform, json.dumps(GOOD_JSON).encode(), "application/json")
    assert again.json()["unchanged"] == {"contractors": 1, "permits": 1}
    changed = json.loads(json.dumps(GOOD_JSON))
    changed["rows"][0]["valid_to"] = "2027-02-28"
    updated = await _import(platform, json.dumps(changed).encode(), "application/json")
    assert updated.json()["updated"] == {"contractors": 0, "permits": 1}
    contractor = await platform.call("GET", "/v1/registry/contractors/C-77001", platform.reviewer())
    assert contractor.json()["phone"] == "+962795556677"
    assert contractor.json()["permits"][0]["valid_to"] == "2027-02-28"
    found = await platform.call(
        "POST",
        "/v1/lookups",
        platform.citizen(),
        {"contractor_number": "C-77001", "permit_number": "P-2026-5001", "permit_year": 2026},
    )
    assert found.json()["contractor_name"]["ar"] == "شركة البناء الحديث"

    bad = await _import(platform, BAD_CSV.encode(), "text/csv")
    assert bad.status_code == 422, bad.text
    assert bad.json()["detail"] == "6 error(s) in the file: nothing was imported"
    assert [(e["line"], e["field"]) for e in bad.json()["errors"]] == [
        (3, "name_ar"),
        (3, "permit_year"),
        (3, "valid_to"),
        (3, "phone"),
        (4, "valid_from"),
        (4, "permit_status"),
    ]
    # Line 2 was good, but nothing of the file was imported.
    missing = await platform.call("GET", "/v1/registry/contractors/C-88001", platform.registrar())
    assert missing.status_code == 404

    not_csv = await _import(platform, b"just text", "text/csv")
    assert not_csv.status_code == 422 and not_csv.json()["errors"][0]["field"] == "body"
    not_json = await _import(platform, b"{", "application/json")
    assert not_json.status_code == 422
    assert (
        await _import(platform, BAD_CSV.encode(), "text/csv", platform.reviewer())
    ).status_code == 403


async def test_ownership_roles_and_bad_input(start_platform: StartPlatform) -> None:
    platform = await start_platform(payments=False)
    owner = platform.citizen("owner")
    stranger = platform.citizen("stranger")
    number = (await platform.renewal(owner))["request_number"]

    # A citizen sees only their own renewals; another one's number is "not found".
    assert (await platform.call("GET", f"/v1/requests/{number}", owner)).status_code == 200
    hidden = await platform.call("GET", f"/v1/requests/{number}", stranger)
    unknown = await platform.call("GET", "/v1/requests/CP-2026-999999", stranger)
    assert hidden.status_code == unknown.status_code == 404
    assert (await platform.call("GET", "/v1/requests", stranger)).json()["total"] == 0
    assert (await platform.call("GET", "/v1/requests", owner)).json()["total"] == 1

    # Staff actions need their role.
    for path, body in (
        (f"/v1/requests/{number}/approval", {}),
        (f"/v1/requests/{number}/rejection", {"reason": {"ar": "سبب", "en": "reason"}}),
    ):
        assert (await platform.call("POST", path, owner, body)).status_code == 403
        assert (await platform.call("POST", path, platform.registrar(), body)).status_code == 403
    assert (
        await platform.call("POST", "/v1/lookups", platform.reviewer(), PAID)
    ).status_code == 403
    assert (await platform.call("POST", "/v1/lookups", None, PAID)).status_code == 401

    # Bad input: a problem naming every bad field, never a 500.
    bad = await platform.call(
        "POST",
        "/v1/verifications",
        owner,
        {"contractor_number": "C 1!*", "permit_number": "", "permit_year": 26, "phone": "0612"},
    )
    assert bad.status_code == 422, bad.text
    assert {e["field"] for e in bad.json()["errors"]} >= {"permit_number", "permit_year"}
    rules = await platform.call(
        "POST",
        "/v1/verifications",
        owner,
        {
            "contractor_number": "C 1!*",
            "permit_number": "P-1",
            "permit_year": 2026,
            "phone": "0791234567",
        },
    )
    assert rules.status_code == 422, rules.text
    assert {e["field"] for e in rules.json()["errors"]} == {"contractor_number"}
    # A landline breaks the phone's published pattern: refused by validation.
    phone = await platform.call("POST", "/v1/verifications", owner, {**PAID, "phone": "0612345678"})
    assert phone.status_code == 422 and phone.json()["errors"][0]["field"] == "phone"
    form = await platform.call(
        "POST",
        "/v1/requests",
        owner,
        {**PAID, "reason": "x", "phone": "07", "verification_id": "v", "code": "12ab"},
    )
    assert form.status_code == 422
    # The phone's published pattern is checked with the code's (both validation).
    assert {e["field"] for e in form.json()["errors"]} == {"code", "phone"}
    fields = await platform.call(
        "POST",
        "/v1/requests",
        owner,
        {**PAID, "reason": "x", "phone": "0791234567", "verification_id": "v", "code": "123456"},
    )
    assert fields.status_code == 422
    assert {e["field"] for e in fields.json()["errors"]} == {"reason"}
    rejection = await platform.call(
        "POST", f"/v1/requests/{number}/rejection", platform.reviewer(), {"reason": {"ar": "x"}}
    )
    assert rejection.status_code == 422
    assert rejection.json()["errors"][0]["field"] == "reason.en"
    extra = await platform.call("POST", "/v1/lookups", owner, {**PAID, "name": "x"})
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "name"


async def _cli(path: Path, database: str, mongo_url: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.contractors.registry",
        "import",
        str(path),
        env={
            **os.environ,
            "ENVIRONMENT": "test",
            "MONGO_URL": mongo_url,
            "MONGO_DATABASE": database,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_registry_cli_imports_a_file_all_or_nothing(
    tmp_path: Path, mongo: Any, database_name: str, infra: Any
) -> None:
    # `<database_name>_cli`: dropped with the test's database.
    database = f"{database_name}_cli"
    good = tmp_path / "registry.json"
    good.write_text(json.dumps(GOOD_JSON), encoding="utf-8")
    code, out, _ = await _cli(good, database, infra.mongo_url)
    assert code == 0, out
    assert json.loads(out)["created"] == {"contractors": 1, "permits": 1}
    assert (await _cli(good, database, infra.mongo_url))[0] == 0
    assert await mongo[database]["permits"].count_documents({}) == 1

    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    code, _, err = await _cli(bad, database, infra.mongo_url)
    assert code == 1
    assert f"{bad}:3: name_ar: This value is required" in err
    assert "6 error(s): nothing imported" in err
    assert await mongo[database]["contractors"].count_documents({}) == 1


async def test_the_sample_registry_is_loaded_at_start_when_asked(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform(payments=False, CONTRACTORS_LOAD_SAMPLE="true")
    found = await platform.call(
        "POST",
        "/v1/lookups",
        platform.citizen(),
        {"contractor_number": "C-20871", "permit_number": "P-2026-0930", "permit_year": 2026},
    )
    assert found.status_code == 200, found.text
    assert found.json()["contractor_name"]["en"] == "Al-Jabal Construction Co."

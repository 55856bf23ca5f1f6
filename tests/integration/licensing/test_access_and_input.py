"""Who may see and do what (another citizen gets 404, a wrong role 403), and bad input: each field
and each bad upload is a problem response naming the field, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.licensing.conftest import EXTERNAL, INSPECTOR, PDF, PNG, Platform

pytestmark = pytest.mark.integration


async def test_another_citizen_gets_404_for_every_request_route(platform: Platform) -> None:
    number, _ = await platform.submitted()
    stranger = platform.token(platform.citizen())

    for method, path in (
        ("GET", f"/v1/requests/{number}"),
        ("GET", f"/v1/requests/{number}/documents/occupancy_permit"),
        ("POST", f"/v1/requests/{number}/submit"),
        ("POST", f"/v1/requests/{number}/withdraw"),
        ("POST", f"/v1/requests/{number}/new-bill"),
    ):
        response = await platform.call(method, path, stranger)
        assert response.status_code == 404, (method, path, response.text)
    upload = await platform.call(
        "PUT",
        f"/v1/requests/{number}/documents/occupancy_permit",
        stranger,
        files={"file": ("a.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 404
    missing = await platform.call("GET", "/v1/requests/LC-2020-999999", stranger)
    assert missing.status_code == 404 and missing.json()["type"] == upload.json()["type"]
    mine = await platform.call("GET", "/v1/requests", stranger)
    assert mine.status_code == 200
    assert mine.json() == {"items": [], "page": 1, "page_size": 20, "total": 0}


async def test_staff_steps_need_their_own_role(platform: Platform) -> None:
    number, subject = await platform.submitted()
    citizen = platform.token(subject)
    inspector = platform.inspector

    cases: list[tuple[str, str, Any]] = [
        (citizen, "document-check", {"accepted": True}),
        (inspector, "document-check", {"accepted": True}),
        (platform.clerk, "inspection", {"inspection_at": platform.next_slot().isoformat()}),
        (platform.committee, "inspection-result", {"compliant": True}),
        (inspector, "committee-decision", {"decision": "approved"}),
        (platform.token("authority:civil_defence", INSPECTOR), "external-approvals/civil_defence",
         {"given": True}),
    ]  # fmt: skip
    for token, step, body in cases:
        response = await platform.call("POST", f"/v1/requests/{number}/{step}", token, body)
        assert response.status_code == 403, (step, response.text)
        assert response.json()["detail_ar"]
    # An authority's system answers only for itself.
    other = await platform.call(
        "POST",
        f"/v1/requests/{number}/external-approvals/civil_defence",
        platform.token("authority:health", EXTERNAL),
        {"given": True},
    )
    assert other.status_code == 403
    # Staff do not create requests; the request never moved.
    staff_create = await platform.call(
        "POST", "/v1/requests", platform.clerk, platform.request_body(),
        headers={"Idempotency-Key": "staff-create-1"},
    )  # fmt: skip
    assert staff_create.status_code == 403
    assert (await platform.request(number))["status"] == "document_check"
    # A step out of order is a conflict, not a 500.
    early = await platform.call(
        "POST",
        f"/v1/requests/{number}/committee-decision",
        platform.committee,
        {"decision": "approved"},
    )
    assert early.status_code == 409 and early.json()["detail_ar"]


BAD_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("applicant_kind", {"applicant_kind": "company"}),
    ("camp", {"camp": "zaatari"}),
    ("profession", {"profession": "astronaut"}),
    ("area_m2", {"area_m2": 0}),
    ("area_m2", {"area_m2": 301}),  # over the grocery's maximum in the schedule
    ("trade_name", {"trade_name": ""}),
    ("address", {"address": "x"}),
    ("tenure", {"tenure": "owned"}),
    ("business", {"applicant_kind": "business"}),
    ("business", {"business": {"establishment_name": "الأمل", "establishment_number": "200012345"}}),  # noqa: E501
    ("business.establishment_number", {"applicant_kind": "business",
                                       "business": {"establishment_name": "مؤسسة الأمل",
                                                    "establishment_number": "12"}}),
    ("unknown", {"unknown": 1}),
]  # fmt: skip


@pytest.mark.parametrize(("field", "changes"), BAD_FIELDS)
async def test_each_bad_field_is_named(
    platform: Platform, field: str, changes: dict[str, Any]
) -> None:
    response = await platform.create(platform.citizen(), platform.request_body(**changes))

    assert response.status_code == 422, response.text
    problem = response.json()
    assert field in [error["field"] for error in problem["errors"]], problem
    assert problem["title"] and problem["detail"]


@pytest.mark.parametrize(
    ("field", "applicant"),
    [
        ("applicant.phone", {"phone": "12345"}),
        ("applicant.name", {"name": ""}),
        ("applicant.id_number", {"id_type": "national", "id_number": "12345678"}),
        ("applicant.id_type", {"id_type": "passport"}),
        ("applicant.lang", {"lang": "fr"}),
    ],
)
async def test_each_bad_applicant_field_is_named(
    platform: Platform, field: str, applicant: dict[str, Any]
) -> None:
    body = platform.request_body()
    body["applicant"] = {**body["applicant"], **applicant}

    response = await platform.create(platform.citizen(), body)

    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_every_bad_field_the_rules_find_is_named_in_one_answer(platform: Platform) -> None:
    body = platform.request_body(camp="zaatari", profession="astronaut", applicant_kind="business")
    body["applicant"] = {**body["applicant"], "id_type": "national", "id_number": "12345678"}

    response = await platform.create(platform.citizen(), body)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert sorted(error["field"] for error in problem["errors"]) == [
        "applicant.id_number",
        "business",
        "camp",
        "profession",
    ]
    assert all(error["message"] and error["message_ar"] for error in problem["errors"])
    assert problem["detail"] and problem["detail_ar"]
    # The area is checked against the profession's maximum with the other rules.
    too_big = await platform.create(
        platform.citizen(), platform.request_body(camp="zaatari", area_m2=301)
    )
    assert sorted(e["field"] for e in too_big.json()["errors"]) == ["area_m2", "camp"]


async def test_a_business_applies_with_its_establishment(platform: Platform) -> None:
    number, subject = await platform.submitted(
        applicant_kind="business",
        business={
            "establishment_name": "مؤسسة الأمل التجارية",
            "establishment_number": "200012345",
        },
        tenure="allocated",
        profession="barber",
        area_m2=15,
    )

    request = await platform.request(number, platform.token(subject))
    assert request["business"]["establishment_number"] == "200012345"
    assert [d["kind"] for d in request["documents"]] == ["occupancy_permit", "allocation_document"]
    assert request["fee_fils"] == 30_000  # the barber's base fee covers 15 m²
    await platform.sms(number, "licensing.request.submitted.v1")


async def test_bad_uploads_are_refused_naming_the_file(platform: Platform) -> None:
    subject = platform.citizen()
    created = await platform.create(subject)
    number = created.json()["number"]

    as_pdf = await platform.upload(
        number, subject, "occupancy_permit", b"MZ\x90\x00 not a pdf", "evil.pdf"
    )
    too_big = await platform.upload(
        number, subject, "occupancy_permit", PNG + b"\x00" * (5 * 1024 * 1024), "big.png",
        "image/png",
    )  # fmt: skip
    empty = await platform.upload(number, subject, "occupancy_permit", b"", "empty.pdf")
    wrong_kind = await platform.upload(number, subject, "allocation_document")  # rented: a lease
    bad_kind = await platform.upload(number, subject, "passport")
    no_file = await platform.call(
        "PUT", f"/v1/requests/{number}/documents/occupancy_permit", platform.token(subject)
    )

    for response, field, rule in (
        (as_pdf, "file", "content_type"),
        (too_big, "file", "max_size"),
        (empty, "file", "not_empty"),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
        assert response.json()["errors"][0]["type"] == rule
    assert wrong_kind.status_code == 422 and wrong_kind.json()["errors"][0]["field"] == "kind"
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json()["errors"][0]["field"]
    assert no_file.status_code == 422 and no_file.json()["errors"][0]["field"] == "file"
    # Submitting without the documents names them.
    submit = await platform.act(number, subject, "submit")
    assert submit.status_code == 422 and submit.json()["errors"][0]["field"] == "documents"
    request = await platform.request(number, platform.token(subject))
    assert request["status"] == "draft"
    assert not any(d["is_attached"] for d in request["documents"])
    # A good one is kept, and served back with the type found in its bytes.
    good = await platform.upload(
        number, subject, "occupancy_permit", PNG, "permit.png", "image/png"
    )
    assert good.status_code == 200
    download = await platform.call(
        "GET", f"/v1/requests/{number}/documents/occupancy_permit", platform.token(subject)
    )
    assert download.content == PNG and download.headers["content-type"] == "image/png"


async def test_bad_staff_input_is_named(platform: Platform) -> None:
    number, _ = await platform.submitted()

    both = await platform.call(
        "POST", f"/v1/requests/{number}/document-check", platform.clerk,
        {"accepted": True, "issues": [{"document": "lease_contract", "issue": "missing"}]},
    )  # fmt: skip
    not_its = await platform.check_documents(
        number, [{"document": "allocation_document", "issue": "missing"}]
    )
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "issues"
    assert not_its.status_code == 422 and not_its.json()["errors"][0]["field"] == "issues"
    assert (await platform.check_documents(number)).status_code == 200
    past = await platform.schedule(number, platform.now().replace(year=2020))
    naive = await platform.call(
        "POST", f"/v1/requests/{number}/inspection", platform.inspector,
        {"inspection_at": "2026-12-01T10:00:00"},
    )  # fmt: skip
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "inspection_at"
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "inspection_at"
    await platform.to_committee_from_inspection(number)
    no_reasons = await platform.decide(number, "not_approved")
    no_authorities = await platform.decide(number, "external_approvals_required")
    unknown = await platform.decide(
        number, "external_approvals_required", authorities=["ministry_of_magic"]
    )
    for response, field in (
        (no_reasons, "reasons"),
        (no_authorities, "authorities"),
        (unknown, "authorities"),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field


async def test_the_fee_schedule_and_quotes_are_public(platform: Platform) -> None:
    professions = await platform.call("GET", "/v1/professions", None)
    camps = await platform.call("GET", "/v1/camps", None)
    quote = await platform.call("GET", "/v1/fees/quote", None, profession="grocery", area_m2=35.5)
    too_big = await platform.call("GET", "/v1/fees/quote", None, profession="grocery", area_m2=1000)
    unknown = await platform.call("GET", "/v1/fees/quote", None, profession="x", area_m2=10)

    assert professions.status_code == 200
    assert {p["code"] for p in professions.json()["items"]} >= {"grocery", "bakery", "barber"}
    assert professions.json()["total"] == len(professions.json()["items"])
    assert "wehdat" in [c["code"] for c in camps.json()["items"]]
    second = await platform.call("GET", "/v1/camps", None, page=2, page_size=2)
    assert second.json()["items"] == camps.json()["items"][2:4]
    assert second.json()["total"] == camps.json()["total"]
    assert quote.json()["fee_fils"] == 33_000 and quote.json()["fee_jod"] == "33.000"
    assert too_big.status_code == 422 and too_big.json()["errors"][0]["field"] == "area_m2"
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "profession"


async def test_the_same_idempotency_key_creates_one_request(platform: Platform) -> None:
    subject = platform.citizen()
    body = platform.request_body()
    headers = {"Idempotency-Key": "create-once-1"}

    first = await platform.call(
        "POST", "/v1/requests", platform.token(subject), body, headers=headers
    )
    again = await platform.call(
        "POST", "/v1/requests", platform.token(subject), body, headers=headers
    )
    other = await platform.call(
        "POST", "/v1/requests", platform.token(subject), {**body, "area_m2": 40}, headers=headers
    )

    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["number"] == first.json()["number"]
    assert other.status_code in (409, 422), other.text
    mine = await platform.call("GET", "/v1/requests", platform.token(subject))
    assert [r["number"] for r in mine.json()["items"]] == [first.json()["number"]]


async def test_the_api_description_is_served(platform: Platform) -> None:
    response = await platform.call("GET", "/openapi.json", None)

    assert response.status_code == 200
    assert "/v1/requests/{number}/committee-decision" in response.json()["paths"]

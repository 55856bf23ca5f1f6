"""The request API as the portal uses it: the public catalogue, the Idempotency-Key of a
double-submitted form, and a problem response naming the fields of every bad body, never 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.exams.conftest import OFFICIAL, StartPlatform, form

pytestmark = pytest.mark.integration

VALIDATION = "https://api.amman.jo/problems/validation"
INVALID = "https://api.amman.jo/problems/invalid"


async def test_the_catalogue_is_public_with_fees_types_and_granting_bodies(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform(payments=False, notifier=False)

    response = await platform.call("GET", "/v1/catalogue")

    assert response.status_code == 200
    page = response.json()
    exams = {exam["code"]: exam for exam in page["items"]}
    assert (page["page"], page["page_size"], page["total"]) == (1, 20, len(exams))
    assert exams[OFFICIAL]["type"] == "official"
    assert exams[OFFICIAL]["granting_body"] == {"ar": "ICDL العربية", "en": "ICDL Arabia"}
    assert exams[OFFICIAL]["fee_fils"] == 25_000 and exams[OFFICIAL]["min_candidates"] == 2
    assert exams["english-placement"]["type_label"]["ar"] == "امتحان تجريبي (تجاري)"
    # The one list shape: a second page of two, and a page size past the limit refused.
    second = (
        await platform.call("GET", "/v1/catalogue", params={"page": 2, "page_size": 2})
    ).json()
    assert [exam["code"] for exam in second["items"]] == list(exams)[2:4]
    assert second["total"] == len(exams)
    too_big = await platform.call("GET", "/v1/catalogue", params={"page_size": 101})
    assert too_big.status_code == 422


async def test_a_double_submitted_form_makes_one_request(start_platform: StartPlatform) -> None:
    platform = await start_platform(payments=False, notifier=False)
    citizen = platform.citizen()
    body = form()
    key = {"Idempotency-Key": "form-7f3a"}

    first = await platform.call("POST", "/v1/requests", citizen, body, headers=key)
    again = await platform.call("POST", "/v1/requests", citizen, body, headers=key)
    other = await platform.call("POST", "/v1/requests", citizen, form(lang="en"), headers=key)
    bad = await platform.call(
        "POST", "/v1/requests", citizen, body, headers={"Idempotency-Key": "has spaces"}
    )

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["request_number"] == first.json()["request_number"]
    assert other.status_code == 409
    assert bad.status_code == 422
    assert (await platform.call("GET", "/v1/requests", citizen)).json()["total"] == 1


BAD_BODIES: list[tuple[str, Any, set[str], str]] = [
    ("not JSON", b"{exam_type: official", {"body"}, VALIDATION),
    ("not an object", ["trial"], {"body"}, VALIDATION),
    (
        "empty",
        {},
        {"exam_type", "exam_code", "applicant_name", "id_type", "id_number", "phone"},
        VALIDATION,
    ),
    (
        "wrong types and values",
        form(exam_type="commercial", id_type="passport", lang="fr", phone=791234567),
        {"exam_type", "id_type", "lang", "phone"},
        VALIDATION,
    ),
    ("an unknown field", form(discount="100%"), {"discount"}, VALIDATION),
    ("too long", form(applicant_name="ا" * 101), {"applicant_name"}, VALIDATION),
    # A phone must match the published pattern (a Jordanian mobile): a landline is refused by
    # validation, as are a name of digits and control characters in a name.
    (
        "a landline, a name of digits",
        form(phone="065001234", applicant_name="٠٧٩١٢٣٤٥٦٧"),
        {"phone", "applicant_name"},
        VALIDATION,
    ),
    (
        "a bidi override in a name",
        form(applicant_name="Layla \u202eHaddad"),
        {"applicant_name"},
        VALIDATION,
    ),
    (
        "every business rule broken",
        form(exam_code="astrology", applicant_name="Layla", id_number="123"),
        {"exam_code", "applicant_name", "id_number"},
        INVALID,
    ),
    (
        "official exam as a trial",
        form(exam_code=OFFICIAL, exam_type="trial"),
        {"exam_code"},
        INVALID,
    ),
    (
        "a resident's number too short",
        form(id_type="personal_number", id_number="A1"),
        {"id_number"},
        INVALID,
    ),
]


async def test_bad_bodies_are_problems_naming_their_fields_never_500(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform(payments=False, notifier=False)
    citizen = platform.citizen()

    for case, body, fields, kind in BAD_BODIES:
        raw = isinstance(body, bytes)
        response = await platform.call(
            "POST",
            "/v1/requests",
            citizen,
            None if raw else body,
            **({"content": body, "headers": {"Content-Type": "application/json"}} if raw else {}),
        )

        assert response.status_code == 422, (case, response.text)
        assert response.headers["content-type"] == "application/problem+json", case
        problem = response.json()
        assert problem["type"] == kind, case
        assert {error["field"] for error in problem["errors"]} == fields, case
        assert all(error["message"] and error["message_ar"] for error in problem["errors"]), case
    # Staff actions' bodies too: a bad outcome, a mark over 100, a naive or past exam time.
    number = (await platform.submit(citizen))["request_number"]
    coordinator = platform.coordinator()
    for path, body, fields in [
        (
            f"/v1/requests/{number}/result",
            {"outcome": "excellent", "score": 101},
            {"outcome", "score"},
        ),
        ("/v1/sessions/ES-2026-000001/schedule", {"exam_at": "2026-12-06T10:00:00"}, {"exam_at"}),
        (f"/v1/requests/{number}/attendance", {"note": "x" * 501}, {"note"}),
    ]:
        response = await platform.call("POST", path, coordinator, body)
        assert response.status_code == 422, (path, response.text)
        assert {error["field"] for error in response.json()["errors"]} == fields, path
    assert (await platform.call("GET", "/v1/requests", citizen)).json()["total"] == 1


async def test_a_retry_answers_with_the_stored_request_and_makes_no_second(
    start_platform: StartPlatform,
) -> None:
    """The key lives in the request it created: a retry (after a crash that lost the first
    answer, or a double submit) answers with the request stored and makes no second one (nor a
    second bill: the request's events went out once, with the request); another body under the
    same key is a 409."""
    platform = await start_platform(payments=False, notifier=False)
    citizen = platform.citizen()
    key = {"Idempotency-Key": "crash-7f3a"}
    body = form()
    first = await platform.call("POST", "/v1/requests", citizen, body, headers=key)
    stored = await platform.database["requests"].find_one({})
    assert stored is not None and stored["idempotency_key"]
    assert "idempotency_keys" not in await platform.database.list_collection_names()

    again = await platform.call("POST", "/v1/requests", citizen, body, headers=key)
    other = await platform.call(
        "POST", "/v1/requests", citizen, {**body, "lang": "en"}, headers=key
    )

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["request_number"] == first.json()["request_number"]
    assert other.status_code == 409, other.text
    assert (await platform.call("GET", "/v1/requests", citizen)).json()["total"] == 1

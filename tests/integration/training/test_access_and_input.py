"""Who may do what (403 for a missing role, 404 for someone else's request), bad input named by
field and never a 500, the public catalogue, and an idempotent submission."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.integration.training.conftest import PDF, Platform

pytestmark = pytest.mark.integration


def _fields(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {error["field"] for error in response.json()["errors"]}


async def test_the_catalogue_is_public_with_hours_and_fees(platform: Platform) -> None:
    answer = await platform.call("GET", "/v1/catalogue", None)

    assert answer.status_code == 200
    body = answer.json()
    courses = {c["code"]: (c["hours"], c["fee_fils"]) for c in body["gis_courses"]}
    assert courses == {
        "beginner": (30, 100000),
        "specialised": (15, 100000),
        "arcgis_pro": (30, 200000),
        "gis_data_qa_qc": (24, 200000),
    }
    gis = next(d for d in body["departments"] if d["code"] == "gis")
    assert gis["name"]["ar"] == "دائرة نظم المعلومات الجغرافية"
    assert gis["paid_courses_for_individuals"] is True


async def test_staff_actions_need_their_role(platform: Platform) -> None:
    number, subject, _ = await platform.submitted(platform.student_form())
    citizen = platform.token(subject)
    reasons = {"reasons": {"ar": "لا يوجد شاغر", "en": "no vacancy"}}
    note = {"note": {"ar": "غير مختوم", "en": "not stamped"}}
    attempts: list[tuple[str, str, Any]] = [
        ("approve", citizen, {}),
        ("approve", platform.supervisor, {}),
        ("reject", citizen, reasons),
        ("attachment-error", platform.supervisor, note),
        ("attendance", platform.reviewer, {"attended": True}),
        ("attendance", citizen, {"attended": False}),
    ]
    for action, token, body in attempts:
        answer = await platform.call("POST", f"/v1/requests/{number}/{action}", token, body)
        assert answer.status_code == 403, (action, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    listed = await platform.call("GET", "/v1/staff/requests", citizen)
    assert listed.status_code == 403
    by_staff = await platform.post_form(
        "reviewer-1", {**platform.student_form(), **platform.applicant()[1]},
        token=platform.reviewer,
    )  # fmt: skip
    assert by_staff.status_code == 403
    assert (await platform.request(number, citizen))["status"] == "under_review"


async def test_a_citizen_sees_only_their_own_requests(platform: Platform) -> None:
    number, subject, applicant = await platform.submitted(platform.student_form())
    other = platform.token("citizen-someone-else")

    for path in ("", "/attachment", "/approval-letter", "/completion-letter"):
        answer = await platform.call("GET", f"/v1/requests/{number}{path}", other)
        assert answer.status_code == 404, path
    upload = await platform.upload(number, other, PDF, "application/pdf")
    assert upload.status_code == 404
    mine = await platform.call("GET", "/v1/requests", platform.token(subject))
    assert [r["number"] for r in mine.json()["items"]] == [number]
    assert (mine.json()["total"], mine.json()["page"], mine.json()["page_size"]) == (1, 1, 20)
    theirs = await platform.call("GET", "/v1/requests", other)
    assert theirs.json()["items"] == [] and theirs.json()["total"] == 0

    # A page at a time, newest first; past the end, no items but the true total.
    second = await platform.post_form(subject, {**platform.student_form(), **applicant})
    assert second.status_code == 201, second.text
    pages = [
        (await platform.call("GET", "/v1/requests", platform.token(subject), page=page,
                             page_size=1)).json()
        for page in (1, 2, 3)
    ]  # fmt: skip
    assert [[r["number"] for r in p["items"]] for p in pages] == [
        [second.json()["number"]], [number], []
    ]  # fmt: skip
    assert {p["total"] for p in pages} == {2}
    for bad in ({"page_size": 101}, {"page": 0}, {"limit": 5, "page_size": "x"}):
        refused = await platform.call("GET", "/v1/requests", platform.token(subject), **bad)
        assert refused.status_code == 422, bad
    missing = await platform.call("GET", "/v1/requests/TR-2026-999999", platform.token(subject))
    assert missing.status_code == 404
    malformed = await platform.call("GET", "/v1/requests/nonsense", platform.token(subject))
    assert malformed.status_code == 422


async def test_bad_fields_are_named_never_a_500(platform: Platform) -> None:
    subject, applicant = platform.applicant()
    today = platform.today()
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"kind": "holiday"}, {"kind"}),
        ({"phone": "12345"}, {"phone"}),
        ({"start_date": "not-a-date"}, {"start_date"}),
        ({"start_date": today.isoformat()}, {"start_date"}),
        ({"end_date": (today + timedelta(days=2)).isoformat()}, {"end_date"}),
        ({"department_code": "parks"}, {"department_code"}),
        ({"institution_type": None, "institution_name": None},
         {"institution_type", "institution_name"}),
        ({"certificate_type": "bachelor"}, {"certificate_type"}),
        ({"course_code": "arcgis_pro"}, {"course_code"}),
        ({"study_subject": "a study"}, {"study_subject"}),
    ]  # fmt: skip
    for changes, expected in cases:
        form = {**platform.student_form(), **applicant}
        for key, value in changes.items():
            if value is None:
                form.pop(key, None)
            else:
                form[key] = value
        answer = await platform.post_form(subject, form)
        assert expected <= _fields(answer), (changes, answer.text)
    gis = {**platform.gis_form(), **applicant}
    gis.pop("course_code")
    assert "course_code" in _fields(await platform.post_form(subject, gis))
    wrong_course = {**platform.gis_form("python"), **applicant}
    assert "course_code" in _fields(await platform.post_form(subject, wrong_course))
    mission = {**platform.mission_form(), **applicant}
    mission.pop("study_subject")
    assert "study_subject" in _fields(await platform.post_form(subject, mission))
    long = {**platform.student_form(), **applicant}
    long["end_date"] = (platform.working_day(14) + timedelta(days=400)).isoformat()
    assert "end_date" in _fields(await platform.post_form(subject, long))
    missing = await platform.post_form(subject, {"kind": "training"})
    assert {"applicant_type", "department_code", "start_date", "end_date", "name", "phone"} <= (
        _fields(missing)
    )
    async with httpx.AsyncClient(base_url=platform.training.url, timeout=30) as client:
        no_file = await client.post(
            "/v1/requests",
            data={**platform.student_form(), **applicant},
            headers={**{"Authorization": f"Bearer {platform.token(subject)}"},
                     "Idempotency-Key": uuid.uuid4().hex},
        )  # fmt: skip
    assert "attachment" in _fields(no_file)
    none = (await platform.call("GET", "/v1/requests", platform.token(subject))).json()
    assert none["items"] == [] and none["total"] == 0


async def test_uploads_are_checked_by_their_bytes_and_size(platform: Platform) -> None:
    subject, applicant = platform.applicant()
    form = {**platform.student_form(), **applicant}

    disguised = await platform.post_form(subject, form, b"MZ\x90\x00 an exe", "application/pdf")
    empty = await platform.post_form(subject, form, b"", "application/pdf")
    too_large = await platform.post_form(
        subject, form, b"%PDF-" + b"0" * (5 * 1024 * 1024), "application/pdf"
    )

    for answer in (disguised, empty, too_large):
        assert _fields(answer) == {"attachment"}
    number, owner, _ = await platform.submitted(platform.student_form())
    await platform.act(
        number, "attachment-error", platform.reviewer,
        {"note": {"ar": "غير مختوم", "en": "not stamped"}},
    )  # fmt: skip
    bad_fix = await platform.upload(number, platform.token(owner), b"GIF89a....", "image/png")
    assert _fields(bad_fix) == {"attachment"}
    assert (await platform.request(number))["status"] == "awaiting_correction"


async def test_staff_input_is_checked(platform: Platform) -> None:
    number, _, _ = await platform.submitted(platform.student_form())

    no_reasons = await platform.call(
        "POST", f"/v1/requests/{number}/reject", platform.reviewer, {"reasons": {"ar": "x"}}
    )
    no_note = await platform.call(
        "POST", f"/v1/requests/{number}/attachment-error", platform.reviewer, {}
    )
    attendance_now = await platform.call(
        "POST", f"/v1/requests/{number}/attendance", platform.supervisor, {"attended": True}
    )

    assert no_reasons.status_code == 422 and no_note.status_code == 422
    assert attendance_now.status_code == 409  # under review: nothing to attend yet
    postpone = await platform.call(
        "POST", f"/v1/requests/{number}/postpone", platform.reviewer, {"start_date": "2030-01-01"}
    )
    assert postpone.status_code == 404  # staff do not postpone for the applicant


async def test_a_repeated_submission_with_the_same_key_makes_one_request(
    platform: Platform,
) -> None:
    subject, applicant = platform.applicant()
    form = {**platform.student_form(), **applicant}
    key = uuid.uuid4().hex

    first = await platform.post_form(subject, form, key=key)
    second = await platform.post_form(subject, form, key=key)

    assert first.status_code == second.status_code == 201
    assert first.json()["number"] == second.json()["number"]
    mine = await platform.call("GET", "/v1/requests", platform.token(subject))
    assert mine.json()["total"] == len(mine.json()["items"]) == 1
    changed = {**form, "department_code": "planning"}
    different = await platform.post_form(subject, changed, key=key)
    assert different.status_code == 409  # the key was used for another request


async def test_without_a_token_only_the_catalogue_answers(platform: Platform) -> None:
    for method, path in (("GET", "/v1/requests"), ("POST", "/v1/requests"),
                         ("GET", "/v1/staff/requests")):  # fmt: skip
        answer = await platform.call(method, path, None)
        assert answer.status_code == 401, path
    assert (await platform.call("GET", "/v1/catalogue", None)).status_code == 200


async def test_two_reviewers_deciding_at_once_one_wins(platform: Platform) -> None:
    import asyncio

    number, _, _ = await platform.submitted(platform.student_form())
    reasons = {"reasons": {"ar": "لا يوجد شاغر", "en": "no vacancy"}}

    other = platform.token("reviewer-2", "training.reviewer")
    approve, reject = await asyncio.gather(
        platform.call("POST", f"/v1/requests/{number}/approve", platform.reviewer, {}),
        platform.call("POST", f"/v1/requests/{number}/reject", other, reasons),
    )

    assert sorted((approve.status_code, reject.status_code)) == [200, 409]
    found = await platform.request(number)
    assert len(found["timeline"]) == 2
    decided = (
        "training.request.approved.v1"
        if approve.status_code == 200
        else ("training.request.rejected.v1")
    )
    await platform.sms(number, decided)
    assert len(await platform.templates(number)) == 2

"""Ownership and roles, the staff lists, and bad input: problem responses, never a 500."""

from __future__ import annotations

import pytest

from tests.integration.courses.conftest import ADMIN, STAFF, TESTER, Platform
from tests.integration.platform import fresh_subject

pytestmark = pytest.mark.integration


async def test_a_citizen_sees_their_own_request_and_nobody_else_does(platform: Platform) -> None:
    code = await platform.open_course(minimum=2)
    number, subject, _ = await platform.enrolled(code)

    own = await platform.call("GET", f"/v1/requests/{number}", platform.token(subject))
    other = await platform.call("GET", f"/v1/requests/{number}", platform.token("citizen-x"))
    missing = await platform.call("GET", "/v1/requests/CR-2026-999999", platform.token(subject))
    mine = await platform.call("GET", "/v1/requests", platform.token(subject))

    assert own.status_code == 200
    body = own.json()
    assert body["status"] == "waiting"
    assert body["status_label"]["ar"] and body["next_step"]["en"].startswith("Waiting")
    assert body["timeline"][0]["label"] == {"ar": "استُلم الطلب", "en": "Request received"}
    assert body["timeline"][0]["by"] == "applicant"
    assert other.status_code == 404 and missing.status_code == 404
    assert other.json()["type"] == missing.json()["type"]
    assert mine.json()["total"] == 1
    assert [r["number"] for r in mine.json()["items"]] == [number]


async def test_roles_guard_course_management_and_test_results(platform: Platform) -> None:
    code = await platform.open_course(minimum=1, subject="computer-basics")
    number, subject, _ = await platform.enrolled(code)
    await platform.status_becomes(number, "awaiting_test")
    citizen = platform.token(subject)

    creates = await platform.call("POST", "/v1/courses", citizen, platform.course_body())
    staff_creates = await platform.call(
        "POST", "/v1/courses", platform.token("s", STAFF), platform.course_body()
    )
    result = await platform.call(
        "POST", f"/v1/requests/{number}/placement-test-result", citizen, {"passed": True}
    )
    lists = await platform.call("GET", f"/v1/courses/{code}/requests", citizen)
    staff_enrols = await platform.call(
        "POST",
        "/v1/requests",
        platform.token("a", ADMIN),
        {"course_code": code, "applicant": platform.applicant()[1]},
    )
    unauthenticated = await platform.call("GET", f"/v1/courses/{code}", "not-a-token")

    assert creates.status_code == staff_creates.status_code == 403
    assert result.status_code == 403 and lists.status_code == 403
    assert staff_enrols.status_code == 403
    assert unauthenticated.status_code == 401
    tester = platform.token("testing-system", TESTER)
    recorded = await platform.call(
        "POST", f"/v1/requests/{number}/placement-test-result", tester, {"passed": True}
    )
    assert recorded.status_code == 200
    again = await platform.call(
        "POST", f"/v1/requests/{number}/placement-test-result", tester, {"passed": False}
    )
    assert again.status_code == 409


async def test_staff_lists_a_course_by_status(platform: Platform) -> None:
    code = await platform.open_course(minimum=2, subject="computer-basics", fee_fils=5_000)
    first, _, _ = await platform.enrolled(code)
    second, _, _ = await platform.enrolled(code)
    await platform.status_becomes(first, "awaiting_test")
    await platform.placement_result(first, passed=True)
    await platform.status_becomes(first, "awaiting_payment")

    listed = await platform.call("GET", f"/v1/courses/{code}/requests", platform.staff)
    awaiting_test = await platform.call(
        "GET", f"/v1/courses/{code}/requests", platform.staff, status="awaiting_test"
    )

    assert listed.status_code == 200, listed.text
    counts = listed.json()["counts"]
    assert counts["awaiting_payment"] == 1 and counts["awaiting_test"] == 1
    assert counts["waiting"] == counts["approved"] == 0
    assert [r["number"] for r in awaiting_test.json()["items"]] == [second]
    assert awaiting_test.json()["total"] == 1
    # Pages of one, in the order the requests came; the counts are over all of them.
    pages = [
        (
            await platform.call(
                "GET", f"/v1/courses/{code}/requests", platform.staff, page=page, page_size=1
            )
        ).json()
        for page in (1, 2, 3)
    ]
    assert [[r["number"] for r in page["items"]] for page in pages] == [[first], [second], []]
    assert [(page["page"], page["page_size"], page["total"]) for page in pages] == [
        (1, 1, 2),
        (2, 1, 2),
        (3, 1, 2),
    ]
    assert all(page["counts"] == counts for page in pages)


async def test_the_catalogue_is_a_page_and_shows_drafts_to_staff_only(platform: Platform) -> None:
    citizen = platform.token(fresh_subject())

    async def totals() -> tuple[int, int]:
        staff = await platform.call("GET", "/v1/courses", platform.admin, page_size=1)
        public = await platform.call("GET", "/v1/courses", citizen, page_size=1)
        assert staff.status_code == public.status_code == 200, staff.text
        assert len(staff.json()["items"]) == staff.json()["page_size"] == 1
        return staff.json()["total"], public.json()["total"]

    await platform.open_course()
    staff_before, public_before = await totals()
    draft = await platform.call("POST", "/v1/courses", platform.admin, platform.course_body())
    assert draft.status_code == 201, draft.text
    code = draft.json()["code"]

    assert await totals() == (staff_before + 1, public_before)
    hidden = await platform.call("GET", f"/v1/courses/{code}", citizen)
    assert hidden.status_code == 404
    too_large = await platform.call("GET", "/v1/courses", citizen, page_size=101)
    assert too_large.status_code == 422


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/requests", {"course_code": "CO-2026-000001"}),
        ("/v1/requests", {"course_code": "nonsense", "applicant": {}}),
        (
            "/v1/requests",
            {
                "course_code": "CO-2026-000001",
                "applicant": {
                    "name": "Ali",
                    "phone": "+14155550100",
                    "lang": "fr",
                    "national_id": "12",
                },
            },
        ),
        ("/v1/requests", "not json at all"),
        ("/v1/requests", [1, 2, 3]),
    ],
)
async def test_bad_enrolments_are_problem_responses(
    platform: Platform, path: str, body: object
) -> None:
    response = await platform.call("POST", path, platform.token("citizen-bad"), body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_bad_course_input_and_unknown_things_are_problem_responses(
    platform: Platform,
) -> None:
    past = platform.course_body()
    past["starts_at"] = "2020-01-01T10:00:00+03:00"
    small = platform.course_body(minimum=10, capacity=5)
    naive = platform.course_body()
    naive["starts_at"] = "2027-01-01T10:00:00"
    unknown_course = await platform.enrol("CO-2026-999999", *platform.applicant())

    answers = [
        await platform.call("POST", "/v1/courses", platform.admin, past),
        await platform.call("POST", "/v1/courses", platform.admin, small),
        await platform.call("POST", "/v1/courses", platform.admin, naive),
        await platform.call("POST", "/v1/courses", platform.admin, {"fee_fils": -1}),
        await platform.call("GET", "/v1/courses/CO-2026-999999", platform.admin),
        await platform.call("GET", "/v1/courses/bad code", platform.admin),
        await platform.call("POST", "/v1/courses/CO-2026-999999/publish", platform.admin),
        unknown_course,
    ]

    assert [a.status_code for a in answers] == [422, 422, 422, 422, 404, 422, 404, 404]
    for answer in answers:
        assert answer.headers["content-type"].startswith("application/problem+json")

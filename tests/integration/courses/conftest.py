"""The courses service end to end: courses, payments and the notifier as real processes.

One set of the three processes serves the whole package (each test makes its own courses and
applicants, so they do not meet); each process has its own database. They talk on a RabbitMQ
virtual host of their own: on the shared vhost every other suite's payments process would issue
its own bill for our payment requests (and ours for theirs), and a payments test moving its clock
would expire our bills. Courses and payments read one clock file, so a test moves their time
together (`platform.move_clock`). SMS are read back from the notifier's API, as a person would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

import httpx

from tests.integration.conftest import ServiceProcess
from tests.integration.platform import (
    BasePlatform,
    fresh_phone,
    fresh_subject,
    package_platform,
)

SECRET = "integration-test-efawateercom-secret-0123456789"
ADMIN = "courses.admin"
STAFF = "courses.staff"
TESTER = "courses.placement_tester"


@dataclass(kw_only=True)
class Platform(BasePlatform):
    SERVICE_TYPE: ClassVar[str] = "COURSES"
    PROVIDER_SECRET: ClassVar[str] = SECRET

    @property
    def courses(self) -> ServiceProcess:
        return self.service

    # ---- identities ------------------------------------------------------------------------

    @property
    def admin(self) -> str:
        return self.token("admin-1", ADMIN)

    @property
    def staff(self) -> str:
        return self.token("staff-1", STAFF)

    def staff_token(self) -> str:
        return self.staff

    # ---- courses ---------------------------------------------------------------------------

    def course_body(
        self,
        *,
        fee_fils: int = 0,
        subject: str | None = None,
        minimum: int = 1,
        capacity: int = 20,
        starts_in: timedelta = timedelta(days=10),
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": {"ar": "أساسيات البرمجة بلغة بايثون", "en": "Python programming basics"},
            "fee_fils": fee_fils,
            "minimum": minimum,
            "capacity": capacity,
            "starts_at": (self.now() + starts_in).isoformat(),
            "schedule": {"ar": "الأحد والثلاثاء 5-7 مساءً", "en": "Sun and Tue 5-7 pm"},
            "place": {"ar": "المحطة المعرفية - ماركا", "en": "Knowledge Station, Marka"},
        }
        if subject is not None:
            body["prerequisite"] = {
                "subject_code": subject,
                "subject": {"ar": "أساسيات استخدام الحاسوب", "en": "basic computer use"},
                "placement_test_url": f"https://tests.amman.jo/p/{subject}",
            }
        return body

    async def open_course(self, **options: Any) -> str:
        created = await self.call("POST", "/v1/courses", self.admin, self.course_body(**options))
        assert created.status_code == 201, created.text
        code: str = created.json()["code"]
        published = await self.call("POST", f"/v1/courses/{code}/publish", self.admin)
        assert published.status_code == 200, published.text
        return code

    async def course(self, code: str) -> dict[str, Any]:
        response = await self.call("GET", f"/v1/courses/{code}", self.admin)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    # ---- applicants ------------------------------------------------------------------------

    def applicant(self, lang: str = "ar") -> tuple[str, dict[str, Any]]:
        """A fresh citizen: (their JWT subject, the applicant details of a request)."""
        subject = fresh_subject()
        national_id = f"99{uuid.uuid4().int % 10**8:08d}"
        phone = fresh_phone()
        return subject, {
            "name": "ليلى أحمد",
            "phone": phone,
            "lang": lang,
            "national_id": national_id,
        }

    async def enrol(
        self, code: str, subject: str, applicant: dict[str, Any], key: str | None = None
    ) -> httpx.Response:
        return await self.call(
            "POST",
            "/v1/requests",
            self.token(subject),
            {"course_code": code, "applicant": applicant},
            headers={"Idempotency-Key": key or uuid.uuid4().hex},
        )

    async def enrolled(self, code: str, lang: str = "ar") -> tuple[str, str, dict[str, Any]]:
        """A new applicant's request for `code`: (request number, subject, applicant)."""
        subject, applicant = self.applicant(lang)
        response = await self.enrol(code, subject, applicant)
        assert response.status_code == 201, response.text
        return response.json()["number"], subject, applicant

    async def placement_result(self, number: str, passed: bool) -> httpx.Response:
        return await self.call(
            "POST",
            f"/v1/requests/{number}/placement-test-result",
            self.token("testing-system", TESTER),
            {"passed": passed},
        )

    # ---- SMS and payments ------------------------------------------------------------------

    async def sms(self, number: str, template: str, timeout: float = 25) -> str:
        """The text of the one SMS sent for `number` from `template` (waits for it)."""
        return await self.sms_of(number, template, timeout=timeout)

    async def pay(self, e_payment_number: str, amount_fils: int) -> None:
        await self.notify_payment(e_payment_number, amount_fils)


platform = package_platform(Platform, "courses", payments_secret=SECRET)

"""The training service end to end: training, payments and the notifier as real processes.

One set of the three processes serves the whole package (each test makes its own applicants and
requests, so they do not meet); each process has its own database. They talk on a RabbitMQ virtual
host of their own, so that no other suite's payments process bills our requests or expires our
bills. Training and payments read one clock file, so a test moves their time together
(`platform.move_clock`); tests that move it run in time order (each moves further ahead). SMS
are read back from the notifier's API, as a person would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx

from services.common.calendar import WorkingCalendar
from tests.integration.conftest import ServiceProcess, eventually
from tests.integration.helpers import bearer
from tests.integration.platform import (
    BasePlatform,
    fresh_phone,
    fresh_subject,
    package_platform,
)

SECRET = "integration-test-efawateercom-secret-0123456789"
REVIEWER = "training.reviewer"
SUPERVISOR = "training.supervisor"
AMMAN = ZoneInfo("Asia/Amman")
CALENDAR = WorkingCalendar()
PDF = b"%PDF-1.7\n" + b"signed and stamped letter " * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 400


@dataclass(kw_only=True)
class Platform(BasePlatform):
    CLOCK_SETTLE_SECONDS: ClassVar[float] = 0.6
    SERVICE_TYPE: ClassVar[str] = "TRAINING"
    PROVIDER_SECRET: ClassVar[str] = SECRET

    @property
    def training(self) -> ServiceProcess:
        return self.service

    # ---- time ------------------------------------------------------------------------------

    def today(self) -> date:
        return self.now().astimezone(AMMAN).date()

    def working_day(self, after_days: int) -> date:
        """The first working day at least `after_days` days after today (Amman)."""
        day = self.today() + timedelta(days=after_days)
        return day if CALENDAR.is_working_day(day) else CALENDAR.next_working_day(day)

    async def move_to_day(self, day: date, hour: int = 10) -> None:
        """Move the shared clock to `hour` o'clock (Amman) on `day`, never backwards."""
        instant = datetime(day.year, day.month, day.day, hour, tzinfo=AMMAN).astimezone(UTC)
        assert instant >= self.now() - timedelta(seconds=5), "tests move the clock forward only"
        await self.move_clock(instant)

    # ---- identities ------------------------------------------------------------------------

    @property
    def reviewer(self) -> str:
        return self.token("reviewer-1", REVIEWER)

    @property
    def supervisor(self) -> str:
        return self.token("supervisor-1", SUPERVISOR)

    def staff_token(self) -> str:
        return self.reviewer

    # ---- applicants and requests -----------------------------------------------------------

    def applicant(self, lang: str = "ar") -> tuple[str, dict[str, str]]:
        """A fresh citizen: (their JWT subject, the applicant fields of the form)."""
        subject = fresh_subject()
        phone = fresh_phone()
        return subject, {
            "name": "سامي خالد",
            "phone": phone,
            "lang": lang,
            "national_id": f"99{uuid.uuid4().int % 10**8:08d}",
        }

    def student_form(self, **changes: Any) -> dict[str, str]:
        """A student nominated by a university, training in the IT department (free)."""
        start = self.working_day(14)
        form = {
            "kind": "training",
            "applicant_type": "nominated",
            "institution_type": "university",
            "institution_name": "الجامعة الأردنية",
            "department_code": "information_technology",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=27)).isoformat(),
        }
        return {**form, **{k: str(v) for k, v in changes.items() if v is not None}}

    def gis_form(self, course: str = "arcgis_pro", **changes: Any) -> dict[str, str]:
        """An individual training in the GIS department: a paid course."""
        start = self.working_day(14)
        form = {
            "kind": "training",
            "applicant_type": "individual",
            "certificate_type": "bachelor",
            "department_code": "gis",
            "course_code": course,
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=13)).isoformat(),
        }
        return {**form, **{k: str(v) for k, v in changes.items() if v is not None}}

    def mission_form(self, **changes: Any) -> dict[str, str]:
        start = self.working_day(14)
        form = {
            "kind": "mission",
            "applicant_type": "nominated",
            "institution_type": "university",
            "institution_name": "جامعة البلقاء التطبيقية",
            "department_code": "planning",
            "study_subject": "استخدام النقل العام في شرق عمّان",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=20)).isoformat(),
        }
        return {**form, **{k: str(v) for k, v in changes.items() if v is not None}}

    async def post_form(
        self,
        subject: str,
        form: dict[str, str],
        data: bytes = PDF,
        content_type: str = "application/pdf",
        *,
        key: str | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.training.url, timeout=30) as client:
            return await client.post(
                "/v1/requests",
                data=form,
                files={"attachment": ("document.pdf", data, content_type)},
                headers={
                    **bearer(token or self.token(subject)),
                    "Idempotency-Key": key or uuid.uuid4().hex,
                },
            )

    async def submitted(
        self, form: dict[str, str], lang: str = "ar"
    ) -> tuple[str, str, dict[str, str]]:
        """A new applicant's request: (request number, subject, applicant fields)."""
        subject, applicant = self.applicant(lang)
        response = await self.post_form(subject, {**form, **applicant})
        assert response.status_code == 201, response.text
        return response.json()["number"], subject, applicant

    async def upload(
        self, number: str, token: str, data: bytes, content_type: str
    ) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.training.url, timeout=30) as client:
            return await client.put(
                f"/v1/requests/{number}/attachment",
                headers=bearer(token),
                files={"attachment": ("corrected.pdf", data, content_type)},
            )

    async def act(self, number: str, action: str, token: str, body: Any) -> dict[str, Any]:
        response = await self.call("POST", f"/v1/requests/{number}/{action}", token, body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def approve(self, number: str) -> dict[str, Any]:
        return await self.act(number, "approve", self.reviewer, {})

    async def attendance(self, number: str, attended: bool) -> dict[str, Any]:
        return await self.act(number, "attendance", self.supervisor, {"attended": attended})

    async def letter(self, path: str, token: str) -> bytes:
        """A letter's PDF from its inquiry route, once issued (409 in the seconds between the
        step and the issue)."""

        async def issued() -> bytes | None:
            answer = await self.call("GET", path, token)
            assert answer.status_code in (200, 409), answer.text
            if answer.status_code == 409:
                return None
            assert answer.headers["content-type"] == "application/pdf"
            return answer.content

        found: bytes = await eventually(issued, timeout=60, message=f"{path} issued")
        return found

    # ---- SMS and payments ------------------------------------------------------------------

    async def sms(self, number: str, template: str, timeout: float = 25) -> str:
        """The text of the one SMS sent for `number` from `template` (waits for it)."""
        return await self.sms_of(number, template, timeout=timeout)

    async def pay(self, e_payment_number: str, amount_fils: int) -> None:
        await self.notify_payment(e_payment_number, amount_fils)

    async def paid_gis_request(self, lang: str = "ar") -> tuple[str, str, dict[str, Any]]:
        """An individual's GIS training, approved and paid: (number, subject, request)."""
        number, subject, _ = await self.submitted(self.gis_form(), lang)
        await self.approve(number)
        bill = await self.bill(number, subject)
        await self.pay(bill["e_payment_number"], bill["amount_fils"])
        found = await self.status_becomes(number, "approved")
        return number, subject, found


platform = package_platform(Platform, "training", payments_secret=SECRET, clock_from_now=True)

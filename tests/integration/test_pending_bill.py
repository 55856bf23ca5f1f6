"""The pending bill's e-payment number, recorded by each of the five stores in one conditional
write (`services.common.pending_bill`), on the real database: it must do exactly what the domain's
`record_bill` decides (the unit test `tests/unit/test_pending_bill.py` holds the rule, and gives
the requests used here), with no read, and raise the version as a versioned save does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.common.change import StaleVersion
from services.common.outbox import Outbox
from services.contractors import domain as contractors
from services.contractors.store import ContractorStore
from services.courses import domain as courses
from services.courses.store import CourseStore
from services.exams import domain as exams
from services.exams.store import ExamStore
from services.licensing import domain as licensing
from services.licensing.store import LicensingStore
from services.training import domain as training
from services.training.store import TrainingStore
from tests.integration.conftest import Watched
from tests.integration.helpers import CommandNames
from tests.unit import test_pending_bill as rule
from tests.unit.licensing import builders as licence_builders

SETTLED = {
    "exams": exams.RequestStatus.CANCELLED,
    "contractors": contractors.Status.CANCELLED,
    "licensing": licensing.RequestStatus.WITHDRAWN,
    "courses": courses.RequestStatus.CANCELLED,
    "training": training.Status.CANCELLED,
}


class Stored:
    """One service's store, with the calls that differ between the five."""

    def __init__(self, service: str, db: Any) -> None:
        self.service = service
        outbox = Outbox()
        self.store: Any = {
            "exams": lambda: ExamStore(db, outbox, None),  # type: ignore[arg-type]
            "contractors": lambda: ContractorStore(db, outbox, Outbox()),
            "licensing": lambda: LicensingStore(db, outbox, None),
            "courses": lambda: CourseStore(db, outbox, None),
            "training": lambda: TrainingStore(db, outbox, None),  # type: ignore[arg-type]
        }[service]()

    async def insert(self, request: Any) -> None:
        if self.service in ("exams", "contractors"):
            await self.store.add_request(request, [])
        elif self.service == "training":
            await self.store.insert(request, [])
        else:
            await self.store.insert_request(request)

    async def record(self, number: str, reference: str) -> bool:
        """What the service's `bill.issued` use case calls first (the unit test's amount and due
        time for licensing)."""
        if self.service == "licensing":
            recorded = await self.store.record_bill(
                number, reference, rule.NUMBER, 33_000, licence_builders.MONDAY
            )
        else:
            recorded = await self.store.record_bill(number, reference, rule.NUMBER)
        return bool(recorded)

    async def load(self, number: str) -> Any:
        return await self.store.request(number)


def number_of(request: Any) -> str:
    found = getattr(request, "request_number", None) or request.number
    assert isinstance(found, str)
    return found


Make = tuple[Callable[[str], Stored], CommandNames]


@pytest.fixture
def stores(watched: Watched, database_name: str) -> Make:
    """Each service's store on a database of its own (`<database_name>_<service>`: dropped with
    the test's), and the names of the commands they send."""
    client, commands = watched
    return (lambda service: Stored(service, client[f"{database_name}_{service}"])), commands


async def awaiting(stores: Make, service: str, **changes: Any) -> tuple[Stored, str, str, Any]:
    """A request of `service` awaiting payment (with `changes`) stored: its store, number, bill
    reference, and the request as stored."""
    request, reference = rule.awaiting_payment(service)
    stored = stores[0](service)
    await stored.insert(request.model_copy(update=changes))
    number = number_of(request)
    return stored, number, reference, await stored.load(number)


@pytest.mark.parametrize("service", rule.SERVICES)
async def test_the_write_records_what_the_domain_decides_without_a_read(
    service: str, stores: Make
) -> None:
    stored, number, reference, before = await awaiting(stores, service)
    commands = stores[1]

    commands.names.clear()
    assert await stored.record(number, reference)
    assert commands.names == ["update"], "one conditional write, no read"

    decided = rule.record(service, before, reference)
    assert decided is not None
    after = await stored.load(number)
    assert rule.number_of(after) == rule.NUMBER
    assert after == decided.request.model_copy(update={"version": before.version + 1})


@pytest.mark.parametrize("service", rule.SERVICES)
async def test_another_bill_or_the_same_bill_again_matches_nothing(
    service: str, stores: Make
) -> None:
    stored, number, reference, before = await awaiting(stores, service)

    assert not await stored.record(number, reference.replace(":fee", ":other"))
    assert await stored.load(number) == before
    assert await stored.record(number, reference)
    recorded = await stored.load(number)
    # A redelivered bill.issued: nothing changes, not even the version.
    assert not await stored.record(number, reference)
    assert await stored.load(number) == recorded


@pytest.mark.parametrize("service", rule.SERVICES)
async def test_a_request_no_longer_awaiting_payment_matches_nothing(
    service: str, stores: Make
) -> None:
    stored, number, reference, before = await awaiting(stores, service, status=SETTLED[service])

    assert not await stored.record(number, reference)
    assert await stored.load(number) == before


async def test_a_change_decided_before_the_write_is_refused(stores: Make) -> None:
    """The write raises the version: a save over the version read before it is a lost race
    (`StaleVersion`), decided again over the request with its number."""
    stored, number, reference, read_before = await awaiting(stores, "exams")
    assert await stored.record(number, reference)
    with pytest.raises(StaleVersion):
        await stored.store.save_request(read_before)

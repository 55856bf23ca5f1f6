"""The pending bill's e-payment number, recorded by each of the five stores in one conditional
write (`services.common.pending_bill`), on the real database: it must do exactly what the domain's
`record_bill` decides (the unit test `tests/unit/test_pending_bill.py` holds the rule, and gives
the requests used here), with no read, and raise the version as a versioned save does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

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
from tests.unit import test_pending_bill as rule
from tests.unit.licensing import builders as licence_builders

SETTLED = {
    "exams": exams.RequestStatus.CANCELLED,
    "contractors": contractors.Status.CANCELLED,
    "licensing": licensing.RequestStatus.WITHDRAWN,
    "courses": courses.RequestStatus.CANCELLED,
    "training": training.Status.CANCELLED,
}


class Commands(monitoring.CommandListener):
    """The names of the commands sent, in order."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


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


Make = tuple[Callable[[str], Stored], Commands]


@pytest.fixture
async def stores(infra: Any, database_name: str) -> AsyncIterator[Make]:
    commands = Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra.mongo_url, tz_aware=True, event_listeners=[commands]
    )
    yield (lambda service: Stored(service, client[f"{database_name}_{service}"])), commands
    for service in rule.SERVICES:
        await client.drop_database(f"{database_name}_{service}")
    await client.close()


@pytest.mark.parametrize("service", rule.SERVICES)
async def test_the_write_records_what_the_domain_decides_without_a_read(
    service: str, stores: Make
) -> None:
    make, commands = stores
    stored = make(service)
    request, reference = rule.awaiting_payment(service)
    await stored.insert(request)
    before = await stored.load(number_of(request))

    commands.names.clear()
    assert await stored.record(number_of(request), reference)
    assert commands.names == ["update"], "one conditional write, no read"

    decided = rule.record(service, before, reference)
    assert decided is not None
    after = await stored.load(number_of(request))
    assert rule.number_of(after) == rule.NUMBER
    assert after == decided.request.model_copy(update={"version": before.version + 1})


@pytest.mark.parametrize("service", rule.SERVICES)
async def test_another_bill_or_the_same_bill_again_matches_nothing(
    service: str, stores: Make
) -> None:
    make, _ = stores
    stored = make(service)
    request, reference = rule.awaiting_payment(service)
    await stored.insert(request)
    before = await stored.load(number_of(request))

    assert not await stored.record(number_of(request), reference.replace(":fee", ":other"))
    assert await stored.load(number_of(request)) == before
    assert await stored.record(number_of(request), reference)
    recorded = await stored.load(number_of(request))
    # A redelivered bill.issued: nothing changes, not even the version.
    assert not await stored.record(number_of(request), reference)
    assert await stored.load(number_of(request)) == recorded


@pytest.mark.parametrize("service", rule.SERVICES)
async def test_a_request_no_longer_awaiting_payment_matches_nothing(
    service: str, stores: Make
) -> None:
    make, _ = stores
    stored = make(service)
    request, reference = rule.awaiting_payment(service)
    await stored.insert(request.model_copy(update={"status": SETTLED[service]}))
    before = await stored.load(number_of(request))

    assert not await stored.record(number_of(request), reference)
    assert await stored.load(number_of(request)) == before


async def test_a_change_decided_before_the_write_is_refused(stores: Make) -> None:
    """The write raises the version: a save over the version read before it is a lost race
    (`StaleVersion`), decided again over the request with its number."""
    make, _ = stores
    stored = make("exams")
    request, reference = rule.awaiting_payment("exams")
    await stored.insert(request)
    read_before = await stored.load(number_of(request))
    assert await stored.record(number_of(request), reference)
    with pytest.raises(StaleVersion):
        await stored.store.save_request(read_before)

"""The database command counter: every command by name, collection and purpose."""

from __future__ import annotations

from pymongo import monitoring

from services.common.mongo import COMMANDS, CommandCounter, purpose


def started(command: dict[str, object]) -> monitoring.CommandStartedEvent:
    return monitoring.CommandStartedEvent(
        command=command,
        database_name="exams",
        request_id=1,
        connection_id=("127.0.0.1", 27017),
        operation_id=1,
    )


def count(command: str, collection: str, why: str) -> float:
    return COMMANDS.labels(command, collection, why)._value.get()


def test_commands_are_counted_by_name_collection_and_purpose() -> None:
    counter = CommandCounter()
    before = count("find", "requests_t", ""), count("findAndModify", "requests_t", "outbox.claim")

    counter.started(started({"find": "requests_t", "filter": {}}))
    with purpose("outbox.claim"):
        counter.started(started({"findAndModify": "requests_t", "query": {}}))
    counter.started(started({"getMore": 12345, "collection": "requests_t"}))

    assert count("find", "requests_t", "") == before[0] + 1
    assert count("findAndModify", "requests_t", "outbox.claim") == before[1] + 1
    assert count("getMore", "requests_t", "") >= 1, "a getMore counts against its collection"


def test_a_purpose_ends_with_its_block() -> None:
    counter = CommandCounter()
    with purpose("sweeper.scan"):
        pass
    before = count("insert", "purpose_t", "")
    counter.started(started({"insert": "purpose_t", "documents": []}))
    assert count("insert", "purpose_t", "") == before + 1

"""The registry of event types: which routing keys exist, who produces them, and their data model.

The registry is the single list the rest of the platform checks against: the envelope refuses
to build or parse an event that is not in it, the generator derives the JSON Schemas, the
AsyncAPI document and the README table from it, and services' consistency tests check that
everything they publish is in it.

:data:`REGISTRY` is the default, filled by `contracts/__init__.py` from the contract modules'
``SPECS`` and then frozen, so no other code can add to it at a distance. Code that needs more
event types (a test, a service's own experiment) takes ``REGISTRY.copy()`` or a fresh
``EventRegistry()`` and passes it explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

__all__ = [
    "REGISTRY",
    "ROUTING_KEY_RE",
    "EventRegistry",
    "EventSpec",
    "UnknownEventType",
]

_WORD = r"[a-z]+(?:_[a-z]+)*"
# `<service>.<aggregate>.<past-tense verb>.v<major>` (DESIGN.md, "Events"). Anchored with \A and \Z
# (not ^ and $, which accept a trailing newline), so `match` and `fullmatch` agree. Whether the
# verb is really in the past tense is left to review: no pattern knows that "held" is one.
ROUTING_KEY_RE = re.compile(
    rf"\A(?P<service>{_WORD})\.(?P<aggregate>{_WORD})\.(?P<verb>{_WORD})\.v(?P<major>[1-9][0-9]*)\Z"
)


class UnknownEventType(LookupError):
    """The routing key is not registered: the event is not part of the contract."""

    def __init__(self, routing_key: str) -> None:
        super().__init__(f"unknown event type: {routing_key!r}")
        self.routing_key = routing_key


@dataclass(frozen=True)
class EventSpec:
    """One event type of the contract.

    ``notifies_applicant`` says the notifier sends the applicant an SMS for this event. An event
    whose data names an applicant (an ``applicant`` or ``payer`` field) but sends no SMS says why
    in ``silent_because``, so that a missing SMS is a decision someone wrote down, not an oversight.
    """

    routing_key: str
    data_model: type[BaseModel]
    producer: str
    summary: str
    notifies_applicant: bool = False
    silent_because: str | None = None


class EventRegistry:
    """Routing key -> :class:`EventSpec`, with the rules every key must follow."""

    def __init__(self, specs: Iterable[EventSpec] = ()) -> None:
        self._specs: dict[str, EventSpec] = {}
        self._frozen = False
        for spec in specs:
            self.register(spec)

    def register(self, spec: EventSpec) -> None:
        """Add an event type.

        Raises ValueError if the routing key breaks :data:`ROUTING_KEY_RE`, if the producer is not
        the key's first segment, if the spec contradicts itself, or if the key is already
        registered differently (registering the very same spec twice is harmless). Raises
        RuntimeError on a frozen registry.
        """
        if self._frozen:
            raise RuntimeError(
                "this registry is frozen; register into a copy: registry = REGISTRY.copy()"
            )
        match = ROUTING_KEY_RE.match(spec.routing_key)
        if match is None:
            raise ValueError(
                f"routing key {spec.routing_key!r} is not "
                "<service>.<aggregate>.<past-tense verb>.v<major> (lowercase words, '_' inside)"
            )
        if match["service"] != spec.producer:
            raise ValueError(
                f"routing key {spec.routing_key!r} must start with its producer {spec.producer!r}"
            )
        if not (isinstance(spec.data_model, type) and issubclass(spec.data_model, BaseModel)):
            raise TypeError(f"{spec.routing_key}: data_model must be a pydantic model class")
        if spec.data_model.model_config.get("extra") == "forbid":
            # Subscribers must tolerate fields added within a major version.
            raise ValueError(f"{spec.routing_key}: a contract model must not forbid extra fields")
        if not spec.summary.strip():
            raise ValueError(f"{spec.routing_key}: the summary is empty")
        if spec.notifies_applicant and spec.silent_because is not None:
            raise ValueError(f"{spec.routing_key}: notifies the applicant yet says why it does not")
        existing = self._specs.get(spec.routing_key)
        if existing is not None and existing != spec:
            if existing.data_model is not spec.data_model:
                raise ValueError(
                    f"{spec.routing_key} is already registered with "
                    f"{existing.data_model.__qualname__}, not {spec.data_model.__qualname__}"
                )
            raise ValueError(f"{spec.routing_key} is already registered with a different spec")
        self._specs[spec.routing_key] = spec

    def spec_for(self, routing_key: str) -> EventSpec:
        """The spec of a routing key; UnknownEventType if it is not registered."""
        try:
            return self._specs[routing_key]
        except KeyError:
            raise UnknownEventType(routing_key) from None

    def parse_data(self, routing_key: str, data: Mapping[str, Any]) -> BaseModel:
        """Validate an event's data with its registered model (pydantic.ValidationError if bad)."""
        return self.spec_for(routing_key).data_model.model_validate(dict(data))

    def keys(self) -> list[str]:
        """The registered routing keys, sorted."""
        return sorted(self._specs)

    def copy(self) -> EventRegistry:
        """An unfrozen registry holding the same specs, to register more into."""
        return EventRegistry(self)

    def freeze(self) -> None:
        """Refuse any further registration (the default registry is frozen once filled)."""
        self._frozen = True

    @property
    def is_frozen(self) -> bool:
        return self._frozen

    def __contains__(self, routing_key: object) -> bool:
        return routing_key in self._specs

    def __iter__(self) -> Iterator[EventSpec]:
        """The specs, sorted by routing key (so generated documents are deterministic)."""
        return iter([self._specs[key] for key in sorted(self._specs)])

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"EventRegistry({len(self)} event types{', frozen' if self._frozen else ''})"


REGISTRY = EventRegistry()
"""The platform's event catalogue: filled and frozen by `contracts/__init__.py`."""

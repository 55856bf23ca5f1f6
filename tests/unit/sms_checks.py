"""What the SMS tests of the services share: the notifier's catalogue, rendering the SMS of a
domain change, and the checks every SMS must pass (GSM-7 in English, at most 3 segments with the
longest values, no placeholder left).

Each service's `test_sms.py` keeps its own branches and their exact expected texts; these
helpers only find the SMS event of a change, render it, and stretch its data to the longest.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contracts import REGISTRY, ContractModel, LocalizedText
from services.notifier.catalogue import event_context, load
from services.notifier.domain import MAX_SEGMENTS, count_segments

CATALOGUE = load()
PREFIX = "أمانة عمّان الكبرى: "
PREFIX_EN = "Greater Amman Municipality: "


def sms_event(events: Iterable[Any]) -> tuple[str, ContractModel]:
    """The one event of a change that the applicant hears of: (routing key, data).

    `events` are raised events (with `routing_key` and `data`) or (routing key, data) pairs.
    """
    pairs = [
        (event.routing_key, event.data) if hasattr(event, "routing_key") else tuple(event)
        for event in events
    ]
    (raised,) = [(key, data) for key, data in pairs if REGISTRY.spec_for(key).notifies_applicant]
    return raised


def render(key: str, lang: str, data: ContractModel) -> str:
    """The SMS the notifier sends for event `key` with `data`, in `lang`."""
    return CATALOGUE.render(key, lang, event_context(data))


def assert_english_gsm_7(key: str, data: ContractModel, request_number: str) -> None:
    """The English SMS names the municipality and the request, in the GSM-7 alphabet."""
    text = render(key, "en", data)
    assert text.startswith(PREFIX_EN)
    assert request_number in text
    assert count_segments(text).encoding == "GSM-7"


def assert_fits(text: str, *, filled: bool = True) -> None:
    """At most 3 segments (`MAX_SEGMENTS`); with `filled`, no value missing or left unrendered."""
    assert count_segments(text).count <= MAX_SEGMENTS, (len(text), text)
    if filled:
        assert "None" not in text and "{" not in text


def longest(data: ContractModel, ar: str, en: str, **changes: Any) -> ContractModel:
    """`data` with every bilingual text (at any depth) replaced by `ar`/`en`, then `changes`."""

    def stretch(value: object) -> object:
        if isinstance(value, LocalizedText):
            return LocalizedText(ar=ar, en=en)
        if isinstance(value, ContractModel):
            return value.model_copy(
                update={name: stretch(getattr(value, name)) for name in type(value).model_fields}
            )
        return value

    stretched = stretch(data)
    assert isinstance(stretched, ContractModel)
    return stretched.model_copy(update=changes)

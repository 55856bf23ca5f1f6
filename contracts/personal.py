"""Personal data on the broker: what each event carries in clear, and who needs it.

Anyone granted read on `amman.events` receives every event, so an event carries a person's data
in clear only where a consumer needs it, and `new_event` applies that to every event it builds,
whatever the producing service put in (`minimised`). The rules, field by field:

- `national_id` of an applicant or payer: on no event (`null`). Each service keeps it with its
  request; a system that needs it asks the owning service, by request number.
- `name` of an applicant or payer: in clear on `*.payment.requested.v1` and
  `*.refund.requested.v1` only (payments: the bill's holder, masked again towards the e-bill
  system, and the refund's payee); elsewhere masked (`A*** S***`).
- `phone` of an applicant or payer: in clear on the events with an SMS (`notifies_applicant`: the
  notifier sends it) and on the payment and refund requests (payments passes it on with its own
  bill and refund events); elsewhere masked (`+9627*****567`).
- `collected_by` (exams): masked; staff read it in the exams service.
- `score` (exams): only on `exams.request.result_recorded.v1`, whose SMS gives it.
- `owner_subject`: kept, on every request event: the identity provider's account id
  (pseudonymous), which the notifier and payments need to show a citizen their own messages and
  bills.
- `phone_masked` (notifier): masked by the notifier already.

The README's table of personal data per event type is generated from these rules
(`python -m contracts.generate`). `PERSONAL_FIELDS` names what counts as personal; a unit test
walks every registered event type and fails on a personal field these rules do not cover, and on
an event that would carry more in clear than they allow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from contracts.common import Applicant
from contracts.registry import EventSpec

__all__ = [
    "CLEAR_ON",
    "PERSONAL_FIELDS",
    "clear_fields",
    "mask_name",
    "mask_phone",
    "minimised",
]

# Field name -> what it is. A field of this name anywhere in an event's data is personal.
PERSONAL_FIELDS: Mapping[str, str] = {
    "national_id": "national number or personal number of a resident",
    "name": "a person's name (of an applicant or payer)",
    "phone": "a person's mobile number (of an applicant or payer)",
    "collected_by": "the name of who collected a certificate",
    "score": "an exam score",
    "owner_subject": "the portal account's id (pseudonymous)",
    "phone_masked": "a mobile number, masked",
}
_PAYMENTS_ASKED = (".payment.requested.v1", ".refund.requested.v1")


def _asks_payments(spec: EventSpec) -> bool:
    return spec.routing_key.endswith(_PAYMENTS_ASKED)


def _everywhere(spec: EventSpec) -> bool:
    return True


def _notified_or_payments(spec: EventSpec) -> bool:
    return spec.notifies_applicant or _asks_payments(spec)


def _result_sms(spec: EventSpec) -> bool:
    return spec.routing_key == "exams.request.result_recorded.v1"


def _sms_or_payments(spec: EventSpec) -> str:
    return "the notifier: the SMS" if spec.notifies_applicant else "payments: passed on to its SMS"


# Personal field -> (on which event types it is in clear, who needs it there). Not listed: never
# in clear.
CLEAR_ON: Mapping[str, tuple[Callable[[EventSpec], bool], Callable[[EventSpec], str]]] = {
    "name": (_asks_payments, lambda spec: "payments: the bill's holder, the refund's payee"),
    "phone": (_notified_or_payments, _sms_or_payments),
    "score": (_result_sms, lambda spec: "the notifier: the result SMS"),
    "owner_subject": (
        _everywhere,
        lambda spec: "pseudonymous; the notifier and payments: a citizen's own messages and bills",
    ),
    "phone_masked": (_everywhere, lambda spec: "masked already"),
}


def clear_fields(spec: EventSpec) -> frozenset[str]:
    """The personal fields an event of this type carries in clear."""
    return frozenset(field for field, (where, _) in CLEAR_ON.items() if where(spec))


def mask_name(name: str) -> str:
    """Each word's first letter and stars: enough for its owner to recognise, not to identify."""
    masked = " ".join(word[0] + "*" * min(max(len(word) - 1, 1), 3) for word in name.split())
    return masked or "*"  # never empty: the contract's fields are not


def mask_phone(phone: str) -> str:
    """The country and operator prefix and the last three digits: `+9627*****567`."""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) <= 7:
        return "*" * max(len(digits), 1)
    kept_head = 4 if phone.startswith("+") or phone.startswith("00") else 2
    return ("+" if phone.startswith("+") else "") + "".join(
        digits[:kept_head] + ["*"] * (len(digits) - kept_head - 3) + digits[-3:]
    )


def _applicant(person: Applicant, clear: frozenset[str]) -> Applicant:
    return person.model_copy(
        update={
            "national_id": None,
            "name": person.name if "name" in clear else mask_name(person.name),
            "phone": person.phone if "phone" in clear else mask_phone(person.phone),
        }
    )


def minimised(spec: EventSpec, data: BaseModel) -> BaseModel:
    """`data` as the broker may carry it for an event of this type: the personal fields not in
    clear there are masked, or null where the field allows it."""
    return _minimised(data, clear_fields(spec))


def _minimised(data: BaseModel, clear: frozenset[str]) -> BaseModel:
    """A person's name and phone are masked inside an `Applicant` only (a course's `name` is no
    person's); `collected_by` is masked and `score` left out wherever they stand."""
    update: dict[str, Any] = {}
    for field in type(data).model_fields:
        value = getattr(data, field)
        if isinstance(value, Applicant):
            update[field] = _applicant(value, clear)
        elif isinstance(value, BaseModel):
            inner = _minimised(value, clear)
            if inner is not value:
                update[field] = inner
        elif field == "collected_by" and isinstance(value, str) and field not in clear:
            update[field] = mask_name(value)
        elif field in ("score", "national_id") and value is not None and field not in clear:
            update[field] = None
    return data.model_copy(update=update) if update else data


def personal_paths(data: BaseModel, prefix: str = "") -> list[str]:
    """Where `data` holds personal fields: dotted paths (`applicant.phone`, `owner_subject`)."""
    found: list[str] = []
    for field in type(data).model_fields:
        value = getattr(data, field)
        path = f"{prefix}{field}"
        if isinstance(value, Applicant):
            found += [f"{path}.{name}" for name in ("name", "phone", "national_id")]
        elif isinstance(value, BaseModel):
            found += personal_paths(value, f"{path}.")
        elif field in PERSONAL_FIELDS and field not in ("name", "phone"):
            found.append(path)
    return found


def personal_table(specs: Iterable[tuple[EventSpec, BaseModel]]) -> str:
    """The README's table: for each event type with personal data, what it carries in clear
    (and who needs it) and what it masks or leaves out."""
    lines = [
        "| Event type | In clear (needed by) | Masked or left out |",
        "|---|---|---|",
    ]
    for spec, example in specs:
        paths = personal_paths(example)
        if not paths:
            continue
        clear = clear_fields(spec)
        shown = [p for p in paths if p.rsplit(".", 1)[-1] in clear]
        hidden = [p for p in paths if p.rsplit(".", 1)[-1] not in clear]
        needed = "; ".join(f"`{p}` ({CLEAR_ON[p.rsplit('.', 1)[-1]][1](spec)})" for p in shown)
        lines.append(
            f"| `{spec.routing_key}` | {needed or '—'} | "
            f"{', '.join(f'`{p}`' for p in hidden) or '—'} |"
        )
    return "\n".join(lines) + "\n"

"""What a document is: its kind (declared once per service), its rows, what a change asks for (a
`Due` entry staged in the aggregate's own write) and the stored record's states. Pure: no I/O,
so a domain may import it (`issue`, `revoke`, `Row`) and return its `Due` records with its
change."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from services.common.formatting import AMMAN

KIND_PATTERN = re.compile(r"^[a-z]+(?:_[a-z]+)*$")
# 18 random bytes, URL-safe base64: 24 characters, 144 bits. Unguessable; nothing else finds a
# document without logging in.
VERIFICATION_ID = re.compile(r"^[A-Za-z0-9_-]{24}$")


def new_verification_id() -> str:
    return secrets.token_urlsafe(18)


class State(StrEnum):
    """What the verification page says of a version."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REPLACED = "replaced"


STATE_TEXT: dict[State, tuple[str, str]] = {
    State.VALID: (
        "Valid: this document was issued by the Municipality and is in force.",
        "صالحة: أصدرت الأمانة هذه الوثيقة وهي سارية.",
    ),
    State.EXPIRED: (
        "Expired: this document was issued by the Municipality; its validity ended.",
        "منتهية: أصدرت الأمانة هذه الوثيقة وانتهت مدة صلاحيتها.",
    ),
    State.REVOKED: (
        "Revoked: the Municipality withdrew this document.",
        "ملغاة: سحبت الأمانة هذه الوثيقة.",
    ),
    State.REPLACED: (
        "Replaced: a newer version of this document was issued; this one is no longer in force.",
        "مستبدلة: صدرت نسخة أحدث من هذه الوثيقة، ولم تعد هذه النسخة سارية.",
    ),
}


@dataclass(frozen=True)
class Row:
    """One line of a document: its label in both languages, and the value (any script)."""

    label_en: str
    label_ar: str
    value: str


@dataclass(frozen=True)
class DocumentKind:
    """One kind of document a service issues, declared once in its `DocumentsSpec`.

    `staff_roles`: who besides the holder may list and download it. `holder_is_person`: the
    verification page masks the holder's name (a business name is shown whole)."""

    name: str
    title_en: str
    title_ar: str
    staff_roles: tuple[str, ...]
    holder_is_person: bool = True

    def __post_init__(self) -> None:
        if not KIND_PATTERN.match(self.name):
            raise ValueError(f"document kind {self.name!r}: lowercase words joined by '_'")
        if not self.staff_roles:
            raise ValueError(f"document kind {self.name!r}: name the staff roles that may read it")


@dataclass(frozen=True)
class Due:
    """A document a change asks for, staged in the aggregate's own write (`stage_documents`):
    `issue` renders, stores and records a new version; `revoke` revokes the current one.

    Its `id` becomes the record's `_id` and the PDF's GridFS id, so that doing it again after a
    crash finds what was done instead of doing it twice."""

    action: Literal["issue", "revoke"]
    kind: str
    number: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # issue
    owner: str = ""
    holder: str = ""
    rows: tuple[Row, ...] = ()
    issued_at: datetime | None = None
    valid_until: date | None = None
    verification_id: str = field(default_factory=new_verification_id)
    # revoke
    reason_en: str = ""
    reason_ar: str = ""
    at: datetime | None = None

    def to_entry(self) -> dict[str, str]:
        """The stored entry: the id, and the rest as JSON text (FerretDB v1 stores no array
        inside an array, and the rows are one)."""
        body = {
            "action": self.action,
            "kind": self.kind,
            "number": self.number,
            "owner": self.owner,
            "holder": self.holder,
            "rows": [[r.label_en, r.label_ar, r.value] for r in self.rows],
            "issued_at": self.issued_at.isoformat() if self.issued_at else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "verification_id": self.verification_id,
            "reason_en": self.reason_en,
            "reason_ar": self.reason_ar,
            "at": self.at.isoformat() if self.at else None,
        }
        return {"id": self.id, "body": json.dumps(body, ensure_ascii=False, sort_keys=True)}

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Due:
        body = json.loads(entry["body"])
        return cls(
            id=entry["id"],
            action=body["action"],
            kind=body["kind"],
            number=body["number"],
            owner=body["owner"],
            holder=body["holder"],
            rows=tuple(Row(*row) for row in body["rows"]),
            issued_at=datetime.fromisoformat(body["issued_at"]) if body["issued_at"] else None,
            valid_until=date.fromisoformat(body["valid_until"]) if body["valid_until"] else None,
            verification_id=body["verification_id"],
            reason_en=body["reason_en"],
            reason_ar=body["reason_ar"],
            at=datetime.fromisoformat(body["at"]) if body["at"] else None,
        )


def issue(
    kind: DocumentKind | str,
    number: str,
    *,
    owner: str,
    holder: str,
    rows: Sequence[Row],
    issued_at: datetime,
    valid_until: date | None = None,
    once: str | None = None,
) -> Due:
    """Ask for a document (a new version if one with this kind and number exists: the previous
    becomes `replaced`). `owner`: the citizen's subject, who may download it; `issued_at`: the
    step's time (aware). `once`: a name for this issue (e.g. the step, `paid`): a second entry
    with the same kind, number and name does nothing, should a redelivered event stage it
    again; without it, each entry is a new version."""
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be aware")
    name = kind.name if isinstance(kind, DocumentKind) else kind
    due = Due(
        "issue",
        name,
        number,
        owner=owner,
        holder=holder,
        rows=tuple(rows),
        issued_at=issued_at,
        valid_until=valid_until,
    )
    if once is not None:
        key = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:amman:document:{name}:{number}:{once}")
        due = replace(due, id=key.hex)
    return due


def revoke(
    kind: DocumentKind | str, number: str, *, reason_en: str, reason_ar: str, at: datetime
) -> Due:
    """Ask for the current version of a document to be revoked (nothing, if none is in force)."""
    name = kind.name if isinstance(kind, DocumentKind) else kind
    return Due("revoke", name, number, reason_en=reason_en, reason_ar=reason_ar, at=at)


def state_of(record: dict[str, Any], now: datetime) -> State:
    """A stored version's state now: revoked and replaced as stored; valid turns expired after
    its last valid day (Amman date)."""
    stored = State(record["state"])
    if stored is not State.VALID:
        return stored
    valid_until = record.get("valid_until")
    if valid_until and now.astimezone(AMMAN).date() > date.fromisoformat(valid_until):
        return State.EXPIRED
    return State.VALID


def mask_name(name: str) -> str:
    """A person's name as the public page shows it: the first word whole, the others by their
    first letter, after the article `ال` (`محمد أحمد العلي` -> `محمد أ. ع.`, `Sara K.`)."""
    words = name.split()
    if not words:
        return ""

    def initial(word: str) -> str:
        return (word[2] if word.startswith("ال") and len(word) > 2 else word[0]) + "."

    return " ".join([words[0], *(initial(word) for word in words[1:])])

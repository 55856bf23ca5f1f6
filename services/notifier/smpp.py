"""SMPP 3.4 rules of the notifier, pure: how a text becomes `submit_sm` parts, what an SMSC's
command status means, and how a delivery receipt reads. No I/O (the link is `smpp_gateway.py`).

- **Encoding**: a text whose every character is in the GSM 03.38 alphabet goes in the SMSC's
  default alphabet (`data_coding` 0, one octet a septet, the extension characters as
  `ESC` + character, as smpplib encodes them); any other text, every Arabic one, as UCS-2
  (`data_coding` 8, UTF-16 big-endian).
- **Parts**: the notifier's own segment rule (`domain.count_segments`): 160 septets or 70 UTF-16
  units in one part; otherwise 153 or 67 a part, never splitting an escape pair or a surrogate
  pair. Each part carries a concatenation header (UDH `05 00 03 ref total seq`, `esm_class`
  0x40) or the SAR parameters (`sar_msg_ref_num`, `sar_total_segments`, `sar_segment_seqnum`),
  by setting; the reference is derived from the message id, so every attempt at one message
  uses the same one and the handset joins the parts.
- **Answers**: `ESME_ROK` is accepted; `ESME_RTHROTTLED` and `ESME_RMSGQFUL` are "not now"
  (a temporary failure, retried with the notifier's backoff); every other status is permanent.
- **Receipts**: `deliver_sm` with `esm_class` bit 0x04, its text in the format of the SMPP 3.4
  specification's appendix B (`id:… sub:… dlvrd:… submit date:… done date:… stat:… err:…
  text:…`), or the `receipted_message_id` and `message_state` parameters.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from smpplib import gsm

from services.notifier.domain import GSM7_EXTENSION, Encoding, ReceiptStatus, count_segments

Concatenation = Literal["udh", "sar"]

DATA_CODING: dict[Encoding, int] = {"GSM-7": 0x00, "UCS-2": 0x08}
ESM_CLASS_UDHI = 0x40
ESM_CLASS_RECEIPT = 0x04
REGISTERED_DELIVERY_RECEIPT = 0x01  # an SMSC delivery receipt on success and on failure

# Type of number / numbering plan of the addresses.
TON_INTERNATIONAL, NPI_ISDN = 0x01, 0x01
TON_ALPHANUMERIC, NPI_UNKNOWN = 0x05, 0x00

# Command statuses (SMPP 3.4, section 5.1.3) the notifier tells apart.
ESME_ROK = 0x00
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RX_T_APPN = 0x64
TEMPORARY_STATUSES = frozenset({ESME_RMSGQFUL, ESME_RTHROTTLED})
# A bind refused for these needs an operator (credentials), not a retry.
CREDENTIAL_STATUSES = frozenset({ESME_RBINDFAIL, ESME_RINVPASWD, ESME_RINVSYSID})

STATUS_NAMES: dict[int, str] = {
    0x00: "ESME_ROK",
    0x01: "ESME_RINVMSGLEN",
    0x02: "ESME_RINVCMDLEN",
    0x03: "ESME_RINVCMDID",
    0x04: "ESME_RINVBNDSTS",
    0x05: "ESME_RALYBND",
    0x08: "ESME_RSYSERR",
    0x0A: "ESME_RINVSRCADR",
    0x0B: "ESME_RINVDSTADR",
    0x0C: "ESME_RINVMSGID",
    0x0D: "ESME_RBINDFAIL",
    0x0E: "ESME_RINVPASWD",
    0x0F: "ESME_RINVSYSID",
    0x14: "ESME_RMSGQFUL",
    0x33: "ESME_RINVNUMDESTS",
    0x45: "ESME_RSUBMITFAIL",
    0x48: "ESME_RINVSRCTON",
    0x50: "ESME_RINVDSTTON",
    0x58: "ESME_RTHROTTLED",
    0x61: "ESME_RINVSCHED",
    0x62: "ESME_RINVEXPIRY",
    0x64: "ESME_RX_T_APPN",
    0xFF: "ESME_RUNKNOWNERR",
}


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"0x{status:08X}")


@dataclass(frozen=True)
class Part:
    """One `submit_sm`'s worth of a message."""

    short_message: bytes
    esm_class: int
    data_coding: int
    # SAR parameters (None with UDH, or for a one-part message).
    sar_msg_ref_num: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None


def split_text(text: str, encoding: Encoding) -> list[str]:
    """The text cut into parts by the notifier's segment rule (see `count_segments`)."""
    if encoding == "GSM-7":
        units = [2 if character in GSM7_EXTENSION else 1 for character in text]
        single, size = 160, 153
    else:
        units = [len(character.encode("utf-16-le")) // 2 for character in text]
        single, size = 70, 67
    if sum(units) <= single:
        return [text]
    parts: list[str] = []
    current, filled = "", 0
    for character, unit in zip(text, units, strict=True):
        if filled + unit > size:
            parts.append(current)
            current, filled = "", 0
        current += character
        filled += unit
    parts.append(current)
    return parts


def encode_text(text: str, encoding: Encoding) -> bytes:
    if encoding == "GSM-7":
        encoded: bytes = gsm.gsm_encode(text)
        return encoded
    return text.encode("utf-16-be")


def concatenation_reference(message_reference: str, bits: int) -> int:
    """The message's concatenation reference: the same for every attempt at one message."""
    digest = hashlib.sha256(message_reference.encode()).digest()
    return int.from_bytes(digest[:2], "big") % (1 << bits)


def make_parts(
    text: str, encoding: Encoding, message_reference: str, concatenation: Concatenation
) -> list[Part]:
    """The `submit_sm` payloads of one message, in order."""
    data_coding = DATA_CODING[encoding]
    pieces = split_text(text, encoding)
    expected = max(count_segments(text).count, 1)
    if len(pieces) != expected:  # pragma: no cover - the two rules are one rule
        raise AssertionError(f"split into {len(pieces)} parts, counted {expected}")
    if len(pieces) == 1:
        return [Part(encode_text(text, encoding), 0x00, data_coding)]
    total = len(pieces)
    if concatenation == "udh":
        reference = concatenation_reference(message_reference, 8)
        return [
            Part(
                bytes([0x05, 0x00, 0x03, reference, total, number]) + encode_text(piece, encoding),
                ESM_CLASS_UDHI,
                data_coding,
            )
            for number, piece in enumerate(pieces, start=1)
        ]
    reference = concatenation_reference(message_reference, 16)
    return [
        Part(
            encode_text(piece, encoding),
            0x00,
            data_coding,
            sar_msg_ref_num=reference,
            sar_total_segments=total,
            sar_segment_seqnum=number,
        )
        for number, piece in enumerate(pieces, start=1)
    ]


def smpp_destination(phone: str) -> str:
    """E.164 `+962791234567` as SMPP wants an international number: digits only."""
    return phone.removeprefix("+")


# ---- delivery receipts -------------------------------------------------------------------------

# Final receipt states and the status each ends a message in, as the HTTP receipts do.
# `ENROUTE`, `ACCEPTD` (and unknown words) are not final: they change nothing.
RECEIPT_STATES: dict[str, ReceiptStatus] = {
    "DELIVRD": "delivered",
    "UNDELIV": "permanent-failure",
    "REJECTD": "permanent-failure",
    "EXPIRED": "temporary-failure",
    "DELETED": "temporary-failure",
    "UNKNOWN": "temporary-failure",
}
# The `message_state` parameter's values (SMPP 3.4, section 5.2.28) as the text's words.
MESSAGE_STATES: dict[int, str] = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}

_RECEIPT_FIELD = re.compile(
    r"(?P<key>id|sub|dlvrd|submit date|done date|stat|err|text):(?P<value>.*?)"
    r"(?= (?:id|sub|dlvrd|submit date|done date|stat|err|text):|$)",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt as the SMSC sent it."""

    smsc_message_id: str
    state: str
    error: str | None
    # Where the message went (the receipt's source address), E.164.
    phone: str

    @property
    def status(self) -> ReceiptStatus | None:
        """What it ends the message in; None for an intermediate state."""
        return RECEIPT_STATES.get(self.state)

    @property
    def reason(self) -> str:
        error = f", error {self.error}" if self.error and self.error.strip("0") else ""
        return f"the SMSC reported {self.state}{error}"


def parse_receipt(
    short_message: bytes,
    source_addr: str,
    receipted_message_id: str | None = None,
    message_state: int | None = None,
) -> Receipt | None:
    """A receipt from a `deliver_sm`'s text and parameters; None if it is not one."""
    text = short_message.decode("latin-1", errors="replace")
    fields = {
        match["key"].lower(): match["value"].strip() for match in _RECEIPT_FIELD.finditer(text)
    }
    smsc_id = receipted_message_id or fields.get("id")
    state = MESSAGE_STATES.get(message_state or 0) or fields.get("stat", "").upper()
    if not smsc_id or not state:
        return None
    return Receipt(
        smsc_message_id=smsc_id,
        state=state,
        error=fields.get("err"),
        phone="+" + source_addr.lstrip("+") if source_addr else "",
    )

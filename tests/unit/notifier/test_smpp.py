"""The SMPP rules, pure: parts and their bytes, concatenation references, receipts, statuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.domain import GSM7_BASIC, GSM7_EXTENSION, count_segments
from services.notifier.smpp import (
    ESM_CLASS_UDHI,
    concatenation_reference,
    make_parts,
    parse_receipt,
    split_text,
    status_name,
)

GSM_CHARACTERS = sorted(GSM7_BASIC | GSM7_EXTENSION)


@given(st.text(alphabet=GSM_CHARACTERS, min_size=1, max_size=480))
def test_a_gsm_text_splits_into_the_counted_parts_never_between_an_escape_pair(
    text: str,
) -> None:
    parts = split_text(text, "GSM-7")
    assert "".join(parts) == text
    assert len(parts) == count_segments(text).count
    limit = 160 if len(parts) == 1 else 153
    for part in parts:
        assert sum(2 if c in GSM7_EXTENSION else 1 for c in part) <= limit


@given(st.text(min_size=1, max_size=200).filter(lambda t: count_segments(t).encoding == "UCS-2"))
def test_a_ucs2_text_splits_into_the_counted_parts_never_in_a_surrogate_pair(text: str) -> None:
    parts = split_text(text, "UCS-2")
    assert "".join(parts) == text
    assert len(parts) == count_segments(text).count
    limit = 70 if len(parts) == 1 else 67
    for part in parts:
        assert len(part.encode("utf-16-be")) // 2 <= limit


def test_one_part_has_no_header_and_the_alphabet_of_its_text() -> None:
    [english] = make_parts("Hello @ 12.500 JOD", "GSM-7", "m-1", "udh")
    assert (english.esm_class, english.data_coding) == (0, 0)
    assert english.short_message == b"Hello \x00 12.500 JOD"  # '@' is GSM 0x00
    [arabic] = make_parts("مرحبا", "UCS-2", "m-1", "udh")
    assert (arabic.esm_class, arabic.data_coding) == (0, 8)
    assert arabic.short_message == "مرحبا".encode("utf-16-be")


def test_the_extension_characters_are_escaped() -> None:
    [part] = make_parts("[€]", "GSM-7", "m-1", "udh")
    assert part.short_message == b"\x1b<\x1be\x1b>"


def test_long_messages_carry_one_udh_reference_per_message() -> None:
    text = "ع" * 140
    parts = make_parts(text, "UCS-2", "m-1", "udh")
    reference = concatenation_reference("m-1", 8)
    assert [p.short_message[:6] for p in parts] == [
        bytes([5, 0, 3, reference, 3, n]) for n in (1, 2, 3)
    ]
    assert {p.esm_class for p in parts} == {ESM_CLASS_UDHI}
    assert b"".join(p.short_message[6:] for p in parts) == text.encode("utf-16-be")
    # Every attempt at a message uses its reference; another message (almost always) another.
    assert make_parts(text, "UCS-2", "m-1", "udh") == parts
    references = {concatenation_reference(f"m-{n}", 8) for n in range(50)}
    assert len(references) > 40


def test_sar_parameters_instead_of_a_header() -> None:
    parts = make_parts("x" * 200, "GSM-7", "m-1", "sar")
    reference = concatenation_reference("m-1", 16)
    assert [
        (p.esm_class, p.sar_msg_ref_num, p.sar_total_segments, p.sar_segment_seqnum) for p in parts
    ] == [
        (0, reference, 2, 1),
        (0, reference, 2, 2),
    ]
    assert [len(p.short_message) for p in parts] == [153, 47]


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("DELIVRD", "delivered"),
        ("UNDELIV", "permanent-failure"),
        ("REJECTD", "permanent-failure"),
        ("EXPIRED", "temporary-failure"),
        ("DELETED", "temporary-failure"),
        ("UNKNOWN", "temporary-failure"),
        ("ENROUTE", None),
        ("ACCEPTD", None),
    ],
)
def test_a_receipt_text_maps_to_the_http_receipts_statuses(state: str, status: str | None) -> None:
    text = (
        f"id:7f3a sub:001 dlvrd:000 submit date:2612051600 done date:2612051601 stat:{state} "
        "err:004 text:Your e-payment numb"
    )
    receipt = parse_receipt(text.encode(), "962791234567")
    assert receipt is not None
    assert (receipt.smsc_message_id, receipt.state, receipt.error) == ("7f3a", state, "004")
    assert receipt.phone == "+962791234567"
    assert receipt.status == status


def test_the_receipt_parameters_win_over_the_text() -> None:
    receipt = parse_receipt(b"", "962791234567", receipted_message_id="abc", message_state=5)
    assert receipt is not None and (receipt.smsc_message_id, receipt.status) == (
        "abc",
        "permanent-failure",
    )


def test_a_mobile_originated_text_is_no_receipt() -> None:
    assert parse_receipt("مرحبا".encode("utf-16-be"), "962791234567") is None


def test_status_names() -> None:
    assert status_name(0x58) == "ESME_RTHROTTLED"
    assert status_name(0x1234) == "0x00001234"

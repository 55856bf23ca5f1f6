"""The shared upload pieces: the type from the bytes, the checks in their order, the safe name,
reading one byte past the limit, and the download answer (no database)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi import UploadFile

from services.common.errors import RuleBroken
from services.common.files import (
    StoredFile,
    UploadRules,
    check_upload,
    detect_content_type,
    safe_filename,
)
from services.common.problems import problem_of
from services.common.uploads import download, read_upload

PDF = b"%PDF-1.7 ..."


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0....", "image/jpeg"),
        (b"GIF89a", None),
        (b"MZ\x90\x00", None),
        (b"<html>%PDF-", None),
        (b"", None),
    ],
)
def test_the_type_comes_from_the_bytes(data: bytes, expected: str | None) -> None:
    assert detect_content_type(data) == expected


def refusal(data: bytes, rules: UploadRules) -> Any:
    """The 422 problem the API answers the refusal with."""
    with pytest.raises(RuleBroken) as refused:
        check_upload(data, rules)
    return problem_of(refused.value)


def test_a_file_within_the_limit_and_of_a_known_type_is_taken() -> None:
    assert check_upload(PDF, UploadRules(len(PDF))) == "application/pdf"


def test_a_file_past_the_limit_is_refused_in_kilobytes_naming_the_field() -> None:
    error = refusal(PDF + b"x" * 2048, UploadRules(2048, field="attachment"))

    assert error.detail == "The file is larger than 2 KB."
    assert error.detail_ar == "حجم الملف أكبر من 2 كيلوبايت."
    assert error.extensions["errors"] == [
        {
            "field": "attachment",
            "location": "body",
            "message": "The file is larger than 2 KB.",
            "message_ar": "حجم الملف أكبر من 2 كيلوبايت.",
            "type": "max_size",
        }
    ]


def test_an_empty_file_breaks_the_services_rule_or_else_is_of_no_known_type() -> None:
    empty = refusal(b"", UploadRules(1024, empty_rule="not_empty"))
    assert (empty.detail, empty.detail_ar) == ("The file is empty.", "الملف فارغ.")
    assert empty.extensions["errors"][0]["type"] == "not_empty"

    untyped = refusal(b"", UploadRules(1024, empty_rule=None))
    assert untyped.detail == "The file must be a PDF, PNG or JPEG document."
    assert untyped.extensions["errors"] == [
        {
            "field": "file",
            "location": "body",
            "message": "The file must be a PDF, PNG or JPEG document.",
            "message_ar": "يجب أن يكون الملف بصيغة PDF أو PNG أو JPEG.",
            "type": "content_type",
        }
    ]


def test_the_declared_type_is_never_trusted() -> None:
    error = refusal(b"<html></html>", UploadRules(1024))
    assert error.detail_ar == "يجب أن يكون الملف بصيغة PDF أو PNG أو JPEG."


def test_the_stored_name_keeps_safe_characters_only() -> None:
    assert safe_filename("../../etc/pass wd.pdf", "proof") == "....etcpass wd.pdf"
    assert safe_filename("شهادة.pdf", "proof") == "شهادة.pdf"  # letters of any script
    assert safe_filename("/<>", "attachment") == "attachment"
    assert len(safe_filename("a" * 300, "x")) == 100


async def test_reading_stops_one_byte_past_the_limit() -> None:
    upload = UploadFile(io.BytesIO(b"x" * 5000), filename="big.pdf")
    assert len(await read_upload(upload, UploadRules(1024))) == 1025


def test_a_stored_file_gives_the_fields_of_the_services_record() -> None:
    stored = StoredFile(file_id="f1", content_type="image/png", size=3, filename="a.png")
    assert stored.fields() == {
        "file_id": "f1",
        "content_type": "image/png",
        "size": 3,
        "filename": "a.png",
    }


def test_a_download_is_never_sniffed_nor_shown_inline() -> None:
    response = download(PDF, "application/pdf")

    assert response.body == PDF
    assert response.media_type == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == "attachment"

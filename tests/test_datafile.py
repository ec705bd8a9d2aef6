from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.core.datafile import DataFileError, field_path, load_model


class Contact(BaseModel):
    name: str
    phone: str

    class Config:
        extra = "forbid"


class Book(BaseModel):
    contacts: list[Contact]

    class Config:
        extra = "forbid"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "book.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_field_path_reads_like_the_yaml() -> None:
    assert field_path(("contacts", 3, "available")) == "contacts[3].available"
    assert field_path(("__root__",)) == "(top level)"


def test_valid_file_loads(tmp_path: Path) -> None:
    book = load_model(write(tmp_path, "contacts:\n  - {name: A, phone: '999'}\n"), Book)
    assert book.contacts[0].phone == "999"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("contacts:\n  - {name: A}\n", "contacts[0].phone: field required"),
        ("contacts:\n  - {name: A, phone: '1', fax: '2'}\n", "contacts[0].fax: extra fields"),
        ("contacts: [\n", "line"),
        ("", "expected a mapping"),
        ("- just a list\n", "expected a mapping"),
    ],
)
def test_broken_files_give_one_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(DataFileError) as info:
        load_model(write(tmp_path, text), Book)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "book.yml"))
    assert expected in message


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="file not found"):
        load_model(tmp_path / "nope.yml", Book)
    binary = tmp_path / "bin.yml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataFileError, match="not UTF-8"):
        load_model(binary, Book)

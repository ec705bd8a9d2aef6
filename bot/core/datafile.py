"""Load a YAML data file and validate it against a pydantic schema, with one-line errors.

Policy packs, rosters, language rules and danger rules are data. A broken file must stop
start-up with the file, the field path and the problem, e.g.::

    packs/crasac.yml: contacts[3].available: 'mon-fri 9-5pm' is not a valid hours rule

never a traceback in the middle of a conversation. Every loader uses `load_model`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class DataFileError(ValueError):
    """A data file is missing, unreadable, not YAML, or breaks its schema."""


def field_path(loc: tuple[Any, ...]) -> str:
    """('contacts', 3, 'available') -> 'contacts[3].available'."""
    out = ""
    for part in loc:
        if part == "__root__":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def read_yaml(path: Path | str) -> Any:
    """Parse a YAML file; every failure becomes a one-line DataFileError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (NUL, other control characters).
        line = text.count("\n", 0, exc.position) + 1
        raise DataFileError(
            f"{path}: line {line}: character {exc.character!r} is not allowed in a YAML file"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f": line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise DataFileError(one_line(f"{path}{where}: {problem}")) from None
    except RecursionError:
        raise DataFileError(f"{path}: nested too deeply to be a data file") from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer with thousands of digits
        raise DataFileError(one_line(f"{path}: not a usable value ({exc})")) from None


def one_line(text: str, limit: int = 300) -> str:
    """Collapse newlines and runs of spaces, and cut very long messages (a value quoted in an
    error may be anything the file holds)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def validate(data: Any, model: type[Model], source: str) -> Model:
    """Validate parsed data; the first problem becomes a one-line DataFileError."""
    if not isinstance(data, dict):
        raise DataFileError(f"{source}: expected a mapping at the top level")
    try:
        return model.parse_obj(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        extra = len(exc.errors()) - 1
        more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
        where = one_line(field_path(first["loc"]), 120)
        raise DataFileError(f"{source}: {where}: {one_line(first['msg'])}{more}") from None
    except RecursionError:
        raise DataFileError(f"{source}: nested too deeply to be a data file") from None


def load_model(path: Path | str, model: type[Model]) -> Model:
    """Read and validate one data file."""
    return validate(read_yaml(path), model, str(path))

"""Reading a user's YAML file into a mapping, with errors that name the file, line and column."""

from __future__ import annotations

from pathlib import Path

import yaml


def read_mapping(path: str | Path, error: type[Exception], what: str) -> dict:
    """The YAML mapping in ``path``; any problem raises ``error`` with a message naming the file
    (``what`` says what the file should be, e.g. "a scenario is a YAML mapping with ...")."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        raise error(f"{path}:{where} not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: {what}")
    return raw

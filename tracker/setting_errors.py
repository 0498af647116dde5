"""Bad settings told as one line: which setting (its TRACKER_* variable, or the key in the TOML file,
or the command-line option), the value given and what is expected.

pydantic reports a setting by its field name and a JSON-parse failure of a list setting as a
`SettingsError` naming the field only; a user sets `TRACKER_MAX_IMPORT_MB` or `max_import_mb` in
tracker.toml and must be told which of the two to fix. The TOML file is read here too, so a
broken file is reported with its name and the line instead of a tomllib traceback.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
import typing
from pathlib import Path
from typing import Any

from .errors import BadSetting

MAX_CONFIG_BYTES = 1 << 20  # a settings file larger than this is not a settings file
_OPTIONS = {"database": "--db", "actor": "--actor"}  # settings the command line can also give


def env_name(field: str) -> str:
    """The environment variable of a setting: TRACKER_<FIELD>."""
    return f"TRACKER_{field.upper()}"


def _env_value(field: str) -> str | None:
    wanted = env_name(field).lower()  # pydantic-settings reads the environment case-insensitively
    return next((v for k, v in os.environ.items() if k.lower() == wanted), None)


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The settings file as a dict ({} when it does not exist); BadSetting naming the file otherwise."""
    path = Path(path)
    where = f"settings file {path} (TRACKER_CONFIG)"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise BadSetting(f"{where}: cannot be read: {err.strerror or err}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadSetting(f"{where}: is not a regular file; expected a TOML file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as err:
        raise BadSetting(f"{where}: cannot be read: {err.strerror or err}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_CONFIG_BYTES:
        raise BadSetting(f"{where}: larger than {MAX_CONFIG_BYTES // 2**20} MB; expected a small TOML file")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise BadSetting(f"{where}: not UTF-8 text (byte {err.start}); expected a TOML file") from None
    except tomllib.TOMLDecodeError as err:
        raise BadSetting(f"{where}: not valid TOML: {err}") from None


def where(field: str, toml_file: str | os.PathLike[str], init: dict[str, Any]) -> str:
    """The setting as the user gave it: `--db 'x'`, `TRACKER_X='x'` or `x = 'x' in tracker.toml`."""
    if field in init:
        return f"{_OPTIONS.get(field, field)} {_shown(init[field])}"
    value = _env_value(field)
    if value is not None:
        return f"{env_name(field)}={_shown(value)}"
    try:
        data = read_toml(toml_file)
    except BadSetting:
        data = {}
    if field in data:
        return f"{field} = {_shown(data[field])} in {toml_file}"
    return env_name(field)


_EXPECTED = {"database": "a .gpkg file path or a postgresql:// URL", "data_dir": "a folder",
             "max_import_mb": "a whole number of MB above 0", "max_image_mb": "a whole number of MB above 0",
             "request_timeout": "seconds, above 0 and at most 120"}


def expected(annotation: Any, field: str = "") -> str:
    """What a field accepts, in words."""
    if field in _EXPECTED:
        return _EXPECTED[field]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(annotation))
    if origin is list or any(typing.get_origin(a) is list for a in args):
        return 'a JSON list of strings, e.g. ["localhost:8080"]'
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "a whole number"
    if annotation is float:
        return "a number"
    if annotation is Path:
        return "a path"
    return "text"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(err: Exception, fields: dict[str, Any], toml_file: str | os.PathLike[str],
             init: dict[str, Any]) -> BadSetting:
    """A pydantic ValidationError or pydantic-settings SettingsError as one BadSetting line."""
    problems: list[str] = []
    errors = getattr(err, "errors", None)
    if callable(errors):
        for e in errors(include_url=False):
            name = str(e["loc"][0]) if e.get("loc") else ""
            if name not in fields:
                problems.append(str(e.get("msg", err)))
                continue
            msg = str(e.get("msg", "")).removeprefix("Value error, ")
            msg = msg[:1].lower() + msg[1:]
            problems.append(f"{where(name, toml_file, init)}: {msg} "
                            f"(expected {expected(fields[name].annotation, name)})")
    else:  # SettingsError: 'error parsing value for field "x" from source "EnvSettingsSource"'
        m = re.search(r'field "(\w+)"', str(err))
        name = m.group(1) if m else ""
        if name in fields:
            problems.append(f"{where(name, toml_file, init)}: cannot be read "
                            f"(expected {expected(fields[name].annotation, name)})")
        else:
            problems.append(str(err))
    return BadSetting("bad setting: " + "; ".join(problems))

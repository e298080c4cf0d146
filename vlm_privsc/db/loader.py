"""Loading privacy databases from YAML: merge a user file over the default, validate,
and report the first problem as one line naming the file, line, field and problem."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from vlm_privsc.db.schema import PrivacyDB
from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.registry import short_repr

DEFAULT_DB_NAME = "default.yaml"
MAX_YAML_BYTES = 4 * 1024 * 1024
"""A database or preset larger than this is refused before it is parsed (real ones are a few kB)."""
MAX_YAML_VALUES = 100_000
"""A YAML file whose values, with every alias expanded, number more than this is refused
(a "billion laughs" file expands a few lines into billions of values)."""


def default_db_path() -> Path:
    """The packaged default database (``privacy_db/default.yaml``)."""
    return Path(str(resources.files("vlm_privsc.privacy_db") / DEFAULT_DB_NAME))


def read_yaml(
    path: Path, what: str = "privacy database", top: str = "a mapping with 'categories' and 'policies'"
) -> tuple[Any, yaml.Node | None]:
    """Parse ``path`` (a ``what``, whose top level must be ``top``); return the data and its
    node tree (for line numbers in error messages)."""
    from vlm_privsc.io.files import read_input_bytes

    raw = read_input_bytes(path, what, MAX_YAML_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"cannot read {what} {str(path)!r}: not UTF-8 text (byte {e.start})") from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None and _expanded_size(node, path) > MAX_YAML_VALUES:
                raise ConfigError(
                    f"{path}: refused: its YAML aliases expand to more than {MAX_YAML_VALUES:,} values "
                    "(a 'billion laughs' file?)"
                )
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {short_text(problem)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: refused: nested too deeply") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be {top}")
    return data, node


def _expanded_size(root: yaml.Node, path: Path) -> int:
    """How many values the node tree holds once every alias is expanded (each shared
    node counted once per use), computed without expanding anything."""
    memo: dict[int, int] = {}

    def size(node: yaml.Node, depth: int = 0) -> int:
        if depth > 200:
            raise ConfigError(f"{path}: refused: an alias refers to itself, or the values nest deeper than 200 levels")
        if id(node) in memo:
            return memo[id(node)]
        if isinstance(node, yaml.SequenceNode):
            n = 1 + sum(size(c, depth + 1) for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            n = 1 + sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        else:
            n = 1
        memo[id(node)] = n
        return n

    return size(root)


def short_text(text: str, limit: int = 160) -> str:
    """One line of at most ``limit`` characters (error messages never echo a whole input)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node along ``loc`` (a pydantic error location)."""
    line = None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                    nxt, line = v, k.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; any other value in ``over`` replaces the base's."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def format_validation_error(err: ValidationError, path: Path, node: yaml.Node | None) -> str:
    """The first problem of ``err`` as one line: ``file:line: field: message``."""
    first = err.errors()[0]
    loc = tuple(first["loc"])
    field = ".".join(str(p) for p in loc) or "(top level)"
    line = line_of(node, loc)
    where = f"{path}:{line}" if line else str(path)
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown field"
    elif "input" in first and first["type"] not in ("missing",) and not isinstance(first["input"], dict):
        msg = f"{msg} (got {short_repr(first['input'])})"
    more = len(err.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}: {short_text(field, 120)}: {short_text(msg)}{tail}"


def _validate(data: dict[str, Any], path: Path, node: yaml.Node | None) -> PrivacyDB:
    try:
        db = PrivacyDB.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, path, node)) from None
    _check_detectors(db, path, node)
    return db


def _check_detectors(db: PrivacyDB, path: Path, node: yaml.Node | None) -> None:
    """Every detector the database names must be registered, and its parameters must be
    ones its constructor takes, of the right types (checked here, not when the guard runs)."""
    from vlm_privsc.backends import DETECTORS

    for cname, cat in db.categories.items():
        specs: list[tuple[tuple[Any, ...], Any]] = [
            (("categories", cname, "detectors", i), spec) for i, spec in enumerate(cat.detectors)
        ]
        if cat.confirm is not None:
            specs += [(("categories", cname, "confirm", "by", i), spec) for i, spec in enumerate(cat.confirm.by)]
        for at, spec in specs:
            if spec.name not in DETECTORS:
                loc: tuple[Any, ...] = (*at, "name")
                line = line_of(node, loc)
                where = f"{path}:{line}" if line else str(path)
                raise ConfigError(
                    f"{where}: {'.'.join(map(str, loc))}: unknown detector {spec.name!r}; "
                    f"valid: {', '.join(DETECTORS.names())}"
                )
            try:
                DETECTORS.check_params(spec.name, spec.params)
            except ConfigError as e:
                key = str(e).split(":", 1)[0]
                loc = (*at, "params", key)
                line = line_of(node, loc) or line_of(node, loc[:-1])
                where = f"{path}:{line}" if line else str(path)
                raise ConfigError(f"{where}: {'.'.join(map(str, loc[:-1]))}.{e}") from None


def load_db(path: str | Path | None = None) -> PrivacyDB:
    """Load the default database, or a user file merged over it.

    A user file overrides or extends the default key by key (``categories.face.threshold:
    0.3`` changes just that field; a new category is added). With ``extends: none`` at its
    top level it stands alone.
    """
    base_path = default_db_path()
    base, base_node = read_yaml(base_path)
    if path is None:
        return _validate(base, base_path, base_node)
    user_path = Path(path)
    user, user_node = read_yaml(user_path)
    extends = user.pop("extends", "default")
    if extends not in ("default", "none", None):
        line = line_of(user_node, ("extends",))
        raise ConfigError(f"{user_path}:{line}: extends: must be 'default' or 'none' (got {extends!r})")
    merged = _deep_merge(base, user) if extends == "default" else user
    return _validate(merged, user_path, user_node)

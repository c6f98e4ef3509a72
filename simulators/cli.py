"""The one way to turn a config dataclass into command-line flags, and the flags back into the config.

Every field becomes `--field-name` (a nested dataclass field `model` of a config gives
`--model.hidden-dim`), typed by its annotation, with the field's docstring and its default as help
(fields declared with `field(metadata={"cli": False})` are left out; `metadata={"flag": "return"}` names the
flag of a field whose own name is a Python keyword):

    parser = argparse.ArgumentParser()
    add_config_arguments(parser, TrainConfig)
    config = config_from_args(parser.parse_args(), TrainConfig())   # flags not given keep the base's values
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import textwrap
import types
import typing
from typing import Any


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """{field: docstring} from the string literals that follow each annotated field in the class body."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in zip(body, body[1:], strict=False):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
                docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def _flag(prefix: str, name: str) -> str:
    return "--" + prefix + name.replace("_", "-")


def _dest(prefix: str, name: str) -> str:
    return (prefix + name).replace(".", "__")


def _field_type(cls: type, field: dataclasses.Field) -> Any:
    hints = typing.get_type_hints(cls)
    hint = hints.get(field.name, field.type)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        hint = args[0]  # X | None
    return hint


def add_config_arguments(parser: argparse.ArgumentParser | Any, cls: type, defaults: Any = None,
                         prefix: str = "") -> None:
    """One `--flag` per field of dataclass `cls` (recursing into nested dataclasses with `--name.` prefixes).

    Flags default to None ("not given"), so `config_from_args` keeps the base config's value; the help
    shows `defaults`' value (a `cls` instance; `cls()` when omitted and constructible).
    """
    if defaults is None:
        try:
            defaults = cls()
        except TypeError:
            defaults = None
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        if not f.init or not f.metadata.get("cli", True):
            continue
        hint = _field_type(cls, f)
        default = getattr(defaults, f.name, None) if defaults is not None else None
        if dataclasses.is_dataclass(hint):
            add_config_arguments(parser, hint, default, prefix=f"{prefix}{f.name}.")
            continue
        doc = docs.get(f.name, "")
        help_text = f"{doc} (default: {default!r})" if doc else f"default: {default!r}"
        help_text = help_text.replace("%", "%%")  # argparse formats help with %
        kwargs: dict[str, Any] = {"dest": _dest(prefix, f.name), "default": None, "help": help_text,
                                  "metavar": f.name.upper()}
        origin = typing.get_origin(hint)
        if hint is bool:
            kwargs.update(action=argparse.BooleanOptionalAction)  # --flag / --no-flag
            del kwargs["metavar"]
        elif origin in (tuple, list):
            item = (typing.get_args(hint) or (str,))[0]
            kwargs.update(type=item if item in (int, float, str) else str, nargs="+")
        elif origin is typing.Literal:
            kwargs.update(choices=list(typing.get_args(hint)))
        elif hint in (int, float, str):
            kwargs["type"] = hint
        else:
            kwargs["type"] = str
        parser.add_argument(_flag(prefix, f.metadata.get("flag", f.name)), **kwargs)


def config_from_args(args: argparse.Namespace, base: Any, prefix: str = "") -> Any:
    """`base` (a dataclass instance) with every flag that was given on the command line applied."""
    cls = type(base)
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init or not f.metadata.get("cli", True):
            continue
        hint = _field_type(cls, f)
        current = getattr(base, f.name)
        if dataclasses.is_dataclass(hint):
            nested = config_from_args(args, current, prefix=f"{prefix}{f.name}.")
            if nested != current:
                changes[f.name] = nested
            continue
        value = getattr(args, _dest(prefix, f.name), None)
        if value is not None:
            changes[f.name] = tuple(value) if typing.get_origin(hint) is tuple else value
    return dataclasses.replace(base, **changes) if changes else base

"""Small readers for the static checks: Terraform modules (python-hcl2), Dockerfiles, compose.yaml."""

from __future__ import annotations

import functools
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]


def _unquote(value: Any) -> Any:
    """python-hcl2 8 keeps the quotes of labels and string literals: drop them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def clean(value: Any) -> Any:
    """A parsed HCL value with quotes dropped and python-hcl2's block markers removed, recursively."""
    if isinstance(value, dict):
        return {_unquote(k): clean(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return _unquote(value)


@functools.cache
def load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        parsed = hcl2.load(handle)
    assert isinstance(parsed, dict)
    return parsed


def resources(module: Path, kind: str = "resource") -> dict[str, dict[str, Any]]:
    """``{"<type>.<name>": body}`` of every resource (or data source, with kind="data") of a module."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(module.glob("*.tf")):
        for block in clean(load(path)).get(kind, []):
            for rtype, named in block.items():
                for name, body in named.items():
                    found[f"{rtype}.{name}"] = body
    return found


def _blocks(module: Path, kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(module.glob("*.tf")):
        for block in load(path).get(kind, []):
            for label, body in block.items():
                name = _unquote(label)
                assert name not in found, f"{kind} {name} declared twice in {module}"
                found[name] = {k: _unquote(v) for k, v in body.items() if k != "__is_block__"}
    return found


def variables(module: Path) -> dict[str, dict[str, Any]]:
    return _blocks(module, "variable")


def outputs(module: Path) -> dict[str, dict[str, Any]]:
    return _blocks(module, "output")


def tf_text(module: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(module.glob("*.tf")))


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: int


def dockerfile(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped; stage counts FROMs from 0."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, f"{path}: dangling line continuation"
    instructions: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), stage))
    return instructions


def exec_form(args: str) -> list[str]:
    """The argument list of an exec-form instruction (JSON array), else its shell words."""
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list)
        return [str(v) for v in value]
    return shlex.split(args)


def image_is_pinned(image: str) -> bool:
    """A digest, or a tag carrying a full version (x.y.z), never latest."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return False
    return tag != "latest" and re.match(r"^v?\d+\.\d+\.\d+", tag) is not None

"""Flat Redis hashes <-> records: one hash field per model field, ``result`` as JSON, absent = None."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TypeVar

from prequel_common.clock import iso
from prequel_common.models import CamelModel

M = TypeVar("M", bound=CamelModel)


def encode(record: CamelModel) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in record.wire().items():
        if value is None:
            continue
        out[key] = json.dumps(value) if isinstance(value, dict | list) else str(value)
    return out


def encode_fields(fields: dict[str, object]) -> list[str]:
    """Field/value pairs for the Lua transition script; a None value deletes the field."""
    flat: list[str] = []
    for key, value in fields.items():
        if value is None:
            flat += [key, ""]
        elif isinstance(value, CamelModel):
            flat += [key, json.dumps(value.wire())]
        elif isinstance(value, datetime):
            flat += [key, iso(value)]
        else:
            flat += [key, str(value)]
    return flat


def decode(model: type[M], raw: dict[str, str]) -> M | None:
    if not raw:
        return None
    data: dict[str, object] = dict(raw)
    if "result" in data:
        data["result"] = json.loads(raw["result"])
    if "autoDestroyMinutes" in data:
        data["autoDestroyMinutes"] = int(raw["autoDestroyMinutes"])
    return model.model_validate(data)

"""Lua scripts shipped with the package, registered once per client."""

from __future__ import annotations

from importlib.resources import files

from redis.asyncio import Redis
from redis.commands.core import AsyncScript


def load_script(redis: Redis, name: str) -> AsyncScript:
    source = files("prequel_common").joinpath("lua", f"{name}.lua").read_text()
    return redis.register_script(source)

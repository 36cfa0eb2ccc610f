"""Redis store: interviews, operations, their logs and timers. Status writes are atomic (Lua)."""

from prequel_common.store.keys import Keys
from prequel_common.store.logs import LogRepo
from prequel_common.store.records import InterviewRepo, OperationRepo, Transition
from prequel_common.store.store import Store
from prequel_common.store.timers import Timer, TimerKind, TimerRepo

__all__ = [
    "InterviewRepo",
    "Keys",
    "LogRepo",
    "OperationRepo",
    "Store",
    "Timer",
    "TimerKind",
    "TimerRepo",
    "Transition",
]

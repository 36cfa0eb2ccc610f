"""The status state machine tables: what may enter what, for interviews and operations."""

from __future__ import annotations

import itertools

import pytest
from prequel_common.status import (
    INTERVIEW_FINAL,
    INTERVIEW_FROM,
    OPERATION_ACTIVE,
    OPERATION_FROM,
    InterviewStatus,
    OperationStatus,
    interview_can_enter,
    operation_can_enter,
)

I = InterviewStatus  # noqa: E741
O = OperationStatus  # noqa: E741
NON_FINAL = [I.SCHEDULED, I.INITIALIZING, I.CONFIGURING, I.ACTIVE]


@pytest.mark.parametrize("target", list(I))
def test_destroyed_is_final_nothing_leaves_it(target: InterviewStatus) -> None:
    assert I.DESTROYED in INTERVIEW_FINAL
    assert not interview_can_enter(I.DESTROYED, target)


def test_no_table_entry_lists_destroyed_as_a_source() -> None:
    assert all(I.DESTROYED not in sources for sources in INTERVIEW_FROM.values())


@pytest.mark.parametrize("current", [I.DESTROYING, I.DESTROYED, I.ERROR])
def test_active_is_never_entered_after_destroy_or_error(current: InterviewStatus) -> None:
    assert not interview_can_enter(current, I.ACTIVE)


def test_the_happy_path_is_allowed() -> None:
    path = [I.SCHEDULED, I.INITIALIZING, I.CONFIGURING, I.ACTIVE, I.DESTROYING, I.DESTROYED]
    for current, target in itertools.pairwise(path):
        assert interview_can_enter(current, target), (current, target)


def test_the_happy_path_cannot_be_skipped_or_reversed() -> None:
    assert not interview_can_enter(I.INITIALIZING, I.ACTIVE)
    assert not interview_can_enter(I.SCHEDULED, I.ACTIVE)
    assert not interview_can_enter(I.ACTIVE, I.CONFIGURING)
    assert not interview_can_enter(I.CONFIGURING, I.INITIALIZING)
    assert not interview_can_enter(I.ACTIVE, I.DESTROYED)


@pytest.mark.parametrize("current", [*NON_FINAL, I.DESTROYING])
def test_error_is_enterable_from_every_non_final_state(current: InterviewStatus) -> None:
    assert interview_can_enter(current, I.ERROR)


def test_error_is_not_entered_from_destroyed() -> None:
    assert not interview_can_enter(I.DESTROYED, I.ERROR)


@pytest.mark.parametrize("current", [*NON_FINAL, I.ERROR])
def test_destroying_is_enterable_from_every_non_final_state_and_error(current: InterviewStatus) -> None:
    assert interview_can_enter(current, I.DESTROYING)


def test_destroying_is_not_reentered_from_destroyed() -> None:
    assert not interview_can_enter(I.DESTROYED, I.DESTROYING)


def test_scheduled_goes_straight_to_destroyed() -> None:
    assert interview_can_enter(I.SCHEDULED, I.DESTROYED)


def test_scheduled_is_never_reentered() -> None:
    assert all(not interview_can_enter(current, I.SCHEDULED) for current in I)


@pytest.mark.parametrize("final", [O.COMPLETED, O.FAILED, O.CANCELLED])
@pytest.mark.parametrize("target", list(O))
def test_operation_end_states_are_final(final: OperationStatus, target: OperationStatus) -> None:
    assert final not in OPERATION_ACTIVE
    assert not operation_can_enter(final, target)


def test_operation_lifecycle() -> None:
    assert operation_can_enter(O.PENDING, O.RUNNING)
    assert operation_can_enter(O.RUNNING, O.RUNNING)  # a redelivered command resumes
    assert operation_can_enter(O.RUNNING, O.COMPLETED)
    assert not operation_can_enter(O.PENDING, O.COMPLETED)
    assert operation_can_enter(O.PENDING, O.CANCELLED)
    assert operation_can_enter(O.RUNNING, O.FAILED)
    assert not operation_can_enter(O.RUNNING, O.PENDING)
    assert O.PENDING not in OPERATION_FROM


def test_active_operation_statuses() -> None:
    assert frozenset({O.PENDING, O.RUNNING}) == OPERATION_ACTIVE

"""``/api/operations``: list, detail, logs, cancel."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Query
from prequel_common.lifecycle import CancelRefused, cancel_operation
from prequel_common.models import Operation
from prequel_common.views import OperationView

from prequel_api.auth import current_user
from prequel_api.deps import Services, services
from prequel_api.errors import ApiError
from prequel_api.ratelimit import limit_queries
from prequel_api.schemas import CancelResponse, ErrorBody, LogsResponse, OperationDetail, OperationList

router = APIRouter(prefix="/api/operations", tags=["operations"])
Svc = Annotated[Services, Depends(services)]
User = Annotated[str, Depends(current_user)]
Querier = Annotated[str, Depends(limit_queries)]
ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody},
    404: {"model": ErrorBody},
    429: {"model": ErrorBody},
}


async def _detail(svc: Services, operation: Operation) -> OperationDetail:
    logs = await svc.recorder.store.logs.read(operation.id)
    return OperationDetail(**OperationView.of(operation).model_dump(), logs=logs)


async def _get(svc: Services, operation_id: str) -> Operation:
    structlog.contextvars.bind_contextvars(operation_id=operation_id)
    operation = await svc.recorder.store.operations.get(operation_id)
    if operation is None:
        raise ApiError(404, f"Operation {operation_id} not found")
    return operation


@router.get("", response_model=OperationList, responses=ERRORS)
async def list_operations(
    svc: Svc, user: Querier, interview_id: Annotated[str | None, Query(alias="interviewId")] = None
) -> OperationList:
    operations = await svc.recorder.store.operations.list_all(interview_id)
    return OperationList(operations=[await _detail(svc, op) for op in operations])


@router.get("/{operation_id}", response_model=OperationDetail, responses=ERRORS)
async def get_operation(operation_id: str, svc: Svc, user: Querier) -> OperationDetail:
    return await _detail(svc, await _get(svc, operation_id))


@router.get("/{operation_id}/logs", response_model=LogsResponse, responses=ERRORS)
async def get_logs(operation_id: str, svc: Svc, user: Querier) -> LogsResponse:
    operation = await _get(svc, operation_id)
    return LogsResponse(logs=await svc.recorder.store.logs.read(operation.id))


@router.post("/{operation_id}/cancel", response_model=CancelResponse, responses={**ERRORS, 409: {"model": ErrorBody}})
async def cancel(operation_id: str, svc: Svc, user: User) -> CancelResponse:
    outcome = await cancel_operation(svc.recorder, await _get(svc, operation_id), by=user)
    if isinstance(outcome, CancelRefused):
        raise ApiError(409, f"Operation {operation_id} cannot be cancelled: {outcome.reason}")
    return CancelResponse(success=True, message=outcome.message)

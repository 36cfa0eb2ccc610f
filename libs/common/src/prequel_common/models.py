"""Records kept in Redis, with the spec's field names (camelCase on the wire, snake_case in Python)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    GetJsonSchemaHandler,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from prequel_common.clock import iso
from prequel_common.status import InterviewStatus, OperationStatus, OperationType

UtcTime = Annotated[datetime, PlainSerializer(iso, return_type=str)]


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def wire(self, **kwargs: Any) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, **kwargs)


class OperationResult(CamelModel):
    success: bool
    access_url: str | None = None
    password: str | None = None
    error: str | None = None
    #: seconds per Terraform resource created (``module.workspace.terraform_data.ide``: 1.8)
    timings: dict[str, float] | None = None

    @model_serializer(mode="wrap")
    def _drop_nones(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The output's schema: the fields, each there only when set (never ``null``).

        Pydantic describes a wrap serializer by its return type (any object); describe the fields instead, with the
        ``null`` the serializer drops taken out. The validation schema (what is accepted) keeps ``null``.
        """
        if handler.mode != "serialization":
            return handler(core_schema)
        without_serializer = {k: v for k, v in core_schema.items() if k != "serialization"}
        json_schema = handler(without_serializer)  # type: ignore[arg-type]
        target = handler.resolve_ref_schema(json_schema)
        for prop in target.get("properties", {}).values():
            options = prop.get("anyOf")
            if options is not None and {"type": "null"} in options:
                kept = [o for o in options if o != {"type": "null"}]
                del prop["anyOf"]
                if len(kept) == 1:
                    prop.update(kept[0])
                else:
                    prop["anyOf"] = kept
            if "default" in prop and prop["default"] is None:
                del prop["default"]
        return json_schema

    def without_secrets(self) -> OperationResult:
        return self.model_copy(update={"password": None})


class Interview(CamelModel):
    id: str
    candidate_name: str
    challenge: str
    status: InterviewStatus
    access_url: str | None = None
    password: str
    created_at: UtcTime
    scheduled_at: UtcTime | None = None
    auto_destroy_at: UtcTime
    auto_destroy_minutes: int
    created_by: str | None = None
    create_operation_id: str | None = None
    destroy_operation_id: str | None = None


class Operation(CamelModel):
    id: str
    type: OperationType
    status: OperationStatus
    interview_id: str
    candidate_name: str
    challenge: str
    created_at: UtcTime
    started_at: UtcTime | None = None
    completed_at: UtcTime | None = None
    scheduled_at: UtcTime | None = None
    auto_destroy_at: UtcTime | None = None
    created_by: str | None = None
    result: OperationResult | None = None
    #: last sign of life of the worker running it (the scheduler's hung-operation sweep reads it)
    heartbeat_at: UtcTime | None = None

"""Terraform's machine-readable UI (``-json``) lines into human log lines.

The sample lines follow https://developer.hashicorp.com/terraform/internals/machine-readable-ui.
"""

from __future__ import annotations

import json

import pytest
from prequel_provisioner.adapters.tf_ui import parse_line

TS = "2026-01-15T09:00:00.123456Z"


def ui(type_: str, message: str, level: str = "info", **extra: object) -> str:
    return json.dumps(
        {"@level": level, "@message": message, "@module": "terraform.ui", "@timestamp": TS, "type": type_, **extra}
    )


VERSION = ui("version", "Terraform 1.9.5", terraform="1.9.5", ui="1.2")
PLANNED = ui(
    "planned_change",
    "module.workspace.local_file.config: Plan to create",
    change={
        "resource": {
            "addr": "module.workspace.local_file.config",
            "module": "module.workspace",
            "resource": "local_file.config",
            "implied_provider": "local",
            "resource_type": "local_file",
            "resource_name": "config",
            "resource_key": None,
        },
        "action": "create",
    },
)
APPLY_COMPLETE = ui(
    "change_summary",
    "Apply complete! Resources: 3 added, 0 changed, 0 destroyed.",
    changes={"add": 3, "change": 0, "import": 0, "remove": 0, "operation": "apply"},
)
DIAGNOSTIC = ui(
    "diagnostic",
    "Error: Unsupported argument",
    level="error",
    diagnostic={
        "severity": "error",
        "summary": "Unsupported argument",
        "detail": 'An argument named "colour" is not expected here.\n\nDid you mean "color"?',
        "range": {
            "filename": "modules/local-workspace/main.tf",
            "start": {"line": 12, "column": 3, "byte": 301},
            "end": {"line": 12, "column": 9, "byte": 307},
        },
        "snippet": {
            "context": 'resource "local_file" "config"',
            "code": '  colour = "blue"',
            "start_line": 12,
            "highlight_start_offset": 2,
            "highlight_end_offset": 8,
            "values": [],
        },
    },
)
OUTPUTS = ui(
    "outputs",
    "Outputs: 3",
    outputs={
        "access_url": {"sensitive": False, "type": "string", "value": "https://int-abc.example.test/"},
        "port": {"sensitive": False, "type": "number", "value": 8443},
        # real Terraform omits the value of a sensitive output; a value here must still never come out
        "password": {"sensitive": True, "type": "string", "value": "hunter2hunter2"},
        "token": {"sensitive": True, "type": "string"},
    },
)
SUPPRESSED = ui(
    "provision_progress",
    "module.workspace.null_resource.start (local-exec): (output suppressed due to sensitive value in config)",
    hook={
        "resource": {"addr": "module.workspace.null_resource.start", "resource_type": "null_resource"},
        "provisioner": "local-exec",
        "output": "(output suppressed due to sensitive value in config)",
    },
)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (PLANNED, "module.workspace.local_file.config: Plan to create"),
        (APPLY_COMPLETE, "Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        (PLANNED + "\n", "module.workspace.local_file.config: Plan to create"),
    ],
)
def test_a_json_line_gives_its_message(raw: str, message: str) -> None:
    line = parse_line(raw)
    assert line.messages == [message]
    assert line.level == "info"
    assert line.outputs == {}


def test_the_level_is_kept() -> None:
    line = parse_line(ui("log", "Warning: Argument is deprecated", level="warn"))
    assert (line.level, line.messages) == ("warn", ["Warning: Argument is deprecated"])


def test_the_version_message_is_dropped() -> None:
    assert parse_line(VERSION).messages == []


@pytest.mark.parametrize(
    "raw",
    [
        "Initializing the backend...",
        "╷ │ Error: Failed to load plugin schemas",
        "{not json at all",
        "  indented text with a trailing brace }",
    ],
)
def test_non_json_lines_are_kept_verbatim(raw: str) -> None:
    line = parse_line(raw + "\n")
    assert line.messages == [raw]
    assert line.outputs == {}


@pytest.mark.parametrize("raw", ["42", '"a json string"', "[1, 2]"])
def test_json_that_is_not_an_object_is_kept_verbatim(raw: str) -> None:
    assert parse_line(raw).messages == [raw]


@pytest.mark.parametrize("raw", ["", "\n", "   ", " \t \n"])
def test_blank_lines_give_nothing(raw: str) -> None:
    assert parse_line(raw).messages == []


def test_a_diagnostic_expands_into_readable_lines() -> None:
    line = parse_line(DIAGNOSTIC)
    assert line.level == "error"
    assert line.messages == [
        "Error: Unsupported argument",
        '  An argument named "colour" is not expected here.',
        '  Did you mean "color"?',
        "  at modules/local-workspace/main.tf:12",
    ]


def test_a_diagnostic_without_detail_or_range() -> None:
    raw = ui(
        "diagnostic",
        "Warning: Empty provider configuration",
        level="warn",
        diagnostic={"severity": "warning", "summary": "Empty provider configuration", "detail": ""},
    )
    assert parse_line(raw).messages == ["Warning: Empty provider configuration"]


def test_outputs_give_non_sensitive_strings_only() -> None:
    line = parse_line(OUTPUTS)
    assert line.outputs == {"access_url": "https://int-abc.example.test/"}
    assert line.messages == ["Outputs: 3"]
    assert "hunter2hunter2" not in repr(line)


def test_outputs_of_other_messages_are_ignored() -> None:
    raw = ui("log", "not an outputs message", outputs={"access_url": {"sensitive": False, "value": "https://x"}})
    assert parse_line(raw).outputs == {}


def test_the_suppressed_sensitive_output_line_is_dropped() -> None:
    line = parse_line(SUPPRESSED)
    assert line.messages == []
    assert line.outputs == {}


def test_apply_complete_gives_the_resource_timing() -> None:
    raw = (
        '{"@level":"info","@message":"module.workspace.terraform_data.ide: Creation complete after 2s '
        '[id=55a9f344]","@module":"terraform.ui","@timestamp":"2026-12-03T18:50:49Z","hook":{"resource":'
        '{"addr":"module.workspace.terraform_data.ide","module":"module.workspace","resource":"terraform_data.ide",'
        '"implied_provider":"terraform","resource_type":"terraform_data","resource_name":"ide","resource_key":null},'
        '"action":"create","id_key":"id","id_value":"55a9f344","elapsed_seconds":2},"type":"apply_complete"}'
    )
    line = parse_line(raw)
    assert line.timings == {"module.workspace.terraform_data.ide": 2.0}
    assert line.messages == ["module.workspace.terraform_data.ide: Creation complete after 2s [id=55a9f344]"]

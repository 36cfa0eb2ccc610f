"""docs/messages.md is generated from the models: it must match them."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "dev"))

from messages_doc import OUT, render


def test_the_published_message_schemas_are_current() -> None:
    assert OUT.read_text() == render(), "run: .venv/bin/python dev/messages_doc.py"
    assert '"request"' in OUT.read_text() and "candidateName" in OUT.read_text()

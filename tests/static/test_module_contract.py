"""Both interview modules declare one contract: same variables (types, sensitivity, defaults, validations) and
outputs, so the provisioner switches between them by PREQUEL_TF_MODULE alone. Also: the aws module reads only what
the platform writes to its SSM parameter, and the password never reaches an output."""

from __future__ import annotations

import re

import pytest

from tests.static.parse import REPO, outputs, tf_text, variables

LOCAL = REPO / "terraform" / "modules" / "local-workspace"
AWS = REPO / "terraform" / "modules" / "aws-interview"
PLATFORM = REPO / "terraform" / "platform"
FIXTURES = REPO / "tests" / "fixtures" / "modules"


def test_same_variable_names() -> None:
    assert sorted(variables(AWS)) == sorted(variables(LOCAL))


@pytest.mark.parametrize("attribute", ["type", "sensitive", "default", "nullable", "ephemeral"])
def test_same_variable_attributes(attribute: str) -> None:
    local, aws = variables(LOCAL), variables(AWS)
    for name in local:
        assert aws[name].get(attribute) == local[name].get(attribute), f"variable {name}: {attribute} differs"


def test_same_validations() -> None:
    local, aws = variables(LOCAL), variables(AWS)
    for name in local:
        conditions = [v["condition"] for v in local[name].get("validation", [])]
        assert [v["condition"] for v in aws[name].get("validation", [])] == conditions, name


def test_every_variable_is_documented() -> None:
    for module in (LOCAL, AWS):
        for name, body in variables(module).items():
            assert body.get("description"), f"{module.name}: variable {name} has no description"


def test_unused_variables_say_so() -> None:
    text = tf_text(AWS)
    for name, body in variables(AWS).items():
        if f"var.{name}" not in text.replace(f'variable "{name}"', ""):
            assert "unused" in body["description"].lower(), f"aws-interview: var.{name} is unused and not documented so"


def test_password_is_sensitive_and_never_an_output() -> None:
    for module in (LOCAL, AWS):
        assert variables(module)["password"]["sensitive"] is True
        for name, body in outputs(module).items():
            assert "password" not in str(body["value"]), f"{module.name}: output {name} exposes the password"


def test_password_reaches_only_the_write_only_secret_argument() -> None:
    uses = [line.strip() for line in tf_text(AWS).splitlines() if "var.password" in line]
    assert uses == ["secret_string_wo         = var.password"]


def test_same_outputs() -> None:
    local, aws = outputs(LOCAL), outputs(AWS)
    assert sorted(aws) == sorted(local) == ["access_url"]
    for body in (*local.values(), *aws.values()):
        assert not body.get("sensitive")


def test_aws_access_url_is_the_interview_host() -> None:
    assert outputs(AWS)["access_url"]["value"] == "https://${local.host}"
    assert re.search(r'host\s*=\s*"\$\{var\.interview_id\}\.\$\{local\.platform\.domain\}"', tf_text(AWS))


def test_provisioner_root_module_declares_the_same_variables() -> None:
    from prequel_provisioner.adapters.workdir import _VARIABLES

    module = variables(LOCAL)
    assert sorted(_VARIABLES) == sorted(module)
    for name, spec in _VARIABLES.items():
        assert spec["type"] == module[name]["type"], name
        assert bool(spec.get("sensitive")) == bool(module[name].get("sensitive")), name


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_fixture_modules_share_the_contract(fixture: str) -> None:
    shared = FIXTURES / fixture / "variables.tf"
    assert shared.resolve() == (LOCAL / "variables.tf").resolve(), f"{fixture}/variables.tf must link local-workspace's"


def _platform_parameter_keys() -> set[str]:
    text = (PLATFORM / "ssm.tf").read_text()
    body = text[text.index("jsonencode({") : text.index("})", text.index("jsonencode({"))]
    return set(re.findall(r"^\s+([a-z_]+)\s+=", body, flags=re.MULTILINE))


def test_aws_module_reads_only_what_the_platform_writes() -> None:
    used = set(re.findall(r"local\.platform\.([a-z_]+)", tf_text(AWS)))
    assert used, "the aws module reads its platform values from local.platform"
    missing = used - _platform_parameter_keys()
    assert not missing, f"the aws module reads {missing}, which terraform/platform/ssm.tf does not write"


def test_aws_module_and_platform_agree_on_the_parameter_name() -> None:
    name = re.search(r'platform_parameter\s*=\s*"([^"]+)"', tf_text(AWS))
    assert name is not None
    assert f'name        = "{name.group(1)}"' in (PLATFORM / "ssm.tf").read_text()

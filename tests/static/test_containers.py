"""compose.yaml and the service images, checked by reading them (there is no Docker engine here): every built
service has its Dockerfile and a command that exists; every image is pinned, runs as non-root and has a
healthcheck on its port."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.static.parse import REPO, Instruction, dockerfile, exec_form, image_is_pinned

PORTS = {"api": 8000, "events-gateway": 8001, "provisioner": 8002, "scheduler": 8003}
DOCKERFILES = sorted(REPO.glob("services/*/Dockerfile"))


def _compose() -> dict[str, Any]:
    parsed = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert isinstance(parsed, dict)
    return parsed


def _final(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def _module_of(command: list[str]) -> str:
    assert command[:2] == ["python", "-m"] and len(command) == 3, f"not `python -m <package>`: {command}"
    return command[2]


def _healthcheck_port(words: list[str]) -> int:
    found = re.search(r"http://127\.0\.0\.1:(\d+)/healthz", " ".join(words))
    assert found, f"the healthcheck does not GET http://127.0.0.1:<port>/healthz: {words}"
    return int(found.group(1))


def test_every_service_has_a_dockerfile() -> None:
    assert sorted(p.parent.name for p in DOCKERFILES) == sorted(PORTS)


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_base_images_are_pinned(path: Path) -> None:
    froms = [i.args.split()[0] for i in dockerfile(path) if i.keyword == "FROM"]
    assert froms
    for image in froms:
        assert image_is_pinned(image), f"{path}: FROM {image} is not pinned to a version"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_runs_as_a_non_root_user(path: Path) -> None:
    users = [i.args for i in _final(dockerfile(path)) if i.keyword == "USER"]
    assert users, f"{path}: no USER in the final stage"
    assert users[-1].split(":")[0] not in ("root", "0"), f"{path}: runs as root"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_healthcheck_on_the_service_port(path: Path) -> None:
    final = _final(dockerfile(path))
    checks = [i.args for i in final if i.keyword == "HEALTHCHECK"]
    assert checks and checks[-1].upper() != "NONE", f"{path}: no HEALTHCHECK"
    command = exec_form(checks[-1][checks[-1].index("CMD") + 3 :].strip())
    port = PORTS[path.parent.name]
    assert _healthcheck_port(command) == port
    assert str(port) in [i.args for i in final if i.keyword == "EXPOSE"]
    assert f"PREQUEL_PORT={port}" in " ".join(i.args for i in final if i.keyword == "ENV")


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_command_is_a_module_of_that_service(path: Path) -> None:
    cmds = [i.args for i in _final(dockerfile(path)) if i.keyword == "CMD"]
    assert cmds, f"{path}: no CMD"
    package = _module_of(exec_form(cmds[-1]))
    assert (path.parent / "src" / package / "__main__.py").is_file(), f"{path}: no {package}/__main__.py"


def test_provisioner_image_carries_terraform_and_the_modules() -> None:
    final = _final(dockerfile(REPO / "services" / "provisioner" / "Dockerfile"))
    copies = [i.args for i in final if i.keyword == "COPY"]
    assert any(c.endswith("/usr/local/bin/terraform") for c in copies)
    assert "terraform/modules /app/terraform/modules" in copies
    assert any("/usr/local/share/terraform/providers" in c for c in copies), "the AWS provider is baked in"


def test_compose_parses_with_the_expected_services() -> None:
    services = _compose()["services"]
    assert {"nats", "redis", "frontdoor", *PORTS} <= set(services)


def test_built_services_have_their_dockerfile_and_an_existing_command() -> None:
    for name, service in _compose()["services"].items():
        if "build" not in service:
            continue
        build = service["build"]
        context = REPO / build.get("context", ".")
        path = context / build.get("dockerfile", "Dockerfile")
        assert path.is_file(), f"compose service {name}: {path} does not exist"
        assert path.parent.name == name, f"compose service {name} builds {path}"
        command = service.get("command")
        if command is None:
            cmds = [i.args for i in _final(dockerfile(path)) if i.keyword == "CMD"]
            command = exec_form(cmds[-1])
        package = _module_of(command if isinstance(command, list) else command.split())
        assert (path.parent / "src" / package / "__main__.py").is_file(), f"compose service {name}: {package}"


def test_every_compose_service_has_a_healthcheck_and_waits_for_healthy_dependencies() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"compose service {name} has no healthcheck"
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}: {condition}"


def test_compose_service_healthchecks_use_each_service_port() -> None:
    services = _compose()["services"]
    for name, port in PORTS.items():
        assert _healthcheck_port(services[name]["healthcheck"]["test"]) == port


def test_compose_images_are_pinned_and_nats_has_jetstream() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        if "image" in service:
            assert image_is_pinned(service["image"]), f"{name}: {service['image']}"
    nats = services["nats"]
    major, minor = (int(x) for x in re.match(r"nats:(\d+)\.(\d+)", nats["image"]).groups())  # type: ignore[union-attr]
    assert (major, minor) >= (2, 12)
    assert "-js" in nats["command"]


def test_compose_requires_its_secrets() -> None:
    for name in ("api", "events-gateway"):
        tokens = _compose()["services"][name]["environment"]["PREQUEL_API_TOKENS"]
        assert re.fullmatch(r"\$\{PREQUEL_API_TOKENS:\?.+\}", tokens), f"{name}: PREQUEL_API_TOKENS is not required"


def test_compose_portal_on_port_3000_through_the_frontdoor() -> None:
    frontdoor = _compose()["services"]["frontdoor"]
    assert "3000:3000" in frontdoor["ports"]
    config = frontdoor["volumes"][0].split(":")[0]
    assert (REPO / config).is_file()

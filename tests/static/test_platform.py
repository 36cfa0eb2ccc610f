"""terraform/platform, read statically: the ALB routes like the development front door, health checks use
/readyz, the services listen on their ports, the provisioner runs the aws module with S3 state and autoscales, the
provisioner's IAM is scoped to the interview prefix, the buckets are locked down."""

from __future__ import annotations

import re
from typing import Any

from tests.static.parse import REPO, clean, load, resources, tf_text

PLATFORM = REPO / "terraform" / "platform"
PORTS = {"api": 8000, "events-gateway": 8001, "provisioner": 8002, "scheduler": 8003}


def _conditions(rule: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for condition in rule["condition"]:
        for kind, body in condition.items():
            merged[kind] = body[0]
    return merged


def _module(name: str) -> dict[str, Any]:
    for path in sorted(PLATFORM.glob("*.tf")):
        for block in clean(load(path)).get("module", []):
            if name in block:
                return dict(block[name])
    raise AssertionError(f"no module {name} in terraform/platform")


def test_service_ports() -> None:
    services = clean(load(PLATFORM / "locals.tf"))["locals"][0]["services"]
    assert {name: spec["port"] for name, spec in services.items()} == PORTS


def test_alb_routes_events_and_the_log_follow_to_the_gateway_and_the_rest_to_the_api() -> None:
    found = resources(PLATFORM)
    events = found["aws_lb_listener_rule.events"]
    follow = found["aws_lb_listener_rule.log_follow"]
    api = found["aws_lb_listener_rule.api"]
    gateway_tg = '${aws_lb_target_group.service["events-gateway"].arn}'
    assert events["action"][0]["target_group_arn"] == gateway_tg
    assert _conditions(events)["path_pattern"]["values"] == ["/api/events*"]
    assert follow["action"][0]["target_group_arn"] == gateway_tg
    assert _conditions(follow)["path_pattern"]["values"] == ["/api/operations/*/logs"]
    header = _conditions(follow)["http_header"]
    assert header["http_header_name"] == "Accept" and "text/event-stream" in header["values"][0]
    assert api["action"][0]["target_group_arn"] == '${aws_lb_target_group.service["api"].arn}'
    assert set(_conditions(api)) == {"host_header"}
    # the more specific rules are evaluated first
    assert events["priority"] < api["priority"] and follow["priority"] < api["priority"]


def test_alb_is_https_only_and_checks_readiness() -> None:
    found = resources(PLATFORM)
    listeners = [body for key, body in found.items() if key.startswith("aws_lb_listener.")]
    assert [(b["port"], b["protocol"]) for b in listeners] == [(443, "HTTPS")]
    assert found["aws_lb_target_group.service"]["health_check"][0]["path"] == "/readyz"


def test_provisioner_runs_the_aws_module_with_s3_state_and_autoscales() -> None:
    provisioner = _module("provisioner")
    environment = str(provisioner["environment"])
    assert '"/app/terraform/modules/aws-interview"' in environment
    assert (REPO / "terraform" / "modules" / "aws-interview").is_dir()
    assert "PREQUEL_TF_STATE" in environment and "local.state_url" in environment
    assert "PREQUEL_CHALLENGES" in environment
    assert "min_capacity" in str(provisioner["autoscaling"])
    assert re.search(r'state_url\s*=\s*"s3://\$\{module\.bucket\["state"\]\.id\}/interviews"', tf_text(PLATFORM))


def test_each_service_has_its_own_task_role_policy() -> None:
    policies = {name: _module(name.replace("-", "_"))["task_role_policy_json"] for name in PORTS}
    assert policies["events-gateway"] is None
    assert policies["api"] == "${data.aws_iam_policy_document.api.json}"
    assert policies["scheduler"] == "${data.aws_iam_policy_document.scheduler.json}"
    assert policies["provisioner"] == "${data.aws_iam_policy_document.provisioner.json}"


def test_provisioner_policy_is_scoped_to_interview_resources() -> None:
    policy = resources(PLATFORM, "data")["aws_iam_policy_document.provisioner"]
    # what an interview resource looks like to IAM: its name (int-*) or its tag, the boundary, tag-on-create
    scoped = re.compile(r"interview|local\.interview_(tag|res)|iam:PermissionsBoundary|CreateAction|var\.vpc_id")
    for statement in policy["statement"]:
        sid, actions = statement["sid"], statement["actions"]
        assert not any("*" in action for action in actions), f"{sid}: wildcard action"
        text = str(statement["resources"]) + str(statement.get("condition", []))
        if statement["resources"] == ["*"]:
            # calls that take no resource ARN: reads, or a registration that must carry the interview tag
            assert sid in {"Describe", "DeregisterTaskDefinitions"} or "local.interview_tag" in text, sid
            continue
        managing = [a for a in actions if a.split(":")[0] in {"ec2", "ecs", "elasticloadbalancing", "iam", "logs"}]
        managing += [a for a in actions if a.startswith("secretsmanager:")]
        if managing:
            assert scoped.search(text), f"{sid}: {managing} not limited to interview resources"
    roles = next(s for s in policy["statement"] if s["sid"] == "InterviewRolesWithTheBoundary")
    assert roles["condition"][0]["variable"] == "iam:PermissionsBoundary"
    assert "iam:CreateRole" in roles["actions"]
    assert not any("iam:CreateRole" in s["actions"] for s in policy["statement"] if s is not roles)


def test_buckets_are_encrypted_versioned_private_and_tls_only() -> None:
    bucket = resources(REPO / "terraform" / "platform" / "modules" / "bucket")
    assert bucket["aws_s3_bucket_versioning.this"]["versioning_configuration"][0]["status"] == "Enabled"
    sse = bucket["aws_s3_bucket_server_side_encryption_configuration.this"]["rule"][0]
    assert sse["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    block = bucket["aws_s3_bucket_public_access_block.this"]
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls"))
    assert "aws:SecureTransport" in tf_text(REPO / "terraform" / "platform" / "modules" / "bucket")


def test_redis_is_encrypted_in_transit_and_at_rest() -> None:
    redis = resources(PLATFORM)["aws_elasticache_replication_group.this"]
    assert redis["transit_encryption_enabled"] is True and redis["at_rest_encryption_enabled"] is True


def test_ecr_tags_are_immutable_and_scanned() -> None:
    repo = resources(PLATFORM)["aws_ecr_repository.service"]
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert repo["image_scanning_configuration"][0]["scan_on_push"] is True

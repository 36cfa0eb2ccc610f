# NATS with JetStream: one server on ECS Fargate, its store on EFS (KMS at rest, TLS in transit, IAM-authorized
# access point), reachable as nats.<name>.internal:4222 with a token. One task at most, ever (minimum 0 %, maximum
# 100 % during deployments): two servers must never write one store. A restart costs seconds of unavailability;
# clients reconnect and JetStream keeps every stream. For a three-node cluster, or a managed NATS, point
# PREQUEL_NATS_URL (the nats-url secret) at it and drop this file (docs/deploy.md).
resource "aws_efs_file_system" "nats" {
  creation_token   = "${var.name}-nats"
  encrypted        = true
  kms_key_id       = aws_kms_key.platform.arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"
  tags             = { Name = "${var.name}-nats" }
}

resource "aws_efs_backup_policy" "nats" {
  file_system_id = aws_efs_file_system.nats.id
  backup_policy {
    status = "ENABLED"
  }
}

resource "aws_efs_mount_target" "nats" {
  for_each        = toset(var.private_subnet_ids)
  file_system_id  = aws_efs_file_system.nats.id
  subnet_id       = each.value
  security_groups = [aws_security_group.efs.id]
}

resource "aws_efs_access_point" "nats" {
  file_system_id = aws_efs_file_system.nats.id

  posix_user {
    uid = 1000
    gid = 1000
  }

  root_directory {
    path = "/jetstream"
    creation_info {
      owner_uid   = 1000
      owner_gid   = 1000
      permissions = "0750"
    }
  }
}

data "aws_iam_policy_document" "nats_efs" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.nats.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
  statement {
    sid       = "NatsThroughItsAccessPoint"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.nats.arn]
    principals {
      type        = "AWS"
      identifiers = [module.nats.task_role_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.nats.arn]
    }
  }
}

resource "aws_efs_file_system_policy" "nats" {
  file_system_id = aws_efs_file_system.nats.id
  policy         = data.aws_iam_policy_document.nats_efs.json
}

data "aws_iam_policy_document" "nats_task" {
  statement {
    sid       = "MountTheStore"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.nats.arn]
    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.nats.arn]
    }
  }
}

resource "aws_service_discovery_service" "nats" {
  name = "nats"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"
    dns_records {
      type = "A"
      ttl  = 10
    }
  }
}

module "nats" {
  source             = "./modules/service"
  name               = "nats"
  prefix             = var.name
  region             = var.region
  cluster_arn        = aws_ecs_cluster.this.arn
  cluster_name       = aws_ecs_cluster.this.name
  image              = var.nats_image
  port               = 4222
  cpu                = 512
  memory             = 1024
  desired_count      = 1
  subnet_ids         = var.private_subnet_ids
  security_group_ids = [aws_security_group.nats.id]
  execution_role_arn = aws_iam_role.execution.arn
  kms_key_arn        = aws_kms_key.platform.arn
  log_retention_days = var.log_retention_days

  task_role_policy_json = data.aws_iam_policy_document.nats_task.json
  user                  = "1000:1000"
  entry_point           = ["/bin/sh", "-c"]
  # the token comes from the environment (a secret), so it never appears in the task definition
  command              = ["exec nats-server --jetstream --store_dir /data --http_port 8222 --auth \"$NATS_TOKEN\""]
  secrets              = { NATS_TOKEN = aws_secretsmanager_secret.platform["nats-token"].arn }
  health_check_command = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8222/healthz?js-enabled-only=true"]
  writable_paths       = []
  efs_volume = {
    file_system_id  = aws_efs_file_system.nats.id
    access_point_id = aws_efs_access_point.nats.id
    container_path  = "/data"
  }
  service_registry_arn               = aws_service_discovery_service.nats.arn
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  depends_on = [aws_efs_mount_target.nats, aws_secretsmanager_secret_version.nats_token]
}

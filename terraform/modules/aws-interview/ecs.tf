resource "aws_cloudwatch_log_group" "ide" {
  #checkov:skip=CKV_AWS_338:deleted with the interview; the retention only bounds what a failed destroy leaves behind
  name              = "/${local.platform.name}/interviews/${var.interview_id}"
  retention_in_days = 30
  kms_key_id        = local.platform.kms_key_arn
  tags              = local.tags
}

locals {
  home = "/home/coder"
  log_options = {
    awslogs-group         = aws_cloudwatch_log_group.ide.name
    awslogs-region        = local.platform.region
    awslogs-stream-prefix = "ide"
  }

  containers = [
    {
      # Init container: the challenge files from S3 into the candidate's home (the task's ephemeral storage),
      # then hand the home and /tmp to code-server's user (Fargate bind mounts start root-owned, 0755).
      name                   = "workspace-sync"
      image                  = local.platform.sync_image
      essential              = false
      user                   = "0"
      readonlyRootFilesystem = true
      entryPoint             = ["/bin/sh", "-c"]
      command = [join(" && ", [
        "aws s3 sync \"$CHALLENGE_URL\" /mnt/home/project --only-show-errors --no-progress",
        "chown -R 1000:1000 /mnt/home",
        "chmod 1777 /mnt/tmp",
      ])]
      environment = [
        { name = "CHALLENGE_URL", value = local.challenge_url },
        { name = "AWS_REGION", value = local.platform.region },
        { name = "HOME", value = "/scratch" },
        { name = "TMPDIR", value = "/scratch" },
      ]
      mountPoints = [
        { sourceVolume = "home", containerPath = "/mnt/home", readOnly = false },
        { sourceVolume = "tmp", containerPath = "/mnt/tmp", readOnly = false },
        { sourceVolume = "sync-scratch", containerPath = "/scratch", readOnly = false },
      ]
      logConfiguration = { logDriver = "awslogs", options = merge(local.log_options, { awslogs-stream-prefix = "sync" }) }
    },
    {
      # code-server itself, started directly (not through the image's entrypoint, whose fixuid step writes to the
      # read-only root); ECS's init process reaps the candidate's processes.
      name                   = "ide"
      image                  = local.platform.code_server_image
      essential              = true
      user                   = "1000:1000"
      readonlyRootFilesystem = true
      entryPoint             = ["/usr/bin/code-server"]
      command = [
        "--bind-addr", "0.0.0.0:${var.port}",
        "--auth", "password",
        # TLS from the ALB to the task too: a self-signed certificate generated at start (the ALB does not verify it)
        "--cert", "--cert-host", local.host,
        "--disable-telemetry",
        "--disable-update-check",
        "${local.home}/project",
      ]
      dependsOn    = [{ containerName = "workspace-sync", condition = "SUCCESS" }]
      portMappings = [{ containerPort = var.port, protocol = "tcp" }]
      environment = [
        { name = "HOME", value = local.home },
        { name = "SHELL", value = "/bin/bash" },
      ]
      # the password reaches the container only here, fetched by ECS with the execution role
      secrets = [{ name = "PASSWORD", valueFrom = aws_secretsmanager_secret.password.arn }]
      mountPoints = [
        { sourceVolume = "home", containerPath = local.home, readOnly = false },
        { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
      ]
      linuxParameters = { initProcessEnabled = true }
      healthCheck = {
        command     = ["CMD-SHELL", "curl -fsSk -o /dev/null https://127.0.0.1:${var.port}/healthz || exit 1"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 60
      }
      logConfiguration = { logDriver = "awslogs", options = local.log_options }
    },
  ]
}

resource "aws_ecs_task_definition" "ide" {
  family                   = var.interview_id
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = local.platform.task_cpu
  memory                   = local.platform.task_memory
  execution_role_arn       = local.platform.execution_role_arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.containers)
  tags                     = local.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "home"
  }
  volume {
    name = "tmp"
  }
  volume {
    name = "sync-scratch"
  }

  # the role's inline policy must exist before a task assumes it
  depends_on = [aws_iam_role_policy.challenge_read]
}

resource "aws_ecs_service" "ide" {
  name                               = var.interview_id
  cluster                            = local.platform.cluster_arn
  task_definition                    = aws_ecs_task_definition.ide.arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  health_check_grace_period_seconds  = 120
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"
  enable_execute_command             = false
  # destroy does not wait for a graceful drain: the interview is over
  force_delete = true
  tags         = local.tags

  network_configuration {
    subnets          = local.platform.subnet_ids
    security_groups  = [aws_security_group.ide.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.ide.arn
    container_name   = "ide"
    container_port   = var.port
  }

  lifecycle {
    precondition {
      condition     = var.ide != "jupyterlab"
      error_message = "The aws-interview module runs code-server only: set PREQUEL_IDE to auto or code-server."
    }
  }

  # the target group must be attached to a listener before a service can use it
  depends_on = [aws_lb_listener_rule.ide, aws_secretsmanager_secret_version.password]
}

# The four services, each its own ECS service with its own task role, scaled on its own.
locals {
  image = { for service, repo in aws_ecr_repository.service : service => "${repo.repository_url}:${var.image_tag}" }

  common_environment = {
    AWS_REGION         = var.region
    PREQUEL_ENV        = "production"
    PREQUEL_LOG_FORMAT = "json"
    PREQUEL_HOST       = "0.0.0.0"
  }
  common_secrets = {
    PREQUEL_NATS_URL  = aws_secretsmanager_secret.platform["nats-url"].arn
    PREQUEL_REDIS_URL = aws_secretsmanager_secret.platform["redis-url"].arn
  }
  service_defaults = {
    prefix             = var.name
    region             = var.region
    cluster_arn        = aws_ecs_cluster.this.arn
    cluster_name       = aws_ecs_cluster.this.name
    subnet_ids         = var.private_subnet_ids
    execution_role_arn = aws_iam_role.execution.arn
    kms_key_arn        = aws_kms_key.platform.arn
    log_retention_days = var.log_retention_days
  }
}

module "api" {
  source             = "./modules/service"
  name               = "api"
  prefix             = local.service_defaults.prefix
  region             = local.service_defaults.region
  cluster_arn        = local.service_defaults.cluster_arn
  cluster_name       = local.service_defaults.cluster_name
  subnet_ids         = local.service_defaults.subnet_ids
  execution_role_arn = local.service_defaults.execution_role_arn
  kms_key_arn        = local.service_defaults.kms_key_arn
  log_retention_days = local.service_defaults.log_retention_days

  image              = local.image["api"]
  port               = local.services["api"].port
  desired_count      = var.api_desired_count
  security_group_ids = [aws_security_group.service["api"].id]
  target_group_arn   = aws_lb_target_group.service["api"].arn
  environment = merge(local.common_environment, {
    PREQUEL_PORT       = tostring(local.services["api"].port)
    PREQUEL_CHALLENGES = local.challenges_url
  })
  secrets               = merge(local.common_secrets, { PREQUEL_API_TOKENS = aws_secretsmanager_secret.platform["api-tokens"].arn })
  task_role_policy_json = data.aws_iam_policy_document.api.json
  autoscaling           = { min_capacity = var.api_desired_count, max_capacity = var.api_max_count, cpu_target_percent = 60 }

  depends_on = [aws_lb_listener_rule.api]
}

module "events_gateway" {
  source             = "./modules/service"
  name               = "events-gateway"
  prefix             = local.service_defaults.prefix
  region             = local.service_defaults.region
  cluster_arn        = local.service_defaults.cluster_arn
  cluster_name       = local.service_defaults.cluster_name
  subnet_ids         = local.service_defaults.subnet_ids
  execution_role_arn = local.service_defaults.execution_role_arn
  kms_key_arn        = local.service_defaults.kms_key_arn
  log_retention_days = local.service_defaults.log_retention_days

  image              = local.image["events-gateway"]
  port               = local.services["events-gateway"].port
  desired_count      = var.gateway_desired_count
  security_group_ids = [aws_security_group.service["events-gateway"].id]
  target_group_arn   = aws_lb_target_group.service["events-gateway"].arn
  environment = merge(local.common_environment, {
    PREQUEL_PORT = tostring(local.services["events-gateway"].port)
  })
  secrets = merge(local.common_secrets, { PREQUEL_API_TOKENS = aws_secretsmanager_secret.platform["api-tokens"].arn })
  # the gateway does nothing in AWS: a task role without a policy
  task_role_policy_json = null
  autoscaling           = { min_capacity = var.gateway_desired_count, max_capacity = var.gateway_max_count, cpu_target_percent = 60 }

  depends_on = [aws_lb_listener_rule.events, aws_lb_listener_rule.log_follow]
}

module "provisioner" {
  source             = "./modules/service"
  name               = "provisioner"
  prefix             = local.service_defaults.prefix
  region             = local.service_defaults.region
  cluster_arn        = local.service_defaults.cluster_arn
  cluster_name       = local.service_defaults.cluster_name
  subnet_ids         = local.service_defaults.subnet_ids
  execution_role_arn = local.service_defaults.execution_role_arn
  kms_key_arn        = local.service_defaults.kms_key_arn
  log_retention_days = local.service_defaults.log_retention_days

  image              = local.image["provisioner"]
  port               = local.services["provisioner"].port
  cpu                = 1024
  memory             = 2048
  desired_count      = var.provisioner_min_count
  security_group_ids = [aws_security_group.service["provisioner"].id]
  environment = merge(local.common_environment, {
    PREQUEL_PORT                    = tostring(local.services["provisioner"].port)
    PREQUEL_TF_MODULE               = "/app/terraform/modules/aws-interview"
    PREQUEL_TF_STATE                = local.state_url
    PREQUEL_TF_STATE_REGION         = var.region
    PREQUEL_CHALLENGES              = local.challenges_url
    PREQUEL_IDE                     = "code-server"
    PREQUEL_DATA_DIR                = "/data"
    PREQUEL_PROVISIONER_CONCURRENCY = tostring(var.provisioner_concurrency)
    PREQUEL_READY_TIMEOUT_S         = "600"
    TF_CLI_CONFIG_FILE              = "/etc/terraform.rc"
    TF_IN_AUTOMATION                = "1"
    CHECKPOINT_DISABLE              = "1"
  })
  secrets               = local.common_secrets
  task_role_policy_json = data.aws_iam_policy_document.provisioner.json
  # Terraform working folders (states are in S3, so a replacement task resumes from there)
  writable_paths = ["/tmp", "/data"]
  # a run in progress keeps its command until it ends; JetStream redelivers what a stopped task held
  autoscaling = { min_capacity = var.provisioner_min_count, max_capacity = var.provisioner_max_count, cpu_target_percent = 50 }
}

module "scheduler" {
  source             = "./modules/service"
  name               = "scheduler"
  prefix             = local.service_defaults.prefix
  region             = local.service_defaults.region
  cluster_arn        = local.service_defaults.cluster_arn
  cluster_name       = local.service_defaults.cluster_name
  subnet_ids         = local.service_defaults.subnet_ids
  execution_role_arn = local.service_defaults.execution_role_arn
  kms_key_arn        = local.service_defaults.kms_key_arn
  log_retention_days = local.service_defaults.log_retention_days

  image              = local.image["scheduler"]
  port               = local.services["scheduler"].port
  cpu                = 256
  memory             = 512
  desired_count      = var.scheduler_desired_count
  security_group_ids = [aws_security_group.service["scheduler"].id]
  environment = merge(local.common_environment, {
    PREQUEL_PORT            = tostring(local.services["scheduler"].port)
    PREQUEL_TF_STATE        = local.state_url
    PREQUEL_TF_STATE_REGION = var.region
  })
  secrets               = local.common_secrets
  task_role_policy_json = data.aws_iam_policy_document.scheduler.json
}

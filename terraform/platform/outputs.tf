output "portal_url" {
  description = "The portal."
  value       = "https://${var.domain}"
}

output "alb_dns_name" {
  description = "DNS name of the ALB (the Route53 records alias it)."
  value       = aws_lb.this.dns_name
}

output "ecr_repositories" {
  description = "Where to push each service's image (tag = var.image_tag)."
  value       = { for service, repo in aws_ecr_repository.service : service => repo.repository_url }
}

output "cluster_name" {
  description = "ECS cluster of the services and the interviews."
  value       = aws_ecs_cluster.this.name
}

output "challenges_url" {
  description = "PREQUEL_CHALLENGES: upload one folder per challenge under it."
  value       = local.challenges_url
}

output "state_url" {
  description = "PREQUEL_TF_STATE: the interviews' Terraform states."
  value       = local.state_url
}

output "state_bucket" {
  description = "The state bucket (also for this platform's own state, under platform/)."
  value       = module.bucket["state"].id
}

output "api_tokens_secret" {
  description = "Secrets Manager secret to put the API tokens in (user:token,...)."
  value       = aws_secretsmanager_secret.platform["api-tokens"].name
}

output "interview_module_parameter" {
  description = "SSM parameter terraform/modules/aws-interview reads."
  value       = aws_ssm_parameter.interview_module.name
}

output "task_roles" {
  description = "Each service's own task role."
  value = {
    api            = module.api.task_role_arn
    events-gateway = module.events_gateway.task_role_arn
    provisioner    = module.provisioner.task_role_arn
    scheduler      = module.scheduler.task_role_arn
    nats           = module.nats.task_role_arn
  }
}

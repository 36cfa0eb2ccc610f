output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.this.name
}

output "task_role_arn" {
  description = "The service's task role."
  value       = aws_iam_role.task.arn
}

output "task_role_name" {
  description = "The service's task role name."
  value       = aws_iam_role.task.name
}

output "log_group_name" {
  description = "CloudWatch log group of the service."
  value       = aws_cloudwatch_log_group.this.name
}

output "access_url" {
  description = "Where the candidate opens the IDE: https://<interview_id>.<domain> behind the shared ALB."
  value       = "https://${local.host}"
  depends_on  = [aws_ecs_service.ide]
}

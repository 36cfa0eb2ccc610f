# The candidate's password, for code-server's PASSWORD (injected by ECS from this secret at task start).
resource "aws_secretsmanager_secret" "password" {
  #checkov:skip=CKV2_AWS_57:a one-interview password that lives at most 240 minutes and is deleted with it; rotation would lock the candidate out
  name        = "${local.platform.name}/interviews/${var.interview_id}/password"
  description = "IDE password of interview ${var.interview_id}"
  kms_key_id  = local.platform.kms_key_arn
  # delete at once on destroy: nothing of the interview may outlive it
  recovery_window_in_days = 0
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "password" {
  secret_id = aws_secretsmanager_secret.password.id
  # write-only (Terraform 1.11+): sent to Secrets Manager, never stored in the state or the plan's outputs
  secret_string_wo         = var.password
  secret_string_wo_version = 1
}

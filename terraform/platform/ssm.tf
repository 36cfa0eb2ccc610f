# What terraform/modules/aws-interview reads (its variables are exactly those of local-workspace, so the platform's
# values cannot be variables there). The name is fixed in that module (platform.tf): one platform per account and
# region. Plain String: nothing here is secret.
resource "aws_ssm_parameter" "interview_module" {
  #checkov:skip=CKV2_AWS_34:not a secret (ARNs, ids, image names); a String so the module reads it without KMS permissions
  name        = "/prequel/platform/interview-module"
  description = "Platform values for terraform/modules/aws-interview"
  type        = "String"
  tier        = "Standard"
  value = jsonencode({
    name                     = var.name
    region                   = var.region
    domain                   = var.domain
    cluster_arn              = aws_ecs_cluster.this.arn
    listener_arn             = aws_lb_listener.https.arn
    vpc_id                   = var.vpc_id
    subnet_ids               = var.private_subnet_ids
    alb_security_group_id    = aws_security_group.alb.id
    challenges_url           = local.challenges_url
    kms_key_arn              = aws_kms_key.platform.arn
    execution_role_arn       = aws_iam_role.interview_execution.arn
    task_role_path           = local.interview_role_path
    permissions_boundary_arn = aws_iam_policy.interview_boundary.arn
    code_server_image        = var.interview_code_server_image
    sync_image               = var.interview_sync_image
    task_cpu                 = var.interview_task_cpu
    task_memory              = var.interview_task_memory
  })
}

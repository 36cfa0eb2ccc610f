# What the shared platform provides (cluster, HTTPS listener, subnets, security group of the ALB, challenges bucket,
# KMS key, roles, images), read from one SSM parameter that terraform/platform writes (ssm.tf there). Reading it here
# keeps this module's variables exactly those of local-workspace, so the provisioner passes the same tfvars to both.
# One platform per account and region owns this name (change local.platform_parameter to run two side by side).
locals {
  platform_parameter = "/prequel/platform/interview-module"
}

data "aws_ssm_parameter" "platform" {
  name = local.platform_parameter
}

locals {
  # insecure_value: a plain String parameter holding no secret (value is always marked sensitive by the provider)
  platform = jsondecode(data.aws_ssm_parameter.platform.insecure_value)

  host = "${var.interview_id}.${local.platform.domain}"

  # the provisioner may pass a local copy of the challenge (it downloads it for the local module); the task syncs
  # from S3 itself
  challenge_url = startswith(var.challenge_source, "s3://") ? trimsuffix(var.challenge_source, "/") : "${trimsuffix(local.platform.challenges_url, "/")}/${var.challenge}"
  challenge_s3  = regex("^s3://([^/]+)/?(.*)$", local.challenge_url)
  # [bucket, key prefix without a trailing slash]
  challenge_bucket = local.challenge_s3[0]
  challenge_prefix = local.challenge_s3[1]

  # Target group names are at most 32 characters; interview ids are usually 14 (int- and 10 hex digits).
  target_group_name = length(var.interview_id) <= 32 ? var.interview_id : "int-${substr(sha256(var.interview_id), 0, 28)}"

  tags = {
    "prequel:interview"       = var.interview_id
    "prequel:auto-destroy-at" = var.auto_destroy_at
    "prequel:challenge"       = var.challenge
    "prequel:managed-by"      = "prequel-provisioner"
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_vpc" "this" {
  id = var.vpc_id
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # the interview prefix: every resource the provisioner may manage is named or tagged with it
  interview_prefix = "int-"
  # IAM path of the interviews' task roles
  interview_role_path = "/${var.name}/interviews/"

  services = {
    api            = { port = 8000 }
    events-gateway = { port = 8001 }
    provisioner    = { port = 8002 }
    scheduler      = { port = 8003 }
  }

  internal_domain = "${var.name}.internal"
  nats_host       = "nats.${local.internal_domain}"

  challenges_url = "s3://${module.bucket["challenges"].id}/challenges"
  state_url      = "s3://${module.bucket["state"].id}/interviews"
}

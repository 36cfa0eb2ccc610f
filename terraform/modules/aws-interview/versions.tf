terraform {
  # 1.11+: the password goes to Secrets Manager through a write-only argument, so it never reaches the state.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

# No provider block: the provisioner's generated root module calls this module as it is, and the AWS provider takes
# its region and credentials from the provisioner's environment (AWS_REGION, the ECS task role; an SSO profile with
# AWS_PROFILE in development). Everything platform-specific comes from one SSM parameter (platform.tf).

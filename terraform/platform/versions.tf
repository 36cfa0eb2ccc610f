terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # The platform's own state: local until the state bucket exists, then moved there (docs/deploy.md, step 3):
  #   terraform init -migrate-state -backend-config=backend.hcl
  # with an S3 backend block added here. Kept out of the file so a first `terraform init` works without one.
}

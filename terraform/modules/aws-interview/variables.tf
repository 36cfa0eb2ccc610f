# The same variables as terraform/modules/local-workspace (names, types, sensitivity, defaults and validations):
# the provisioner switches modules by configuration alone (PREQUEL_TF_MODULE). tests/static checks that they match.
# Platform inputs (cluster, listener, subnets, ...) are not variables: they come from an SSM parameter (platform.tf).

variable "interview_id" {
  description = "Interview id (DNS-label safe); names every resource and the host <interview_id>.<domain>."
  type        = string
  validation {
    condition     = can(regex("^int-[a-z0-9]{4,40}$", var.interview_id))
    error_message = "interview_id must look like int-<lowercase letters and digits>."
  }
}

variable "candidate_name" {
  description = "Unused here: the candidate's name is personal data and is kept out of AWS tags and resource names."
  type        = string
}

variable "challenge" {
  description = "Challenge id, e.g. python: the folder <challenges_url>/<challenge> synced into the workspace."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,62}$", var.challenge))
    error_message = "challenge must be a challenge id: lowercase letters, digits and dashes."
  }
}

variable "challenge_source" {
  description = "An s3:// prefix to sync from; any other value (the provisioner's local copy) means <challenges_url>/<challenge>."
  type        = string
}

variable "password" {
  description = "The candidate's IDE password: stored in a Secrets Manager secret (write-only, never in the state)."
  type        = string
  sensitive   = true
}

variable "auto_destroy_at" {
  description = "RFC 3339 time at which the environment is destroyed: the prequel:auto-destroy-at tag."
  type        = string
}

variable "port" {
  description = "Port of the IDE: the container port code-server listens on (the ALB target port)."
  type        = number
}

variable "workspace_root" {
  description = "Unused here: the workspace lives on the task's ephemeral storage (/home/coder/project)."
  type        = string
}

variable "ide" {
  description = "auto or code-server: this module runs code-server; jupyterlab is refused by a precondition."
  type        = string
  default     = "auto"
  validation {
    condition     = contains(["auto", "jupyterlab", "code-server"], var.ide)
    error_message = "ide must be auto, jupyterlab or code-server."
  }
}

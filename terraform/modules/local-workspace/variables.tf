variable "interview_id" {
  description = "Interview id (DNS-label safe); names the workspace."
  type        = string
  validation {
    condition     = can(regex("^int-[a-z0-9]{4,40}$", var.interview_id))
    error_message = "interview_id must look like int-<lowercase letters and digits>."
  }
}

variable "candidate_name" {
  description = "Candidate's name, for tags and the workspace README."
  type        = string
}

variable "challenge" {
  description = "Challenge id, e.g. python."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,62}$", var.challenge))
    error_message = "challenge must be a challenge id: lowercase letters, digits and dashes."
  }
}

variable "challenge_source" {
  description = "Where the challenge files are: a local folder here, an s3:// prefix in the aws module."
  type        = string
}

variable "password" {
  description = "The candidate's IDE password."
  type        = string
  sensitive   = true
}

variable "auto_destroy_at" {
  description = "RFC 3339 time at which the environment is destroyed (informational tag)."
  type        = string
}

variable "port" {
  description = "Port of the IDE: on 127.0.0.1 here; the container port in the aws module."
  type        = number
}

variable "workspace_root" {
  description = "Folder under which each interview's workspace folder is created."
  type        = string
}

variable "ide" {
  description = "auto (code-server when on PATH, else JupyterLab), jupyterlab or code-server."
  type        = string
  default     = "auto"
  validation {
    condition     = contains(["auto", "jupyterlab", "code-server"], var.ide)
    error_message = "ide must be auto, jupyterlab or code-server."
  }
}

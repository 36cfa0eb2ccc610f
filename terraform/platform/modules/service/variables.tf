variable "name" {
  description = "Service name, e.g. api; prefixed with var.prefix in every resource name."
  type        = string
}

variable "prefix" {
  description = "The platform's name prefix (terraform/platform var.name)."
  type        = string
}

variable "region" {
  description = "AWS region (for the awslogs driver and AWS_REGION)."
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster to run in."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster name (for autoscaling resource ids)."
  type        = string
}

variable "image" {
  description = "Container image, pinned (a tag that is never moved: the ECR repositories are immutable)."
  type        = string
}

variable "port" {
  description = "Container port: the HTTP port of the service (healthz, readyz, metrics)."
  type        = number
}

variable "cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Fargate task memory (MiB)."
  type        = number
  default     = 1024
}

variable "desired_count" {
  description = "Tasks to run (the start value when autoscaling is on)."
  type        = number
  default     = 1
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the tasks."
  type        = list(string)
}

variable "execution_role_arn" {
  description = "Role ECS uses to pull the image, write logs and read the task's secrets."
  type        = string
}

variable "task_role_policy_json" {
  description = "Inline policy of the service's own task role; null for a role with no permissions."
  type        = string
  default     = null
}

variable "environment" {
  description = "Plain environment variables."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Environment variables read from Secrets Manager at start: name => secret ARN."
  type        = map(string)
  default     = {}
}

variable "entry_point" {
  description = "Overrides the image's entrypoint; null keeps it."
  type        = list(string)
  default     = null
}

variable "command" {
  description = "Overrides the image's command; null keeps it."
  type        = list(string)
  default     = null
}

variable "user" {
  description = "uid[:gid] to run as; null keeps the image's (non-root) USER."
  type        = string
  default     = null
}

variable "health_check_command" {
  description = "Container health check; null means GET http://127.0.0.1:<port>/healthz with Python."
  type        = list(string)
  default     = null
}

variable "writable_paths" {
  description = "Paths given a task-local writable volume (the root filesystem is read-only). The image declares them as VOLUME so Fargate keeps their owner."
  type        = list(string)
  default     = ["/tmp"]
}

variable "efs_volume" {
  description = "An EFS access point mounted read-write (TLS, IAM authorization): null for none."
  type = object({
    file_system_id  = string
    access_point_id = string
    container_path  = string
  })
  default = null
}

variable "target_group_arn" {
  description = "ALB target group to register the tasks in; null for none."
  type        = string
  default     = null
}

variable "service_registry_arn" {
  description = "Cloud Map service to register the tasks in (private DNS); null for none."
  type        = string
  default     = null
}

variable "deployment_minimum_healthy_percent" {
  description = "ECS deployment lower bound."
  type        = number
  default     = 100
}

variable "deployment_maximum_percent" {
  description = "ECS deployment upper bound (100 with minimum 0: never two tasks at once, e.g. a single-writer store)."
  type        = number
  default     = 200
}

variable "autoscaling" {
  description = "Target tracking on average CPU: null for a fixed desired_count."
  type = object({
    min_capacity       = number
    max_capacity       = number
    cpu_target_percent = number
  })
  default = null
}

variable "kms_key_arn" {
  description = "KMS key of the log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the service's log group."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}

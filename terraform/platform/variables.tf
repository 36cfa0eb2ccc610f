variable "name" {
  description = "Name prefix of every resource (and of the private DNS namespace <name>.internal)."
  type        = string
  default     = "prequel"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.name))
    error_message = "name: 2-15 lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the platform and of every interview."
  type        = string
}

variable "vpc_id" {
  description = "The existing VPC."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets of the ALB (two or more availability zones)."
  type        = list(string)
  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "The ALB needs subnets in at least two availability zones."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets (with a NAT gateway or VPC endpoints) of the tasks, Redis, EFS and the interviews."
  type        = list(string)
  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "Give at least two private subnets (Redis failover and EFS mount targets span them)."
  }
}

variable "domain" {
  description = "The portal's domain: the portal at https://<domain>, each interview at https://<interviewId>.<domain>."
  type        = string
}

variable "hosted_zone_id" {
  description = "Route53 hosted zone holding var.domain (the zone of the domain itself or of a parent)."
  type        = string
}

variable "image_tag" {
  description = "Tag of the four service images in ECR (immutable tags: a new release is a new tag)."
  type        = string
}

variable "alb_ingress_cidrs" {
  description = "Who may reach the ALB on 443 (the portal, the candidates' IDEs). If you narrow it, keep the NAT gateways' addresses: the provisioner polls each new IDE through the ALB."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "api_desired_count" {
  description = "API tasks (autoscaled from here up to api_max_count on CPU)."
  type        = number
  default     = 2
}

variable "api_max_count" {
  description = "Most API tasks."
  type        = number
  default     = 6
}

variable "gateway_desired_count" {
  description = "Events-gateway tasks (autoscaled up to gateway_max_count on CPU)."
  type        = number
  default     = 2
}

variable "gateway_max_count" {
  description = "Most events-gateway tasks."
  type        = number
  default     = 6
}

variable "scheduler_desired_count" {
  description = "Scheduler tasks: replicas are safe without a leader (dedupe ids), two for availability."
  type        = number
  default     = 2
}

variable "provisioner_min_count" {
  description = "Fewest provisioner tasks."
  type        = number
  default     = 1
}

variable "provisioner_max_count" {
  description = "Most provisioner tasks."
  type        = number
  default     = 8
}

variable "provisioner_concurrency" {
  description = "Commands one provisioner task runs at once (PREQUEL_PROVISIONER_CONCURRENCY)."
  type        = number
  default     = 4
}

variable "interview_code_server_image" {
  description = "code-server image of the interviews, pinned (mirror it into ECR to avoid Docker Hub rate limits)."
  type        = string
  default     = "codercom/code-server:4.96.4"
}

variable "interview_sync_image" {
  description = "AWS CLI image that syncs a challenge from S3 into an interview's workspace, pinned."
  type        = string
  default     = "public.ecr.aws/aws-cli/aws-cli:2.22.0"
}

variable "interview_task_cpu" {
  description = "Fargate CPU units of one interview."
  type        = number
  default     = 1024
}

variable "interview_task_memory" {
  description = "Fargate memory (MiB) of one interview."
  type        = number
  default     = 2048
}

variable "redis_node_type" {
  description = "ElastiCache node type (a primary and a replica)."
  type        = string
  default     = "cache.t4g.small"
}

variable "log_retention_days" {
  description = "Retention of the services' logs (interview log groups are deleted with their interview)."
  type        = number
  default     = 365
}

variable "deletion_protection" {
  description = "Protect the ALB from deletion (turn off only to tear the platform down)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "nats_image" {
  description = "NATS server image (2.12+, JetStream), pinned."
  type        = string
  default     = "nats:2.12.1-alpine"
}

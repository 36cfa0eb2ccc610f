variable "name" {
  description = "Bucket name (globally unique)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the default encryption."
  type        = string
}

variable "log_bucket" {
  description = "Bucket receiving this bucket's server access logs."
  type        = string
}

variable "log_prefix" {
  description = "Prefix of this bucket's access logs in log_bucket."
  type        = string
}

variable "noncurrent_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
}

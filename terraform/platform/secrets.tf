# Connection strings and the API tokens, injected into the services by ECS (never in task definitions in clear).
# The Redis and NATS credentials are generated here (so they are in this platform's state: keep that state in the
# encrypted, access-restricted state bucket). The API tokens are set by the operator, outside Terraform:
#   aws secretsmanager put-secret-value --secret-id <name>/api-tokens --secret-string 'alice:<32 hex>,bob:<32 hex>'
resource "random_password" "redis" {
  length  = 48
  special = false
}

resource "random_password" "nats" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret" "platform" {
  #checkov:skip=CKV2_AWS_57:Redis's auth token and NATS's token are rotated by a platform apply (taint the random_password), the API tokens by the operator; no Lambda rotation
  for_each    = toset(["api-tokens", "redis-url", "nats-url", "nats-token"])
  name        = "${var.name}/${each.key}"
  description = "${var.name}: ${each.key}"
  kms_key_id  = aws_kms_key.platform.arn
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id     = aws_secretsmanager_secret.platform["redis-url"].id
  secret_string = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:6379/0"
}

resource "aws_secretsmanager_secret_version" "nats_url" {
  secret_id     = aws_secretsmanager_secret.platform["nats-url"].id
  secret_string = "nats://${random_password.nats.result}@${local.nats_host}:4222"
}

resource "aws_secretsmanager_secret_version" "nats_token" {
  secret_id     = aws_secretsmanager_secret.platform["nats-token"].id
  secret_string = random_password.nats.result
}

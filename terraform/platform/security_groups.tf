# Who may talk to whom. The ALB: 443 from var.alb_ingress_cidrs, out to the api, the gateway and the interviews.
# Each interview's own group (aws-interview module) admits the ALB's group only. NATS and Redis admit the four
# services; EFS admits NATS.
resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "The ALB of ${var.name}"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.alb_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS: the portal and the interviews"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_services" {
  for_each                     = { api = local.services["api"].port, events-gateway = local.services["events-gateway"].port }
  security_group_id            = aws_security_group.alb.id
  description                  = "To the ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  referenced_security_group_id = aws_security_group.service[each.key].id
}

resource "aws_vpc_security_group_egress_rule" "alb_to_interviews" {
  security_group_id = aws_security_group.alb.id
  description       = "To the interviews' IDEs (each on its own port, admitted by its own security group)"
  ip_protocol       = "tcp"
  from_port         = 1024
  to_port           = 65535
  cidr_ipv4         = data.aws_vpc.this.cidr_block
}

resource "aws_security_group" "service" {
  for_each    = local.services
  name        = "${var.name}-${each.key}"
  description = "The ${each.key} tasks of ${var.name}"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "service_from_alb" {
  for_each                     = { api = local.services["api"].port, events-gateway = local.services["events-gateway"].port }
  security_group_id            = aws_security_group.service[each.key].id
  description                  = "From the ALB"
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "service_https" {
  for_each          = local.services
  security_group_id = aws_security_group.service[each.key].id
  description       = "HTTPS: AWS APIs (S3, Secrets Manager, ECR, logs); the provisioner also polls the IDEs through the ALB"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "service_to_nats" {
  for_each                     = local.services
  security_group_id            = aws_security_group.service[each.key].id
  description                  = "NATS client port"
  ip_protocol                  = "tcp"
  from_port                    = 4222
  to_port                      = 4222
  referenced_security_group_id = aws_security_group.nats.id
}

resource "aws_vpc_security_group_egress_rule" "service_to_redis" {
  for_each                     = local.services
  security_group_id            = aws_security_group.service[each.key].id
  description                  = "Redis"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.redis.id
}

resource "aws_security_group" "nats" {
  name        = "${var.name}-nats"
  description = "NATS (JetStream) of ${var.name}"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "nats_from_services" {
  for_each                     = local.services
  security_group_id            = aws_security_group.nats.id
  description                  = "NATS clients: ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 4222
  to_port                      = 4222
  referenced_security_group_id = aws_security_group.service[each.key].id
}

resource "aws_vpc_security_group_egress_rule" "nats_https" {
  security_group_id = aws_security_group.nats.id
  description       = "HTTPS: image pull, logs, secrets"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "nats_to_efs" {
  security_group_id            = aws_security_group.nats.id
  description                  = "NFS to the JetStream file system"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.efs.id
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "ElastiCache Redis of ${var.name}"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_services" {
  for_each                     = local.services
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis clients: ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.service[each.key].id
}

resource "aws_security_group" "efs" {
  name        = "${var.name}-efs"
  description = "The JetStream file system of ${var.name}"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "efs_from_nats" {
  security_group_id            = aws_security_group.efs.id
  description                  = "NFS from NATS"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.nats.id
}

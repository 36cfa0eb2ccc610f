# Reachable only from the shared ALB, on the IDE's port; out to HTTPS only (image pulls, S3, Secrets Manager,
# package registries the candidate may use).
resource "aws_security_group" "ide" {
  name        = var.interview_id
  description = "IDE of interview ${var.interview_id}: from the ALB only"
  vpc_id      = local.platform.vpc_id
  tags        = local.tags

  ingress {
    description     = "code-server from the ALB"
    from_port       = var.port
    to_port         = var.port
    protocol        = "tcp"
    security_groups = [local.platform.alb_security_group_id]
  }

  egress {
    description = "HTTPS out: image pulls, S3, Secrets Manager, package registries"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_lb_target_group" "ide" {
  name                 = local.target_group_name
  port                 = var.port
  protocol             = "HTTPS"
  target_type          = "ip"
  vpc_id               = local.platform.vpc_id
  deregistration_delay = 5
  tags                 = local.tags

  health_check {
    # code-server's own unauthenticated liveness endpoint
    protocol            = "HTTPS"
    path                = "/healthz"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

# <interview_id>.<domain> to this interview's target group, on the shared HTTPS listener. No priority: the provider
# takes the highest in use + 1 and retries on PriorityInUse, so concurrent creates do not collide.
resource "aws_lb_listener_rule" "ide" {
  listener_arn = local.platform.listener_arn
  tags         = local.tags

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.ide.arn
  }

  condition {
    host_header {
      values = [local.host]
    }
  }
}

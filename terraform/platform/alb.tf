# The one public entry point. HTTPS only (no port 80: every URL the portal hands out is https). Rules on the portal
# host (<domain>): the event stream and the live log follow to the events gateway, the rest to the api. Each
# interview adds its own host rule (<interviewId>.<domain>, terraform/modules/aws-interview). Anything else: 404.
resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_76:the WAF has the Log4j rule group (AWSManagedRulesKnownBadInputsRuleSet); the check also demands AWSManagedRulesAnonymousIpList, which would block candidates on VPNs and cloud desktops mid-interview
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  # SSE streams send a heartbeat every 30 s; IDE websockets ping on their own
  idle_timeout = 120

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
    enabled = true
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = aws_acm_certificate_validation.this.certificate_arn

  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "application/json"
      message_body = "{\"error\": \"Not found\"}"
      status_code  = "404"
    }
  }
}

resource "aws_lb_target_group" "service" {
  #checkov:skip=CKV_AWS_378:TLS ends at the ALB; the api and the gateway serve plain HTTP inside private subnets, reachable only from the ALB's security group
  for_each             = { api = local.services["api"].port, events-gateway = local.services["events-gateway"].port }
  name                 = "${var.name}-${each.key}"
  port                 = each.value
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    # readiness: the task answers only once NATS and Redis are reachable
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener_rule" "events" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["events-gateway"].arn
  }

  condition {
    host_header {
      values = [var.domain]
    }
  }
  condition {
    path_pattern {
      values = ["/api/events*"]
    }
  }
}

# GET /api/operations/{id}/logs asked for as an event stream is the gateway's live follow; the JSON form is the api's
resource "aws_lb_listener_rule" "log_follow" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 20

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["events-gateway"].arn
  }

  condition {
    host_header {
      values = [var.domain]
    }
  }
  condition {
    path_pattern {
      values = ["/api/operations/*/logs"]
    }
  }
  condition {
    http_header {
      http_header_name = "Accept"
      values           = ["*text/event-stream*"]
    }
  }
}

resource "aws_lb_listener_rule" "api" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 30

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["api"].arn
  }

  condition {
    host_header {
      values = [var.domain]
    }
  }
}

# The provisioner runs terraform/modules/aws-interview. It may manage only what belongs to an interview: resources
# named with the interview prefix (int-), or tagged prequel:interview=int-* when AWS has no name to match on
# (security groups, listener rules). Roles it creates must carry the interview boundary (iam_interviews.tf).
locals {
  interview_tag = "aws:RequestTag/prequel:interview"
  interview_res = "aws:ResourceTag/prequel:interview"
  arn_prefix = {
    ecs     = "arn:${local.partition}:ecs:${var.region}:${local.account_id}"
    elb     = "arn:${local.partition}:elasticloadbalancing:${var.region}:${local.account_id}"
    ec2     = "arn:${local.partition}:ec2:${var.region}:${local.account_id}"
    logs    = "arn:${local.partition}:logs:${var.region}:${local.account_id}"
    secrets = "arn:${local.partition}:secretsmanager:${var.region}:${local.account_id}"
  }
  interview_roles      = "arn:${local.partition}:iam::${local.account_id}:role${local.interview_role_path}${local.interview_prefix}*"
  interview_rules      = "${replace(aws_lb_listener.https.arn, ":listener/", ":listener-rule/")}/*"
  interview_log_groups = "${local.arn_prefix.logs}:log-group:/${var.name}/interviews/${local.interview_prefix}*"
}

data "aws_iam_policy_document" "provisioner" {
  statement {
    sid       = "ReadThePlatformParameter"
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = [aws_ssm_parameter.interview_module.arn]
  }

  # Describe and List calls take no resource ARN
  statement {
    sid = "Describe"
    actions = [
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSecurityGroupRules",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcs",
      "ecs:DescribeTaskDefinition",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  # --- ECS: task definitions and services named int-* in this cluster ---
  statement {
    sid       = "RegisterInterviewTaskDefinitions"
    actions   = ["ecs:RegisterTaskDefinition"]
    resources = ["*"]
    condition {
      test     = "StringLike"
      variable = local.interview_tag
      values   = ["${local.interview_prefix}*"]
    }
  }
  # takes no resource ARN; a deregistered revision keeps running, so this cannot stop another service
  statement {
    sid       = "DeregisterTaskDefinitions"
    actions   = ["ecs:DeregisterTaskDefinition"]
    resources = ["*"]
  }
  statement {
    sid       = "InterviewServices"
    actions   = ["ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DescribeServices"]
    resources = ["${local.arn_prefix.ecs}:service/${aws_ecs_cluster.this.name}/${local.interview_prefix}*"]
  }
  statement {
    sid     = "TagInterviewEcsResources"
    actions = ["ecs:TagResource", "ecs:UntagResource", "ecs:ListTagsForResource"]
    resources = [
      "${local.arn_prefix.ecs}:service/${aws_ecs_cluster.this.name}/${local.interview_prefix}*",
      "${local.arn_prefix.ecs}:task-definition/${local.interview_prefix}*:*",
    ]
  }
  statement {
    sid       = "PassInterviewRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.interview_execution.arn, local.interview_roles]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # --- IAM: the interviews' task roles, only under their path and only with the boundary ---
  statement {
    sid       = "InterviewRolesWithTheBoundary"
    actions   = ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"]
    resources = [local.interview_roles]
    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.interview_boundary.arn]
    }
  }
  statement {
    sid = "ManageInterviewRoles"
    actions = [
      "iam:DeleteRole",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:ListRoleTags",
      "iam:TagRole",
      "iam:UntagRole",
    ]
    resources = [local.interview_roles]
  }

  # --- Secrets Manager: the interviews' password secrets ---
  statement {
    sid = "InterviewSecrets"
    actions = [
      "secretsmanager:CreateSecret",
      "secretsmanager:DeleteSecret",
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetResourcePolicy",
      "secretsmanager:GetSecretValue",
      "secretsmanager:ListSecretVersionIds",
      "secretsmanager:PutSecretValue",
      "secretsmanager:TagResource",
      "secretsmanager:UntagResource",
      "secretsmanager:UpdateSecret",
    ]
    resources = ["${local.arn_prefix.secrets}:secret:${var.name}/interviews/${local.interview_prefix}*"]
  }
  statement {
    sid       = "EncryptThroughSecretsManagerAndS3"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.platform.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.region}.amazonaws.com", "s3.${var.region}.amazonaws.com"]
    }
  }

  # --- EC2: the interviews' security groups (tagged at creation), in this VPC ---
  statement {
    sid       = "CreateSecurityGroupsInTheVpc"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["${local.arn_prefix.ec2}:vpc/${var.vpc_id}"]
  }
  statement {
    sid       = "CreateInterviewSecurityGroups"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["${local.arn_prefix.ec2}:security-group/*"]
    condition {
      test     = "StringLike"
      variable = local.interview_tag
      values   = ["${local.interview_prefix}*"]
    }
  }
  statement {
    sid       = "TagSecurityGroupsAtCreation"
    actions   = ["ec2:CreateTags"]
    resources = ["${local.arn_prefix.ec2}:security-group/*"]
    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateSecurityGroup"]
    }
  }
  statement {
    sid = "ManageInterviewSecurityGroups"
    actions = [
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:CreateTags",
      "ec2:DeleteSecurityGroup",
      "ec2:DeleteTags",
      "ec2:RevokeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupIngress",
    ]
    resources = ["${local.arn_prefix.ec2}:security-group/*"]
    condition {
      test     = "StringLike"
      variable = local.interview_res
      values   = ["${local.interview_prefix}*"]
    }
  }

  # --- ELB: target groups named int-*, host rules on the shared HTTPS listener tagged with an interview ---
  statement {
    sid       = "CreateInterviewTargetGroups"
    actions   = ["elasticloadbalancing:CreateTargetGroup"]
    resources = ["${local.arn_prefix.elb}:targetgroup/${local.interview_prefix}*/*"]
    condition {
      test     = "StringLike"
      variable = local.interview_tag
      values   = ["${local.interview_prefix}*"]
    }
  }
  statement {
    sid = "ManageInterviewTargetGroups"
    actions = [
      "elasticloadbalancing:AddTags",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:RemoveTags",
    ]
    resources = ["${local.arn_prefix.elb}:targetgroup/${local.interview_prefix}*/*"]
  }
  statement {
    sid       = "CreateInterviewRules"
    actions   = ["elasticloadbalancing:CreateRule"]
    resources = [aws_lb_listener.https.arn, local.interview_rules]
    condition {
      test     = "StringLike"
      variable = local.interview_tag
      values   = ["${local.interview_prefix}*"]
    }
  }
  statement {
    sid       = "TagInterviewRulesAtCreation"
    actions   = ["elasticloadbalancing:AddTags"]
    resources = [local.interview_rules]
    condition {
      test     = "StringEquals"
      variable = "elasticloadbalancing:CreateAction"
      values   = ["CreateRule"]
    }
  }
  statement {
    sid = "ManageInterviewRules"
    actions = [
      "elasticloadbalancing:AddTags",
      "elasticloadbalancing:DeleteRule",
      "elasticloadbalancing:ModifyRule",
      "elasticloadbalancing:RemoveTags",
      "elasticloadbalancing:SetRulePriorities",
    ]
    resources = [local.interview_rules]
    condition {
      test     = "StringLike"
      variable = local.interview_res
      values   = ["${local.interview_prefix}*"]
    }
  }

  # --- CloudWatch Logs: /<name>/interviews/int-* ---
  statement {
    sid = "InterviewLogGroups"
    actions = [
      "logs:AssociateKmsKey",
      "logs:CreateLogGroup",
      "logs:DeleteLogGroup",
      "logs:DeleteRetentionPolicy",
      "logs:DisassociateKmsKey",
      "logs:ListTagsForResource",
      "logs:ListTagsLogGroup",
      "logs:PutRetentionPolicy",
      "logs:TagLogGroup",
      "logs:TagResource",
      "logs:UntagLogGroup",
      "logs:UntagResource",
    ]
    resources = [local.interview_log_groups, "${local.interview_log_groups}:*"]
  }

  # --- S3: the interviews' states (read-write, locked with use_lockfile) and the challenges (read) ---
  statement {
    sid       = "ListStates"
    actions   = ["s3:ListBucket"]
    resources = [module.bucket["state"].arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["interviews", "interviews/*"]
    }
  }
  statement {
    sid       = "ReadWriteStates"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${module.bucket["state"].arn}/interviews/*"]
  }
  statement {
    sid       = "ListChallenges"
    actions   = ["s3:ListBucket"]
    resources = [module.bucket["challenges"].arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["challenges", "challenges/*"]
    }
  }
  statement {
    sid       = "ReadChallenges"
    actions   = ["s3:GetObject"]
    resources = ["${module.bucket["challenges"].arn}/challenges/*"]
  }
}

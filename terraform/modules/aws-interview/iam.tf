# The task role of this interview only: read its own challenge folder, nothing else. Every container of a task can
# reach the task's credentials, the candidate's IDE included, so the role must hold nothing the candidate may not
# have. The platform's permissions boundary caps it whatever this policy says (the provisioner may create roles
# only with that boundary, only under the interview path).
resource "aws_iam_role" "task" {
  name                 = "${var.interview_id}-task"
  path                 = local.platform.task_role_path
  description          = "Task role of interview ${var.interview_id}: reads its challenge files"
  permissions_boundary = local.platform.permissions_boundary_arn
  assume_role_policy   = data.aws_iam_policy_document.assume_ecs_tasks.json
  tags                 = local.tags
}

data "aws_iam_policy_document" "assume_ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "challenge_read" {
  statement {
    sid       = "ListTheChallenge"
    actions   = ["s3:ListBucket"]
    resources = ["arn:aws:s3:::${local.challenge_bucket}"]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.challenge_prefix, "${local.challenge_prefix}/*"]
    }
  }
  statement {
    sid       = "ReadTheChallenge"
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::${local.challenge_bucket}/${local.challenge_prefix}/*"]
  }
  statement {
    sid       = "DecryptThroughS3"
    actions   = ["kms:Decrypt"]
    resources = [local.platform.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.platform.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "challenge_read" {
  name   = "challenge-read"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.challenge_read.json
}

# Each service's task role holds only what its code does in AWS. The events gateway does nothing in AWS: its role
# has no policy. The interviews' own roles are in iam_interviews.tf.

# api: lists the challenges (PREQUEL_CHALLENGES)
data "aws_iam_policy_document" "api" {
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
  statement {
    sid       = "DecryptThroughS3"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

# scheduler: reads the interviews' states (orphan and drift sweeps), writes nothing
data "aws_iam_policy_document" "scheduler" {
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
    sid       = "ReadStates"
    actions   = ["s3:GetObject"]
    resources = ["${module.bucket["state"].arn}/interviews/*"]
  }
  statement {
    sid       = "DecryptThroughS3"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

# The permissions boundary of every interview task role: whatever inline policy the provisioner writes into such a
# role, it can never do more than read challenge files. The provisioner may create roles only with this boundary
# (iam_provisioner.tf), so it cannot mint a role stronger than this.
data "aws_iam_policy_document" "interview_boundary" {
  statement {
    sid       = "ListChallenges"
    actions   = ["s3:ListBucket"]
    resources = [module.bucket["challenges"].arn]
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

resource "aws_iam_policy" "interview_boundary" {
  name        = "${var.name}-interview-boundary"
  path        = "/${var.name}/"
  description = "Permissions boundary of the interviews' task roles: read challenge files, nothing else"
  policy      = data.aws_iam_policy_document.interview_boundary.json
}

locals {
  workspace_dir = "${abspath(var.workspace_root)}/${var.interview_id}"
  script        = "${path.module}/scripts/workspace.py"
}

# The candidate's files: the challenge copied into a private folder. Destroy deletes the folder.
resource "terraform_data" "files" {
  triggers_replace = [var.interview_id, var.challenge, local.workspace_dir]

  input = {
    workspace_dir = local.workspace_dir
    script        = abspath(local.script)
  }

  provisioner "local-exec" {
    interpreter = ["python3", local.script]
    command     = "prepare"
    environment = {
      WORKSPACE_DIR    = local.workspace_dir
      CHALLENGE_SOURCE = var.challenge_source
      CANDIDATE_NAME   = var.candidate_name
      AUTO_DESTROY_AT  = var.auto_destroy_at
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3", self.input.script]
    command     = "remove"
    environment = {
      WORKSPACE_DIR = self.input.workspace_dir
    }
  }
}

# The browser IDE serving those files on 127.0.0.1, password required. Destroy stops it.
# The password travels only in the environment of the start step (Terraform hides that step's output).
resource "terraform_data" "ide" {
  triggers_replace = [terraform_data.files.id, var.port, var.ide]

  input = {
    workspace_dir = local.workspace_dir
    script        = abspath(local.script)
  }

  provisioner "local-exec" {
    interpreter = ["python3", local.script]
    command     = "start"
    environment = {
      WORKSPACE_DIR = local.workspace_dir
      IDE_PORT      = tostring(var.port)
      IDE_KIND      = var.ide
      IDE_PASSWORD  = var.password
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3", self.input.script]
    command     = "stop"
    environment = {
      WORKSPACE_DIR = self.input.workspace_dir
    }
  }
}

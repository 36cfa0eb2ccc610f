"""Prequel Portal provisioner: runs Terraform for interview environments."""

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      "prequel:platform" = var.name
    })
  }
}

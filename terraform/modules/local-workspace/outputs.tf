output "access_url" {
  description = "Where the candidate opens the IDE."
  value       = "http://127.0.0.1:${var.port}/"
  depends_on  = [terraform_data.ide]
}

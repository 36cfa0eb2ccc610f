"""Prequel Portal REST API."""

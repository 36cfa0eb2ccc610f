"""Prequel Portal scheduler: timed starts and auto-destroys."""

"""Shared contracts and plumbing of the Prequel Portal services.

Nothing in this package touches the network at import time.
"""

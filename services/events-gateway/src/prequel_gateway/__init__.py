"""Prequel Portal events gateway: the SSE stream of the spec, fanned out from one NATS subscription."""

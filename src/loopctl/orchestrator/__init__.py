"""Orchestrator checkpoints: versioned state per project and key, with optimistic locking."""

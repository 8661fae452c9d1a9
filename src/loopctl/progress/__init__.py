"""Two-tier progress: the story loop from contract to verification (the state machine so far)."""

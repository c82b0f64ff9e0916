"""Publishing: a gated, idempotent upload and a read-back of what the index serves."""

"""Pure data: build records and the artifacts they name. No I/O."""

"""Signing and verifying vouch statements: DSSE envelopes with SSH and OpenPGP keys."""

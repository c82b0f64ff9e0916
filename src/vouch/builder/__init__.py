"""Reproducible builds: source export, build lock, isolated environment, builder."""

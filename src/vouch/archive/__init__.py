"""Archives: safe readers for sdists and wheels, and the normalizer that canonicalises them."""

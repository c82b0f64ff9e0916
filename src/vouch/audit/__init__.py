"""``vouch audit``: CI workflows (zizmor plus release rules) and a GitHub repository's settings."""

"""Rebuilds: replaying a build record, rebuilding a published release, inferring its recipe,
comparing what was rebuilt with what was published, the verdicts and their rendering."""

"""Rendering reports for people (rich); JSON is each model's ``to_json``."""

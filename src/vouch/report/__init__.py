"""``vouch report``: one self-contained page that shows a person a release's evidence."""

"""The release process around the artifacts: Django-format checksum files and runbooks.

- ``checksums``: the checksum file (MD5, SHA1, SHA256 of each package, the commit of the tag),
  made byte for byte the same from the same inputs, and the check of every hash it lists;
- ``clearsign``: its OpenPGP clearsignature, made with gpg and verified against one expected
  key only;
- ``runbook``: runbook definitions (data in ``runbooks/*.toml``), loaded and checked;
- ``plan``: a definition turned into the checklist of one release (type, variables, order);
- ``render``: that checklist as Markdown, HTML or JSON;
- ``runner``: the checklist walked step by step, with a state file to resume from.
"""

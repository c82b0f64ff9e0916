"""Package indexes, read as hostile input.

- ``simple``: the PEP 691 JSON (or PEP 503 HTML) simple API and downloads checked against sha256.
- ``http``: bounded requests: an overall deadline, size caps, redirects only on the same host.
- ``urls``: index and repository URLs parsed once, and shown without credentials.
"""

"""The package index: PEP 691/503 simple API client, bounded HTTP, URLs without credentials."""

PYPI_SIMPLE = "https://pypi.org/simple/"

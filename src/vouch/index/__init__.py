"""Package indexes: the PEP 691 simple JSON API, and downloads checked against sha256."""

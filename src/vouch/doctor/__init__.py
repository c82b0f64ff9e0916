"""``vouch doctor``: the releaser's machine checked against the policy's ``[baseline]``."""

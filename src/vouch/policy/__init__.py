"""The trust policy (who may vouch, how many must agree) and its k-of-n evaluation."""

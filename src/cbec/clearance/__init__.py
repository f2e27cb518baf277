"""Import clearance: the customs side of retail import — compare, limits, positive list, tax, decide."""

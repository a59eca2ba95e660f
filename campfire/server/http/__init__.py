"""HTTP plumbing of the server: JSON replies, rate limits, test faults, file streaming, signing."""

"""Pure domain model: search space, tuning job, training jobs, validation, errors.

Imports nothing of tunelab's other packages and does no I/O of its own."""

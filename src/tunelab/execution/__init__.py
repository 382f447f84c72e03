"""Running training jobs: the container contract, data staging, executors."""

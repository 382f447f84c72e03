"""tunelab: self-hosted hyperparameter tuning in SageMaker's shapes."""

__version__ = "0.1.0"

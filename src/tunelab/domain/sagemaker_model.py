"""SageMaker's service model as shipped by botocore: the schema of tunelab's API.

The model is read from botocore's data files once per process, on first use
(about 0.2 s), and cached. Nothing here talks to AWS or reads AWS configuration.
"""

from __future__ import annotations

from functools import lru_cache

from botocore.loaders import create_loader
from botocore.model import ServiceModel, StructureShape

SERVICE_NAME = "sagemaker"


@lru_cache(maxsize=1)
def service_model() -> ServiceModel:
    """botocore's SageMaker ``ServiceModel`` (the newest API version botocore ships)."""
    data = create_loader().load_service_model(SERVICE_NAME, "service-2")
    return ServiceModel(data, service_name=SERVICE_NAME)


def input_shape(operation_name: str) -> StructureShape:
    """The input shape of ``operation_name`` (e.g. ``"CreateHyperParameterTuningJob"``).

    Raises botocore's ``OperationNotFoundError`` for an operation the model does not
    have, and ``ValueError`` for one that takes no input."""
    shape = service_model().operation_model(operation_name).input_shape
    if not isinstance(shape, StructureShape):
        raise ValueError(f"SageMaker operation {operation_name} takes no input")
    return shape

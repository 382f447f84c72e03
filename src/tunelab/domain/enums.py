"""SageMaker's enumerations, with the exact wire strings as values."""

from __future__ import annotations

from enum import StrEnum


class StrategyType(StrEnum):
    BAYESIAN = "Bayesian"
    RANDOM = "Random"
    HYPERBAND = "Hyperband"
    GRID = "Grid"


class ScalingType(StrEnum):
    AUTO = "Auto"
    LINEAR = "Linear"
    LOGARITHMIC = "Logarithmic"
    REVERSE_LOGARITHMIC = "ReverseLogarithmic"


class ObjectiveType(StrEnum):
    MAXIMIZE = "Maximize"
    MINIMIZE = "Minimize"

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` is strictly better than ``b`` in this direction."""
        return a > b if self is ObjectiveType.MAXIMIZE else a < b


class EarlyStoppingType(StrEnum):
    OFF = "Off"
    AUTO = "Auto"


class WarmStartType(StrEnum):
    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


class TuningJobStatus(StrEnum):
    COMPLETED = "Completed"
    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    STOPPED = "Stopped"
    STOPPING = "Stopping"
    DELETING = "Deleting"
    DELETE_FAILED = "DeleteFailed"

    @property
    def is_terminal(self) -> bool:
        return self in (TuningJobStatus.COMPLETED, TuningJobStatus.FAILED, TuningJobStatus.STOPPED)


class TrainingJobStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"

    @property
    def is_terminal(self) -> bool:
        return self in (
            TrainingJobStatus.COMPLETED,
            TrainingJobStatus.FAILED,
            TrainingJobStatus.STOPPED,
        )


class SecondaryStatus(StrEnum):
    STARTING = "Starting"
    DOWNLOADING = "Downloading"
    TRAINING = "Training"
    UPLOADING = "Uploading"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    MAX_RUNTIME_EXCEEDED = "MaxRuntimeExceeded"
    MAX_WAIT_TIME_EXCEEDED = "MaxWaitTimeExceeded"
    COMPLETED = "Completed"
    FAILED = "Failed"
    INTERRUPTED = "Interrupted"
    RESTARTING = "Restarting"


class ObjectiveStatus(StrEnum):
    SUCCEEDED = "Succeeded"
    PENDING = "Pending"
    FAILED = "Failed"


class TrainingInputMode(StrEnum):
    PIPE = "Pipe"
    FILE = "File"
    FAST_FILE = "FastFile"

"""Run by a Python that has the SageMaker SDK v3 (``sagemaker>=3``), pointed at tunelab
through ``AWS_ENDPOINT_URL_SAGEMAKER`` (the only route v3 honours): a ModelTrainer whose
image is a local program, ``HyperparameterTuner.tune(wait=False)``, ``describe()``,
``best_training_job()``, ``analytics().dataframe()``, then ``stop_tuning_job()`` of a
second, long tuning job. Prints what it saw as one JSON object.

Usage: python sdk_v3_probe.py PROGRAM ROLE_ARN
"""

import json
import sys
import time

from sagemaker.core.parameter import ContinuousParameter
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, OutputDataConfig, StoppingCondition
from sagemaker.train.tuner import HyperparameterTuner

program, role = sys.argv[1], sys.argv[2]
METRICS = [{"Name": "loss", "Regex": r"loss=([0-9.]+);"}]


def tuner(epochs: str, seconds_per_epoch: str) -> HyperparameterTuner:
    trainer = ModelTrainer(
        training_image=f"file://{program}",
        role=role,
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=120),
        output_data_config=OutputDataConfig(s3_output_path="s3://sdk-bucket/out"),
        hyperparameters={"epochs": epochs, "seconds_per_epoch": seconds_per_epoch},
        training_input_mode="File",
    )
    return HyperparameterTuner(
        trainer,
        objective_metric_name="loss",
        hyperparameter_ranges={"x": ContinuousParameter(0, 1)},
        metric_definitions=METRICS,
        strategy="Random",
        objective_type="Minimize",
        max_jobs=4,
        max_parallel_jobs=2,
    )


seen = {}
first = tuner("2", "0.05")
first.tune(inputs="s3://sdk-bucket/train", job_name="v3-job", wait=False)
seen["status_after_tune"] = first.describe().hyper_parameter_tuning_job_status
for _ in range(300):
    described = first.describe()
    if described.hyper_parameter_tuning_job_status != "InProgress":
        break
    time.sleep(0.2)
seen["status"] = described.hyper_parameter_tuning_job_status
seen["best"] = first.best_training_job()
frame = first.analytics().dataframe()
seen["rows"] = len(frame)
seen["columns"] = sorted(frame.columns)
seen["values"] = sorted(float(v) for v in frame["FinalObjectiveValue"])
second = tuner("200", "0.1")
second.tune(inputs="s3://sdk-bucket/train", job_name="v3-stop", wait=False)
time.sleep(1)
second.stop_tuning_job()
seen["stop_status"] = second.describe().hyper_parameter_tuning_job_status
print(json.dumps(seen))

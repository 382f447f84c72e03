"""A SageMaker script-mode training script, written as for the SageMaker SDK's
SKLearn/PyTorch estimators and run here unchanged: hyperparameters arrive as command-line
arguments, data and model directories as SM_* variables."""

import argparse
import json
import os

import helper  # a module shipped in the same source directory
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--optimizer", type=str, default="sgd")
    parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAIN"])
    args = parser.parse_args()

    rows = np.loadtxt(os.path.join(args.train, "train.csv"), delimiter=",", ndmin=2)
    y, x = rows[:, 0], rows[:, 1:]
    weights = np.zeros(x.shape[1])
    for epoch in range(args.epochs):  # logistic regression, full-batch gradient descent
        p = 1 / (1 + np.exp(-x @ weights))
        weights -= args.learning_rate * x.T @ (p - y) / len(y)
        loss = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
        print(f"epoch={epoch} train-loss={loss:.6f};", flush=True)
    accuracy = float(np.mean(((x @ weights) > 0) == (y > 0.5)))
    print(f"validation-accuracy={accuracy:.4f};", flush=True)
    np.save(os.path.join(args.model_dir, "weights.npy"), weights)
    with open(os.path.join(args.model_dir, "run.json"), "w") as f:
        json.dump(
            {
                "optimizer": args.optimizer,
                "hosts": json.loads(os.environ["SM_HOSTS"]),
                "helper": helper.SCALE,
                "cwd": os.getcwd(),
                "module_dir": os.environ["SM_MODULE_DIR"],
                "module_name": os.environ["SM_MODULE_NAME"],
                "user_args": json.loads(os.environ["SM_USER_ARGS"]),
            },
            f,
        )


if __name__ == "__main__":
    main()

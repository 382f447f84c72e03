#!/usr/bin/env python3
"""Write scikit-learn's breast_cancer dataset as SageMaker-style CSV channels.

    python examples/prepare_data.py [OUTPUT_DIR]

OUTPUT_DIR defaults to ``data/`` next to this script. The result is

    OUTPUT_DIR/train/train.csv            (75 %, 426 rows)
    OUTPUT_DIR/validation/validation.csv  (25 %, 143 rows)

in the layout SageMaker's built-in algorithms expect for ``text/csv``: the label
(0 = malignant, 1 = benign) in the first column, then the 30 features, no header.
The split is stratified with a fixed seed, so running this again produces the same
bytes (an unchanged file is left alone). The dataset ships with scikit-learn; no
download is needed.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

RANDOM_STATE = 42
VALIDATION_FRACTION = 0.25


def to_csv(labels: np.ndarray, features: np.ndarray) -> str:
    """Label first, then the features (``repr``-exact floats), no header."""
    buffer = io.StringIO()
    for label, row in zip(labels, features, strict=True):
        buffer.write(",".join([str(int(label)), *(repr(float(x)) for x in row)]))
        buffer.write("\n")
    return buffer.getvalue()


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` atomically unless the file already holds it. True if written."""
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
    return True


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) > 1:
        print("usage: prepare_data.py [OUTPUT_DIR]", file=sys.stderr)
        return 2
    output = Path(argv[0]) if argv else Path(__file__).resolve().parent / "data"
    features, labels = load_breast_cancer(return_X_y=True)
    x_train, x_valid, y_train, y_valid = train_test_split(
        features,
        labels,
        test_size=VALIDATION_FRACTION,
        stratify=labels,
        random_state=RANDOM_STATE,
    )
    for channel, x, y in (("train", x_train, y_train), ("validation", x_valid, y_valid)):
        path = output / channel / f"{channel}.csv"
        written = write_if_changed(path, to_csv(y, x))
        print(
            f"{'wrote' if written else 'unchanged'} {path}: {len(y)} rows, "
            f"{x.shape[1]} features, label first (benign=1: {int(y.sum())}, "
            f"malignant=0: {int(len(y) - y.sum())})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

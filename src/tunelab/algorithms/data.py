"""SageMaker's training data formats, read from a channel directory: ``text/csv``
(label in the first column, no header; ``label_size=1``) and ``text/libsvm``
(``label index:value ...``). Every file of the channel is read (hidden files and
folders skipped, ``.gz`` files decompressed). A malformed row is a :class:`ClientError`
naming the channel, the file and the line, never a silently smaller dataset."""

from __future__ import annotations

import gzip
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.algorithms.runtime import ClientError, Environment

CSV, LIBSVM = "text/csv", "text/libsvm"
_LIBSVM_TYPES = ("text/libsvm", "text/x-libsvm")


@dataclass
class Dataset:
    """Rows of one channel: features (dense, or CSR for libsvm), labels, optional
    weights, and where each row came from (for messages)."""

    channel: str
    x: Any
    y: np.ndarray
    weights: np.ndarray | None
    origins: list[tuple[str, int, int]]
    """(file, first row index, number of rows) per file; ``lines`` maps rows to lines."""
    lines: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.y.shape[0])

    @property
    def features(self) -> int:
        return int(self.x.shape[1])

    def where(self, row: int) -> str:
        """``channel 'train', file a.csv, line 7`` for row ``row``."""
        for name, start, count in self.origins:
            if start <= row < start + count:
                return f"channel '{self.channel}', file {name}, line {int(self.lines[row])}"
        return f"channel '{self.channel}'"


def content_type(env: Environment, channel: str, default: str) -> tuple[str, dict[str, str]]:
    """The channel's ``ContentType`` (``default`` when absent): base type and parameters."""
    text = env.content_types.get(channel) or default
    base, *params = [part.strip() for part in text.split(";")]
    options = dict(p.split("=", 1) for p in params if "=" in p)
    base = base.lower()
    return (LIBSVM if base in _LIBSVM_TYPES else base), {
        k.strip(): v.strip() for k, v in options.items()
    }


def files(directory: Path, skip: Sequence[str] = ()) -> list[Path]:
    """The data files of a channel directory, sorted."""
    found = []
    for path in sorted(directory.rglob("*")):
        parts = path.relative_to(directory).parts
        if path.is_file() and not any(p.startswith(".") for p in parts) and path.name not in skip:
            found.append(path)
    return found


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield number, line.rstrip("\r\n")


def read_channel(
    env: Environment,
    channel: str,
    default_type: str,
    *,
    allow_missing: bool = False,
    weights: bool = False,
    skip: Sequence[str] = (),
    hint: str = "",
) -> Dataset | None:
    """The rows of ``channel`` (None when the job has no such channel).
    ``allow_missing``: empty CSV fields are NaN; ``weights``: the CSV column after the
    label holds instance weights; ``hint`` is added to format errors."""
    directory = env.channels.get(channel)
    if directory is None:
        return None
    kind, options = content_type(env, channel, default_type)
    if kind not in (CSV, LIBSVM):
        raise ClientError(f"channel '{channel}': content type {kind!r} cannot be read by tunelab")
    if options.get("label_size", "1") != "1":
        raise ClientError(f"channel '{channel}': training needs label_size=1 (the label first)")
    paths = files(directory, skip)
    blocks, origins, lines, start = [], [], [], 0
    for path in paths:
        name = str(path.relative_to(directory))
        where = f"channel '{channel}', file {name}"
        if kind == CSV:
            block, numbers = _read_csv(path, where, allow_missing, hint)
        else:
            block, numbers = _read_libsvm(path, where, hint)
        count = len(numbers)
        if count:
            blocks.append(block)
            origins.append((name, start, count))
            lines.append(numbers)
            start += count
    if not blocks:
        raise ClientError(f"channel '{channel}': no data rows in {directory}")
    numbers = np.concatenate(lines)
    if kind == LIBSVM:
        return _libsvm_dataset(channel, blocks, origins, numbers)
    widths = {b.shape[1] for b in blocks}
    if len(widths) > 1:
        first = next(
            o for o, b in zip(origins, blocks, strict=True) if b.shape[1] != blocks[0].shape[1]
        )
        raise ClientError(
            f"channel '{channel}', file {first[0]}: rows have {sorted(widths)[-1]} or "
            f"{sorted(widths)[0]} columns across the channel's files; all must have the same"
        )
    data = np.vstack(blocks)
    lead = 2 if weights else 1
    if data.shape[1] <= lead:
        raise ClientError(
            f"channel '{channel}': rows need a label{' and a weight' if weights else ''} and "
            f"at least one feature; got {data.shape[1]} column(s)"
        )
    labels = data[:, 0]
    missing = np.flatnonzero(np.isnan(labels))
    if missing.size:
        dataset = Dataset(channel, data, labels, None, origins, numbers)
        raise ClientError(f"{dataset.where(int(missing[0]))}: the label (first field) is empty")
    w = data[:, 1] if weights else None
    return Dataset(channel, data[:, lead:], labels, w, origins, numbers)


def _read_csv(
    path: Path, where: str, allow_missing: bool, hint: str
) -> tuple[np.ndarray, np.ndarray]:
    try:  # the fast path; any problem is found again, line by line, below
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = np.loadtxt(path, delimiter=",", ndmin=2, comments=None, dtype=np.float64)
        if data.size and np.all(np.isfinite(data)):
            numbers = np.array([n for n, _ in _text_lines(path)], dtype=np.int64)
            if len(numbers) == data.shape[0]:
                return data, numbers
    except (ValueError, OSError):
        pass
    rows, numbers, width = [], [], None
    for number, line in _text_lines(path):
        fields = line.split(",")
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            raise ClientError(
                f"{where}, line {number}: {len(fields)} fields, but the file's first row has "
                f"{width}{hint}"
            )
        rows.append([_field(text, i, f"{where}, line {number}", allow_missing, hint)
                     for i, text in enumerate(fields, 1)])  # fmt: skip
        numbers.append(number)
    return np.array(rows, dtype=np.float64).reshape(len(rows), width or 0), np.array(numbers)


def _field(text: str, index: int, where: str, allow_missing: bool, hint: str) -> float:
    text = text.strip()
    if not text:
        if allow_missing and index > 1:
            return math.nan
        raise ClientError(f"{where}: field {index} is empty{hint}")
    try:
        value = float(text)
    except ValueError:
        header = " (SageMaker's CSV has no header row)" if where.endswith("line 1") else ""
        message = f"{where}: field {index} {text[:40]!r} is not a number{header}{hint}"
        raise ClientError(message) from None
    if not math.isfinite(value) and not (allow_missing and math.isnan(value) and index > 1):
        raise ClientError(f"{where}: field {index} {text[:40]!r} is not a finite number{hint}")
    return value


def _read_libsvm(path: Path, where: str, hint: str) -> tuple[tuple, np.ndarray]:
    labels, indices, values, pointers, numbers = [], [], [], [0], []
    for number, line in _text_lines(path):
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            continue
        at = f"{where}, line {number}"
        try:
            labels.append(float(tokens[0].split(":")[0]))
        except ValueError:
            raise ClientError(
                f"{at}: the label {tokens[0][:40]!r} is not a number{hint}"
            ) from None
        for token in tokens[1:]:
            index, sep, value = token.partition(":")
            if index == "qid":
                continue
            try:
                if not sep or int(index) < 0:
                    raise ValueError(token)
                indices.append(int(index))
                values.append(float(value))
            except ValueError:
                raise ClientError(f"{at}: {token[:40]!r} is not index:value{hint}") from None
        pointers.append(len(indices))
        numbers.append(number)
    return (labels, indices, values, pointers), np.array(numbers, dtype=np.int64)


def _libsvm_dataset(
    channel: str, blocks: list[tuple], origins: list[tuple[str, int, int]], lines: np.ndarray
) -> Dataset:
    from scipy.sparse import csr_matrix

    labels, indices, values, pointers = [], [], [], [0]
    for block_labels, block_indices, block_values, block_pointers in blocks:
        offset = pointers[-1]
        labels += block_labels
        indices += block_indices
        values += block_values
        pointers += [offset + p for p in block_pointers[1:]]
    width = (max(indices) + 1) if indices else 1
    x = csr_matrix((values, indices, pointers), shape=(len(labels), width), dtype=np.float64)
    return Dataset(channel, x, np.array(labels, dtype=np.float64), None, origins, lines)


def same_features(train: Dataset, other: Dataset | None) -> Dataset | None:
    """``other`` with as many features as ``train`` (libsvm pads; CSV must agree)."""
    if other is None or other.features == train.features:
        return other
    if hasattr(train.x, "tocsr"):
        width = max(train.features, other.features)
        train.x.resize((train.rows, width))
        other.x.resize((other.rows, width))
        return other
    raise ClientError(
        f"channel '{other.channel}' has {other.features} features, channel '{train.channel}' "
        f"has {train.features}"
    )

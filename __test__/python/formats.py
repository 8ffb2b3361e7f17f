"""Reference files for the format tests, made the way SageMaker users make
them: numpy, scipy, pyarrow and the SageMaker Python SDK v2's RecordIO-protobuf
writer and reader.

    formats.py write <dir> <seed>
        Writes one random data set (float64, mixed magnitudes, about half of
        the feature values zero) in every format under <dir>/train, a smaller
        one under <dir>/holdout, request bodies under <dir>/serve and broken
        files under <dir>/hostile. Prints a JSON manifest.

    formats.py read-recordio <file>...
        Decodes each file with the SDK's read_records and prints
        {file: [{"label": {key: {"type": t, "values": [...]}}, "features": {...}}]}.
"""
import json
import logging
import os
import sys

# The SDK logs where it looked for its config files on stdout, which carries our JSON.
logging.getLogger("sagemaker.config").setLevel(logging.WARNING)

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse
from sagemaker.amazon.common import (
    _write_recordio,
    read_records,
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)
from sagemaker.amazon.record_pb2 import Record

LABEL = "y"
FEATURES = ["micro", "unit", "hundreds", "lakh", "cents", "offset"]
SCALES = np.array([1e-3, 1.0, 250.0, 1e5, 0.02, 7.5])
# One column far from zero, so centring matters.
SHIFTS = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1e4])
BETA = np.array([1200.0, -0.7, 0.004, 2e-5, 15.0, 0.3])
TRAIN_ROWS = 3000
HOLDOUT_ROWS = 400
SERVE_ROWS = 5
ROW_GROUP = 1000


def make(rng, rows):
    """Features with about half the entries zero (none all zero), and a noisy label."""
    x = rng.standard_normal((rows, len(FEATURES))) * SCALES + SHIFTS
    x[rng.random(x.shape) < 0.5] = 0.0
    empty = ~x.any(axis=1)
    x[empty, 1] = 1.0
    y = 3.0 + x @ BETA + 0.5 * rng.standard_normal(rows)
    return x, y


def csv_text(columns, header=None):
    lines = [] if header is None else [",".join(header)]
    lines += [",".join(repr(float(v)) for v in row) for row in zip(*columns)]
    return "\n".join(lines) + "\n"


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


def libsvm_text(x, y=None):
    lines = []
    for i, row in enumerate(x):
        cells = [f"{j + 1}:{float(v)!r}" for j, v in enumerate(row) if v != 0.0]
        if y is not None:
            cells.insert(0, repr(float(y[i])))
        lines.append(" ".join(cells))
    return "\n".join(lines) + "\n"


def write_dense(path, x, y=None):
    with open(path, "wb") as f:
        write_numpy_to_dense_tensor(f, x, y)


def write_sparse(path, x, y=None):
    with open(path, "wb") as f:
        write_spmatrix_to_sparse_tensor(f, scipy.sparse.csr_matrix(x), y)


def write_parquet(path, columns, names):
    table = pa.table({name: pa.array(column) for name, column in zip(names, columns)})
    pq.write_table(table, path, compression="snappy", row_group_size=ROW_GROUP)
    return pq.ParquetFile(path).num_row_groups


def write_set(folder, x, y):
    """The same rows in every format; returns what the manifest says about them."""
    os.makedirs(folder, exist_ok=True)
    columns = [y] + [x[:, j] for j in range(x.shape[1])]
    write_text(os.path.join(folder, "with-header.csv"), csv_text(columns, [LABEL] + FEATURES))
    write_text(os.path.join(folder, "no-header.csv"), csv_text(columns))
    write_text(os.path.join(folder, "features.csv"), csv_text(columns[1:]))
    write_dense(os.path.join(folder, "dense-f64.pbr"), x, y)
    write_dense(os.path.join(folder, "features-f64.pbr"), x)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    write_dense(os.path.join(folder, "dense-f32.pbr"), x32, y32)
    # float32 values widened to float64: repr of the widened value is exact.
    widened = [y32.astype(np.float64)] + [x32[:, j].astype(np.float64) for j in range(x.shape[1])]
    write_text(os.path.join(folder, "dense-f32-widened.csv"), csv_text(widened))
    write_sparse(os.path.join(folder, "sparse.pbr"), x, y)
    write_text(os.path.join(folder, "data.libsvm"), libsvm_text(x, y))
    groups = write_parquet(os.path.join(folder, "data.parquet"), columns, [LABEL] + FEATURES)
    # The label third, under another name: label_column=target.
    order = [1, 2, 0, 3, 4, 5, 6]
    names = [LABEL] + FEATURES
    write_parquet(
        os.path.join(folder, "target.parquet"),
        [columns[k] for k in order],
        ["target" if k == 0 else names[k] for k in order],
    )
    write_parquet(os.path.join(folder, "features.parquet"), columns[1:], FEATURES)
    return {"rows": len(y), "zeros": int((x == 0).sum()), "parquet_row_groups": groups}


def write_hostile(folder, x, y):
    """Broken files the SDK or pyarrow can make; the rest are cut by the tests."""
    os.makedirs(folder, exist_ok=True)
    good = Record()
    good.features["values"].float64_tensor.values.extend(x[0].tolist())
    good.label["values"].float64_tensor.values.append(float(y[0]))

    bytes_tensor = Record()
    bytes_tensor.features["values"].bytes.value.append(b"1.5,2.5,3.5")
    bytes_tensor.label["values"].float64_tensor.values.append(1.0)
    with open(os.path.join(folder, "bytes-tensor.pbr"), "wb") as f:
        _write_recordio(f, good.SerializeToString())
        _write_recordio(f, bytes_tensor.SerializeToString())

    sparse_good = Record()
    sparse_good.features["values"].float64_tensor.values.extend([1.5, 2.5])
    sparse_good.features["values"].float64_tensor.keys.extend([0, 3])
    sparse_good.features["values"].float64_tensor.shape.append(len(FEATURES))
    sparse_good.label["values"].float64_tensor.values.append(4.0)
    no_shape = Record()
    no_shape.features["values"].float64_tensor.values.extend([1.5, 2.5])
    no_shape.features["values"].float64_tensor.keys.extend([1, 4])
    no_shape.label["values"].float64_tensor.values.append(5.0)
    with open(os.path.join(folder, "sparse-no-shape.pbr"), "wb") as f:
        _write_recordio(f, sparse_good.SerializeToString())
        _write_recordio(f, no_shape.SerializeToString())

    names = [LABEL] + FEATURES
    columns = [y] + [x[:, j] for j in range(x.shape[1])]
    with_null = [pa.array(c) for c in columns]
    unit = columns[2].tolist()
    unit[1500] = None
    with_null[2] = pa.array(unit, type=pa.float64())
    pq.write_table(pa.table(dict(zip(names, with_null))), os.path.join(folder, "null.parquet"), row_group_size=ROW_GROUP)
    as_text = [pa.array(c) for c in columns]
    as_text[2] = pa.array([repr(float(v)) for v in columns[2]])
    pq.write_table(pa.table(dict(zip(names, as_text))), os.path.join(folder, "string.parquet"), row_group_size=ROW_GROUP)


def write(directory, seed):
    rng = np.random.default_rng(seed)
    x, y = make(rng, TRAIN_ROWS)
    hx, hy = make(rng, HOLDOUT_ROWS)
    manifest = {
        "label": LABEL,
        "features": FEATURES,
        "train": write_set(os.path.join(directory, "train"), x, y),
        "holdout": write_set(os.path.join(directory, "holdout"), hx, hy),
    }
    serve = os.path.join(directory, "serve")
    os.makedirs(serve, exist_ok=True)
    sx, sy = hx[:SERVE_ROWS], hy[:SERVE_ROWS]
    write_dense(os.path.join(serve, "dense.pbr"), sx)
    write_sparse(os.path.join(serve, "sparse.pbr"), sx)
    write_text(os.path.join(serve, "features.csv"), csv_text([sx[:, j] for j in range(sx.shape[1])]))
    write_text(os.path.join(serve, "labelled.libsvm"), libsvm_text(sx, sy))
    write_text(os.path.join(serve, "features.libsvm"), libsvm_text(sx))
    manifest["serve"] = {"rows": SERVE_ROWS, "zeros": int((sx == 0).sum())}
    write_hostile(os.path.join(directory, "hostile"), x, y)
    print(json.dumps(manifest))


def tensor(value):
    kind = value.WhichOneof("value")
    if kind == "bytes":
        return {"type": kind, "values": [v.decode("latin-1") for v in value.bytes.value]}
    t = getattr(value, kind)
    return {"type": kind, "values": list(t.values), "keys": list(t.keys), "shape": list(t.shape)}


def read(files):
    out = {}
    for name in files:
        with open(name, "rb") as f:
            records = read_records(f)
        out[name] = [
            {
                "label": {k: tensor(v) for k, v in r.label.items()},
                "features": {k: tensor(v) for k, v in r.features.items()},
            }
            for r in records
        ]
    print(json.dumps(out))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "write" and len(sys.argv) == 4:
        write(sys.argv[2], int(sys.argv[3]))
    elif command == "read-recordio" and len(sys.argv) > 2:
        read(sys.argv[2:])
    else:
        sys.exit(__doc__)

# Writes the RecordIO-protobuf fixtures of this folder with the SageMaker
# Python SDK's own writers, each beside a CSV of the same numbers (label
# first, every value as Python's repr of its float64 value, so parsing the CSV
# gives the same bits as widening the tensor's values).
#
# How it was run (from this folder):
#   python3 -m venv /tmp/rio-venv
#   /tmp/rio-venv/bin/pip install 'sagemaker<3' numpy scipy
#     (installed sagemaker 2.257.7, numpy 2.4.6, scipy 1.17.1, protobuf 6.33.6)
#   /tmp/rio-venv/bin/python make.py
#
# The output is deterministic: run it again and the files do not change.

import io
import os

import numpy as np
import scipy.sparse
from sagemaker.amazon.common import (
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)
from sagemaker.amazon.record_pb2 import Record
from sagemaker.serializer_utils import _write_recordio

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, data, rows):
    with open(os.path.join(HERE, name + ".pbr"), "wb") as f:
        f.write(data)
    with open(os.path.join(HERE, name + ".csv"), "w") as f:
        for row in rows:
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def dense(name, array, labels):
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, array, labels)
    if labels is None:
        rows = [list(a) for a in array]
    else:
        rows = [[l] + list(a) for l, a in zip(labels, array)]
    save(name, buffer.getvalue(), rows)


def sparse(name, matrix, labels):
    buffer = io.BytesIO()
    write_spmatrix_to_sparse_tensor(buffer, matrix, labels)
    full = matrix.toarray()
    rows = [[l] + list(a) for l, a in zip(labels, full)]
    save(name, buffer.getvalue(), rows)


rng = np.random.default_rng(20240607)

# float64 features and labels, with values whose bits matter.
x64 = rng.normal(size=(6, 4)) * np.array([1.0, 1e-3, 1e6, 1.0])
x64[0, 0] = 1.0 / 3.0
x64[1, 1] = -0.0
x64[2, 2] = 1e-300
x64[3, 3] = 1.7976931348623157e308
x64[4, 0] = 5e-324
y64 = rng.normal(size=6) * 10.0
dense("dense_f64", x64, y64)

# float32 features and labels: widened exactly.
x32 = (rng.normal(size=(5, 3)) * 100.0).astype(np.float32)
x32[0, 1] = np.float32(0.1)
x32[1, 2] = np.float32(3.4028235e38)
y32 = (rng.normal(size=5)).astype(np.float32)
dense("dense_f32", x32, y32)

# Python ints (numpy int64) are written as Int32 tensors.
xi = rng.integers(-1000, 1000, size=(4, 5))
xi[0, 0] = 2**31 - 1
xi[1, 1] = -(2**31)
yi = rng.integers(-50, 50, size=4)
dense("dense_i32", xi, yi)

# Features only (scoring input): no label map.
xs = rng.normal(size=(3, 2))
dense("dense_unlabelled", xs, None)

# Sparse float64 with float64 labels; row 2 has no non-zero values at all.
s64 = np.zeros((5, 7))
s64[0, 0] = 1.5
s64[0, 6] = -2.25
s64[1, 3] = 1e-7
s64[3, 1] = rng.normal()
s64[3, 2] = rng.normal()
s64[3, 5] = rng.normal()
s64[4, 6] = 42.0
ys64 = rng.normal(size=5)
sparse("sparse_f64", scipy.sparse.csr_matrix(s64), ys64)

# Sparse float32 features with int labels.
s32 = np.zeros((4, 9), dtype=np.float32)
s32[0, 8] = np.float32(0.3)
s32[1, 0] = np.float32(-7.5)
s32[1, 4] = np.float32(1e-20)
s32[3, 2] = np.float32(2.0)
ys32 = rng.integers(0, 3, size=4)
sparse("sparse_f32", scipy.sparse.csr_matrix(s32), ys32)

# Linear Learner's response shape: label["score"] as a one-value float32 tensor.
scores = [0.0, -1.5, 1.0 / 3.0, 123456.789, 1e-30]
buffer = io.BytesIO()
for score in scores:
    record = Record()
    record.label["score"].float32_tensor.values.extend([score])
    _write_recordio(buffer, record.SerializeToString())
save("scores", buffer.getvalue(), [[s] for s in scores])

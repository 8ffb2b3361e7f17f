"""
Wide data for the bench and its peers.

  wide_fit.py generate <features> <rows> <seed> <out.csv>
      Random integers in [-50, 50] and y = X·b + noise with one decimal
      (b_j = (j mod 7) - 3), label first, no header.
  wide_fit.py peers <csv> <model.json>
      numpy lstsq and scikit-learn LinearRegression on the same file, timed
      (read excluded), and the largest coefficient error of each, and of the
      model.json given, against an extended-precision reference.

The reference: numpy's QR of [1 X], then three steps of iterative refinement
with residuals in long double (x87, 64-bit significand) and the solution
carried in long double, so its own error is far below float64's.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are dropped before numpy loads, so
OpenBLAS picks its kernel for this CPU itself; which one it picked is reported.
"""
import json
import os
import sys
import time

for _name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_name, None)

import numpy as np  # noqa: E402

from common import emit  # noqa: E402


def generate(features, rows, seed, out):
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.integers(-50, 51, size=(rows, features), dtype=np.int64)
    beta = (np.arange(features) % 7 - 3).astype(np.float64)
    y = x @ beta + rng.integers(-50, 51, size=rows) / 10
    frame = pd.DataFrame(x)
    frame.insert(0, "y", y)
    frame.to_csv(out, header=False, index=False, float_format="%.1f")
    emit({"rows": rows, "features": features})


def reference(design, labels):
    from scipy.linalg import solve_triangular

    q, r = np.linalg.qr(design)
    beta = solve_triangular(r, q.T @ labels).astype(np.longdouble)
    wide = design.astype(np.longdouble)
    long_labels = labels.astype(np.longdouble)
    for _ in range(3):
        residual = long_labels - wide @ beta
        beta += solve_triangular(r, q.T @ residual.astype(np.float64)).astype(np.longdouble)
    return beta


def relative_error(beta, exact):
    scale = float(np.max(np.abs(exact)))
    return float(np.max(np.abs(np.asarray(beta, dtype=np.longdouble) - exact)) / scale)


def kernel():
    try:
        from threadpoolctl import threadpool_info

        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if blas:
            info = blas[0]
            return f"{info.get('internal_api')} {info.get('version')} {info.get('architecture')}, {info.get('num_threads')} threads"
    except ImportError:
        pass
    return "unknown"


def peers(csv, model_path):
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    frame = pd.read_csv(csv, header=None)
    labels = frame.iloc[:, 0].to_numpy(dtype=np.float64)
    features = frame.iloc[:, 1:].to_numpy(dtype=np.float64)
    del frame
    design = np.column_stack((np.ones(len(labels)), features))

    started = time.perf_counter()
    lstsq = np.linalg.lstsq(design, labels, rcond=None)[0]
    lstsq_seconds = time.perf_counter() - started

    started = time.perf_counter()
    model = LinearRegression().fit(features, labels)
    sklearn_seconds = time.perf_counter() - started
    sklearn = np.concatenate(([model.intercept_], model.coef_))

    exact = reference(design, labels)
    with open(model_path) as f:
        ours = json.load(f)
    emit(
        {
            "lstsqSeconds": lstsq_seconds,
            "sklearnSeconds": sklearn_seconds,
            "errors": {
                "ours": relative_error([ours["intercept"], *ours["coefficients"]], exact),
                "lstsq": relative_error(lstsq, exact),
                "sklearn": relative_error(sklearn, exact),
            },
            "kernel": kernel(),
        }
    )


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        peers(sys.argv[2], sys.argv[3])

"""
The path a Python user would take on a training CSV (label first, no header):
pandas.read_csv, then scikit-learn's LinearRegression; then numpy's lstsq on
the same loaded array. Times exclude interpreter start-up and imports.
Usage: train_sklearn.py <csv> [model.pkl to save the fitted model]
"""
import pickle
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from common import emit, peak_rss_mb


def main(csv, model_path=None):
    started = time.perf_counter()
    frame = pd.read_csv(csv, header=None)
    read = time.perf_counter()
    x = frame.iloc[:, 1:]
    y = frame.iloc[:, 0]
    model = LinearRegression().fit(x, y)
    fitted = time.perf_counter()
    # Peak RSS of read + fit alone, before lstsq adds its own copies.
    rss = peak_rss_mb()

    design = np.column_stack((np.ones(len(y)), x.to_numpy()))
    labels = y.to_numpy()
    solve_started = time.perf_counter()
    beta = np.linalg.lstsq(design, labels, rcond=None)[0]
    solved = time.perf_counter()

    if model_path:
        with open(model_path, "wb") as out:
            pickle.dump(model, out)
    emit(
        {
            "rows": len(labels),
            "readSeconds": read - started,
            "fitSeconds": fitted - read,
            "peakRssMb": rss,
            "lstsqSeconds": solved - solve_started,
            "sklearn": [float(model.intercept_), *map(float, model.coef_)],
            "lstsq": list(map(float, beta)),
        }
    )


if __name__ == "__main__":
    main(*sys.argv[1:])

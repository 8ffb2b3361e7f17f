"""
The scikit-learn path to a cross-validated lasso on a training CSV (label first,
no header): pandas.read_csv, then ElasticNetCV(l1_ratio=1, cv=5) over the same
grid shape linear uses for l1=auto (21 values over 4 decades). The data must
be held in memory; times exclude interpreter start-up and imports.
Usage: train_elasticnet_cv.py <csv>
"""
import sys
import time
import warnings

import pandas as pd
from sklearn.linear_model import ElasticNetCV

from common import emit, peak_rss_mb


def main(csv):
    started = time.perf_counter()
    frame = pd.read_csv(csv, header=None)
    read = time.perf_counter()
    x = frame.iloc[:, 1:].to_numpy()
    y = frame.iloc[:, 0].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # scikit-learn 1.7 took the grid size over from n_alphas into alphas.
        grid = {"alphas": 21} if "n_alphas" not in ElasticNetCV().get_params() else {"n_alphas": 21}
        model = ElasticNetCV(l1_ratio=1.0, eps=1e-4, cv=5, **grid).fit(x, y)
    fitted = time.perf_counter()
    emit(
        {
            "rows": len(y),
            "readSeconds": read - started,
            "fitSeconds": fitted - read,
            "peakRssMb": peak_rss_mb(),
            "alpha": float(model.alpha_),
        }
    )


if __name__ == "__main__":
    main(*sys.argv[1:])

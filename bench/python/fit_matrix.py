"""
numpy on the bench's in-memory matrix (row-major float64 files written by the
driver): lstsq and the normal equations, each with an intercept column, best
of up to 3 timed solves within about 2 s (the rule of bench/fit-matrix.ts).
Usage: fit_matrix.py <x.f64> <y.f64> <n> <p>
"""
import sys
import time

import numpy as np

from common import emit


MAX_REPEATS = 3
BUDGET_SECONDS = 2


def best_of(solve):
    """Repeats short solves, runs long ones once."""
    times = []
    while not times or (len(times) < MAX_REPEATS and sum(times) < BUDGET_SECONDS):
        started = time.perf_counter()
        beta = solve()
        times.append(time.perf_counter() - started)
    return min(times), beta


def main(x_file, y_file, n, p):
    n, p = int(n), int(p)
    x = np.fromfile(x_file, dtype="<f8").reshape(n, p)
    y = np.fromfile(y_file, dtype="<f8")
    design = np.column_stack((np.ones(n), x))
    del x
    lstsq_seconds, lstsq = best_of(lambda: np.linalg.lstsq(design, y, rcond=None)[0])
    normal_seconds, normal = best_of(lambda: np.linalg.solve(design.T @ design, design.T @ y))
    emit(
        {
            "lstsq": {"seconds": lstsq_seconds, "beta": list(map(float, lstsq))},
            "normal": {"seconds": normal_seconds, "beta": list(map(float, normal))},
        }
    )


if __name__ == "__main__":
    main(*sys.argv[1:])

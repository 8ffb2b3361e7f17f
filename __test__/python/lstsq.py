"""Reference least squares for the tests: numpy's lstsq (LAPACK gelsd) on a CSV
whose first column is the label, with an intercept. Prints JSON
{"intercept": b0, "coefficients": [...], "condition_number": ...}."""
import json
import sys

import numpy as np

data = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
y = data[:, 0]
design = np.hstack([np.ones((data.shape[0], 1)), data[:, 1:]])
solution, _, _, singular = np.linalg.lstsq(design, y, rcond=None)
print(json.dumps({
    "intercept": solution[0],
    "coefficients": solution[1:].tolist(),
    "condition_number": singular[0] / singular[-1],
}))

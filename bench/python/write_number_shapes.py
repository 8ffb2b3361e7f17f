"""
Blocks of training rows written the way users' files are: pandas `to_csv` of
float64 (shortest round-trip repr, up to 17 significant digits) and of float32
(up to 9 digits). p features, label first, no header, about <megabytes> MB.
Usage: write_number_shapes.py <out.csv> <doubles|float32> <megabytes> <features> <seed>
"""
import sys

import numpy as np
import pandas as pd


def main(out, shape, megabytes, features, seed):
    features = int(features)
    rng = np.random.default_rng(int(seed))
    # ~18 bytes a value as float64 text, ~10 as float32: rows to reach the size.
    per_value = 18 if shape == "doubles" else 10.5
    n = int(float(megabytes) * 1e6 / (per_value * (features + 1)))
    x = rng.normal(size=(n, features)) * rng.uniform(0.1, 100, size=features)
    y = x @ rng.normal(size=features) + rng.normal(size=n) + 3.0
    frame = pd.DataFrame(np.column_stack([y, x]))
    if shape == "float32":
        frame = frame.astype(np.float32)
    elif shape != "doubles":
        raise SystemExit(f"unknown shape {shape}")
    frame.to_csv(out, header=False, index=False)


if __name__ == "__main__":
    main(*sys.argv[1:])

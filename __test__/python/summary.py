"""statsmodels' regression summary as the reference for the summary statistics.

    summary.py make CASE DIR          writes DIR/train.csv (header row, label first) and prints the case's hyperparameters
    summary.py check CASE DIR MODEL   prints, as JSON, each statistic's relative difference from statsmodels

The cases are seeded, so make and check see the same data: OLS with an
intercept, WLS, OLS through the origin, and a channel too large for the rows
to be kept in memory (its residual diagnostics come from a second pass).
Test-only: never a product dependency.
"""

import json
import sys

import numpy as np

SEED = 20261205

CASES = {
    "ols": {"rows": 400, "hyperparameters": {}},
    "wls": {"rows": 400, "hyperparameters": {"weight_column": "w"}},
    "origin": {"rows": 400, "hyperparameters": {"fit_intercept": "false"}},
    # 10 values a row: past the 2^20 values whose rows are kept for the statistics.
    "large": {"rows": 120_000, "hyperparameters": {"residual_diagnostics": "exact"}},
}

FEATURES = ["rooms", "area", "age", "distance", "floor", "garden", "north", "lift", "view"]


def generate(case):
    rng = np.random.default_rng(SEED)
    n = CASES[case]["rows"]
    p = 9 if case == "large" else 4
    x = rng.normal(size=(n, p))
    x[:, 1] = 0.8 * x[:, 0] + 0.6 * x[:, 1]  # correlated with the first: a VIF well above 1
    x[:, 2] = 1000.0 + 40.0 * rng.uniform(size=n)  # an offset column
    x[:, 3] = rng.integers(0, 6, size=n)  # small integers
    beta = np.linspace(1.5, -0.5, p)
    # AR(1) noise with heavy-tailed, skewed innovations: Durbin-Watson, skew and kurtosis away from their normal values.
    innovations = rng.standard_t(5, size=n) + 0.5 * (rng.exponential(size=n) - 1.0)
    noise = np.empty(n)
    noise[0] = innovations[0]
    for i in range(1, n):
        noise[i] = 0.35 * noise[i - 1] + innovations[i]
    intercept = 0.0 if case == "origin" else 3.0
    y = intercept + x @ beta + noise
    weights = rng.uniform(0.2, 4.0, size=n) if case == "wls" else None
    return x, y, weights


def make(case, directory):
    x, y, weights = generate(case)
    names = FEATURES[: x.shape[1]]
    columns, header = [y[:, None], x], ["price", *names]
    if weights is not None:
        columns, header = [y[:, None], x, weights[:, None]], ["price", *names, "w"]
    data = np.hstack(columns)
    with open(f"{directory}/train.csv", "w") as f:
        f.write(",".join(header) + "\n")
        f.write("\n".join(",".join(repr(float(v)) for v in row) for row in data) + "\n")
    print(json.dumps(CASES[case]["hyperparameters"]))


def relative(ours, reference):
    """Largest relative difference; None where ours is missing (a failure for the test to name)."""
    ours, reference = np.atleast_1d(ours), np.atleast_1d(np.asarray(reference, float))
    if any(v is None for v in ours):
        return None
    ours = ours.astype(float)
    return float(np.max(np.abs(ours - reference) / np.maximum(np.abs(reference), 1e-300)))


def check(case, directory, model_file):
    import statsmodels.api as sm
    from statsmodels.stats.stattools import durbin_watson, jarque_bera, omni_normtest

    x, y, weights = generate(case)
    with open(model_file) as f:
        model = json.load(f)
    s = model["statistics"]
    constant = case != "origin"
    design = sm.add_constant(x) if constant else x
    if weights is None:
        ref = sm.OLS(y, design).fit()
    else:
        ref = sm.WLS(y, design, weights=weights).fit()
    # The summary's residual statistics are of the whitened residuals (√w·e for WLS).
    jb, jb_p, skew, kurtosis = jarque_bera(ref.wresid)
    omnibus, omnibus_p = omni_normtest(ref.wresid)
    intervals = ref.conf_int(0.05)

    def per_parameter(entry):
        values = entry["coefficients"]
        return [entry["intercept"], *values] if constant else values

    out = {
        "log_likelihood": relative(s.get("log_likelihood"), ref.llf),
        "aic": relative(s.get("aic"), ref.aic),
        "bic": relative(s.get("bic"), ref.bic),
        "conf_int_lower": relative(per_parameter(s["conf_int"]["lower"]), intervals[:, 0]) if s.get("conf_int") else None,
        "conf_int_upper": relative(per_parameter(s["conf_int"]["upper"]), intervals[:, 1]) if s.get("conf_int") else None,
        "p_values": relative(per_parameter(s["p_values"]), ref.pvalues),
        "vif": relative(s.get("vif") or [None], variance_inflation_factors(x, weights, constant)),
    }
    residuals = s.get("residuals") or {}
    out["residuals_source"] = residuals.get("source")
    out["residuals_rows"] = residuals.get("rows")
    for name, value in [
        ("skew", skew),
        ("kurtosis", kurtosis),
        ("omnibus", omnibus),
        ("omnibus_p_value", omnibus_p),
        ("jarque_bera", jb),
        ("jarque_bera_p_value", jb_p),
        ("durbin_watson", durbin_watson(ref.wresid)),
    ]:
        out[name] = relative(residuals.get(name), value)
    out["reference"] = {"durbin_watson": float(durbin_watson(ref.wresid)), "skew": float(skew), "kurtosis": float(kurtosis), "vif": variance_inflation_factors(x, weights, constant)}
    print(json.dumps(out))


def variance_inflation_factors(x, weights, constant):
    """1/(1 - R²) of each column regressed on the others (and the constant), by statsmodels' own regressions.

    Unweighted this is statsmodels' variance_inflation_factor on the design
    (uncentred R² through the origin, as the model has no constant); a
    weighted fit's are those of the weighted auxiliary regressions (WLS R²).
    """
    import statsmodels.api as sm
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    if weights is None:
        design = sm.add_constant(x) if constant else x
        start = 1 if constant else 0
        # The auxiliary regressions on the design as fitted; statsmodels >= 0.15
        # standardises the columns first unless told not to, which centres a
        # model through the origin.
        try:
            return [float(variance_inflation_factor(design, j, standardize=False)) for j in range(start, design.shape[1])]
        except TypeError:
            return [float(variance_inflation_factor(design, j)) for j in range(start, design.shape[1])]
    factors = []
    for j in range(x.shape[1]):
        others = sm.add_constant(np.delete(x, j, axis=1))
        r2 = sm.WLS(x[:, j], others, weights=weights).fit().rsquared
        factors.append(float(1.0 / (1.0 - r2)))
    return factors


if __name__ == "__main__":
    command, case, directory = sys.argv[1:4]
    if command == "make":
        make(case, directory)
    else:
        check(case, directory, sys.argv[4])

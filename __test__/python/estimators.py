"""Reference answers for the estimators, from independent libraries.

    estimators.py make CASE DIR          writes DIR/train.csv (header row, label first) and prints the case's settings
    estimators.py check CASE DIR MODEL   prints, as JSON, how the trained model compares with the references

Each case is seeded, so make and check see the same data. The references are
scikit-learn (ElasticNet, Lasso, LinearRegression(positive=True)), scipy's
nnls, statsmodels (WLS, OLS with cov_type HC0..HC3) and numpy (the fold-wise
cross-validation curve computed directly on the rows of each fold), plus KKT
conditions that need no library. Test-only: never a product dependency.
"""

import json
import sys

import numpy as np

SEED = 20261128


def generate(case):
    rng = np.random.default_rng(SEED)
    n, p = (600, 6) if case.endswith("_cv") else (2000, 8)
    shared = rng.normal(size=(n, 1))
    x = 0.6 * shared + rng.normal(size=(n, p))
    x[:, 1] = 1000.0 + 50.0 * x[:, 1]  # an offset column in other units
    beta = np.array([1.5, 0.004, 0.0, -2.0, 0.0, 0.7, 0.0, 3.0][:p])
    noise = rng.normal(size=n)
    if case.endswith("_cv"):
        noise *= 8.0  # noisy enough that the CV minimum is inside the grid
    if case.startswith("robust"):
        noise *= 0.3 + np.abs(x[:, 0])  # heteroskedastic
    y = 4.0 + x @ beta + noise
    weights = None
    if case == "weights":
        weights = rng.uniform(0.1, 5.0, size=n)
        weights[::97] = 0.0
    return x, y, weights


SETTINGS = {
    "lasso": {"l1": "0.1"},
    "elastic_net": {"l1": "0.05", "wd": "0.1"},
    "non_negative": {"non_negative": "true"},
    "weights": {"weight_column": "w"},
    "robust": {},
    "ridge_cv": {"l2": "auto", "cv_folds": "5"},
    "lasso_cv": {"l1": "auto", "cv_folds": "4"},
}


def make(case, directory):
    x, y, weights = generate(case)
    names = [f"x{j + 1}" for j in range(x.shape[1])]
    columns = [y[:, None], x]
    header = ["y", *names]
    if weights is not None:
        # The weight column sits among the features, as users' files have it.
        columns = [y[:, None], x[:, :2], weights[:, None], x[:, 2:]]
        header = ["y", *names[:2], "w", *names[2:]]
    data = np.hstack(columns)
    with open(f"{directory}/train.csv", "w") as f:
        f.write(",".join(header) + "\n")
        for row in data:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    print(json.dumps(SETTINGS[case]))


def relative(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def elastic_net_kkt(x, y, b0, b, l1, wd):
    """Largest violation of the elastic net's optimality conditions, relative to max |X'(y - ybar)|/n."""
    n = len(y)
    residual = y - b0 - x @ b
    gradient = x.T @ residual / n - wd * b  # the smooth part's negative gradient
    scale = np.max(np.abs(x.T @ (y - y.mean()) / n))
    active = b != 0
    violation = np.where(active, np.abs(gradient - l1 * np.sign(b)), np.maximum(0.0, np.abs(gradient) - l1))
    return float(max(np.max(violation), abs(residual.mean())) / scale)


def check(case, directory, model_file):
    from sklearn.linear_model import ElasticNet, Lasso, LinearRegression

    x, y, weights = generate(case)
    with open(model_file) as f:
        model = json.load(f)
    b0, b = model["intercept"], np.array(model["coefficients"], float)
    out = {}
    if case in ("lasso", "elastic_net"):
        l1, wd = float(SETTINGS[case]["l1"]), float(SETTINGS[case].get("wd", 0))
        alpha = l1 + wd
        if wd == 0:
            ref = Lasso(alpha=l1, tol=1e-14, max_iter=1_000_000).fit(x, y)
        else:
            ref = ElasticNet(alpha=alpha, l1_ratio=l1 / alpha, tol=1e-14, max_iter=1_000_000).fit(x, y)
        out["coefficients"] = relative(b, ref.coef_)
        out["intercept"] = abs(b0 - ref.intercept_) / max(abs(ref.intercept_), 1.0)
        out["kkt"] = elastic_net_kkt(x, y, b0, b, l1, wd)
        out["zeros"] = int(np.sum(b == 0))
        out["reference_zeros"] = int(np.sum(ref.coef_ == 0))
    elif case == "non_negative":
        from scipy.optimize import nnls

        xc, yc = x - x.mean(axis=0), y - y.mean()
        coef, _ = nnls(xc, yc, maxiter=10_000)
        out["coefficients"] = relative(b, coef)
        out["intercept"] = abs(b0 - (y.mean() - x.mean(axis=0) @ coef)) / abs(y.mean())
        sk = LinearRegression(positive=True).fit(x, y)
        out["sklearn"] = relative(b, sk.coef_)
        out["at_bound"] = [bool(c == 0) for c in coef]
    elif case == "weights":
        import statsmodels.api as sm

        keep = weights > 0
        design = sm.add_constant(x[keep])
        ref = sm.WLS(y[keep], design, weights=weights[keep]).fit()
        s = model["statistics"]
        out["coefficients"] = relative([b0, *b], ref.params)
        out["std_errors"] = relative([s["std_errors"]["intercept"], *s["std_errors"]["coefficients"]], ref.bse)
        out["r_squared"] = abs(s["r_squared"] - ref.rsquared)
        out["n"] = int(keep.sum())
        residual = y - b0 - x @ b
        out["weighted_mse"] = float(np.sum(weights * residual**2) / np.sum(weights))
    elif case == "robust":
        import statsmodels.api as sm

        kind = model["statistics"]["covariance_type"]
        ref = sm.OLS(y, sm.add_constant(x)).fit(cov_type=kind, use_t=True)
        s = model["statistics"]
        out["coefficients"] = relative([b0, *b], ref.params)
        out["std_errors"] = relative([s["std_errors"]["intercept"], *s["std_errors"]["coefficients"]], ref.bse)
        out["p_values"] = relative([s["p_values"]["intercept"], *s["p_values"]["coefficients"]], ref.pvalues)
        out["f_statistic"] = abs(s["f_statistic"] - float(ref.fvalue)) / float(ref.fvalue)
    elif case in ("ridge_cv", "lasso_cv"):
        cv = model["cv"]
        folds, grid = cv["folds"], np.array(cv["grid"], float)
        fold_of = np.arange(len(y)) % folds
        curve = np.zeros(len(grid))
        for g, value in enumerate(grid):
            for f in range(folds):
                train, held = fold_of != f, fold_of == f
                xt, yt = x[train], y[train]
                if case == "ridge_cv":
                    xm, ym = xt.mean(axis=0), yt.mean()
                    xc = xt - xm
                    coef = np.linalg.solve(xc.T @ xc + value * np.eye(x.shape[1]), xc.T @ (yt - ym))
                    intercept = ym - xm @ coef
                else:
                    fitted = Lasso(alpha=value, tol=1e-14, max_iter=1_000_000).fit(xt, yt)
                    coef, intercept = fitted.coef_, fitted.intercept_
                residual = y[held] - intercept - x[held] @ coef
                curve[g] += np.mean(residual**2) / folds
        out["mse"] = relative(cv["mse"], curve)
        out["argmin"] = int(np.argmin(curve))
        out["chosen_index"] = int(np.flatnonzero(grid == cv["chosen"])[0]) if np.any(grid == cv["chosen"]) else -1
        out["grid_size"] = len(grid)
        # The model is the refit on all rows with the chosen penalty.
        chosen = cv["chosen"]
        if case == "ridge_cv":
            from sklearn.linear_model import Ridge

            out["fitted_penalty"] = model["l2"] == chosen
            ref = Ridge(alpha=chosen, solver="cholesky").fit(x, y)
        else:
            out["fitted_penalty"] = model["l1"] == chosen
            ref = Lasso(alpha=chosen, tol=1e-14, max_iter=1_000_000).fit(x, y)
        out["coefficients"] = relative(b, ref.coef_)
    print(json.dumps(out))


if __name__ == "__main__":
    command, case, directory = sys.argv[1:4]
    if command == "make":
        make(case, directory)
    else:
        check(case, directory, sys.argv[4])

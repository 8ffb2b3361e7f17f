"""Prints the versions of the bench's Python peers as JSON (null where one does not import)."""
import importlib
import json
import platform

MODULES = {
    "numpy": "numpy",
    "pandas": "pandas",
    "scikit-learn": "sklearn",
    "polars": "polars",
    "pyarrow": "pyarrow",
    "flask": "flask",
    "gunicorn": "gunicorn",
    "sagemaker": "sagemaker",
}
# Importing these takes seconds and prints to stdout; their installed version is enough.
NOT_IMPORTED = {"sagemaker"}


def version_of(module_name):
    if module_name in NOT_IMPORTED:
        from importlib.metadata import PackageNotFoundError, version
        from importlib.util import find_spec

        try:
            return version(module_name) if find_spec(module_name) is not None else None
        except PackageNotFoundError:
            return None
    try:
        module = importlib.import_module(module_name)
    except Exception:
        return None
    if module_name == "flask":
        # Flask 3 deprecates its __version__ attribute.
        from importlib.metadata import version

        return version("flask")
    return getattr(module, "__version__", "unknown")


def blas():
    """numpy's BLAS decides the lstsq and normal-equation timings, so it is part of the record."""
    try:
        from threadpoolctl import threadpool_info

        import numpy  # noqa: F401  (loads the BLAS that threadpoolctl reports)
    except Exception:
        return None
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return ", ".join(
        f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, {p.get('num_threads')} threads)" for p in pools
    ) or None


print(json.dumps({"python": platform.python_version(), "packages": {n: version_of(m) for n, m in MODULES.items()}, "blas": blas()}))

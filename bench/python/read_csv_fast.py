"""
The fastest-parser references: polars' and pyarrow's multi-threaded CSV
readers load the training CSV into columns of float64 (no fit).
Usage: read_csv_fast.py <csv> <columns> <polars|pyarrow>...
"""
import sys
import time

from common import emit


def with_polars(csv, columns):
    import polars as pl

    schema = {f"c{i}": pl.Float64 for i in range(columns)}
    started = time.perf_counter()
    frame = pl.read_csv(csv, has_header=False, schema=schema)
    return time.perf_counter() - started, frame.height


def with_pyarrow(csv, columns):
    import pyarrow as pa
    from pyarrow import csv as pacsv

    names = [f"c{i}" for i in range(columns)]
    started = time.perf_counter()
    table = pacsv.read_csv(
        csv,
        read_options=pacsv.ReadOptions(column_names=names),
        convert_options=pacsv.ConvertOptions(column_types={name: pa.float64() for name in names}),
    )
    return time.perf_counter() - started, table.num_rows


READERS = {"polars": with_polars, "pyarrow": with_pyarrow}


def main(csv, columns, *readers):
    result = {}
    for name in readers:
        seconds, rows = READERS[name](csv, int(columns))
        result[name] = {"seconds": seconds, "rows": rows}
    emit(result)


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Writes the Parquet fixtures of native/core/src/decode/parquet.rs, each data
file beside a CSV of the same numbers (label first, floats as Python's repr,
integers as their decimal text), so the tests can check that both formats
decode to bit-identical rows.

Run from this directory with pyarrow 26.0.1 and numpy:
    python3 -m venv /tmp/pq-venv && /tmp/pq-venv/bin/pip install pyarrow numpy
    /tmp/pq-venv/bin/python make.py
The output is deterministic for a given pyarrow version (fixed seeds).
"""

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def cell(value):
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(float(value))


def write_csv(path, table, order=None):
    names = order or table.column_names
    columns = [table.column(name).to_pylist() for name in names]
    with open(path, "w") as out:
        out.write(",".join(names) + "\n")
        for row in zip(*columns):
            out.write(",".join(cell(v) for v in row) + "\n")


def write(name, table, **options):
    pq.write_table(table, name, **options)


rng = np.random.default_rng(20240601)

# Doubles with awkward values: signed zero, a subnormal, the largest double,
# decimals that are not exact in binary, wide exponents.
n = 40
y = rng.normal(size=n) * 1e3
x1 = rng.normal(size=n)
x2 = np.exp(rng.uniform(-40, 40, size=n)) * rng.choice([-1.0, 1.0], size=n)
x3 = np.round(rng.uniform(-5, 5, size=n), 2)
x1[0], x1[1], x1[2], x1[3] = -0.0, 5e-324, 1.7976931348623157e308, 0.1
x3[4] = 2.2250738585072014e-308
doubles = pa.table({"y": y, "x1": x1, "x2": x2, "x3": x3})
write("double_snappy.parquet", doubles)
write("double_zstd.parquet", doubles, compression="zstd")
write("double_gzip.parquet", doubles, compression="gzip", data_page_version="2.0")
write("double_lz4.parquet", doubles, compression="lz4")
write("double_none.parquet", doubles, compression="none", use_dictionary=False)
write_csv("double.csv", doubles)

# Brotli is not compiled in: refused by name.
write("brotli.parquet", doubles, compression="brotli")

# Many row groups of many small pages, REQUIRED (non-nullable) columns.
m = 200
schema = pa.schema([pa.field(c, pa.float64(), nullable=False) for c in ["label", "a", "b"]])
groups = pa.table(
    {
        "label": rng.normal(size=m),
        "a": np.arange(m, dtype=np.float64) * 0.5,
        "b": rng.uniform(-1, 1, size=m),
    },
    schema=schema,
)
write("row_groups.parquet", groups, row_group_size=48, data_page_size=128, use_dictionary=False)
write_csv("row_groups.csv", groups)

# Every numeric type that is read.
k = 12
big = [0, 1, -1, 2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63), 123456789012345678, 7, -7, 2**62 + 3, 42]
ubig = [0, 1, 2**64 - 1, 2**63 + 12345, 2**53 + 1, 9, 10, 11, 12, 13, 2**32, 99]
mixed = pa.table(
    {
        "y": pa.array(rng.normal(size=k), pa.float64()),
        "f32": pa.array(np.float32(rng.normal(size=k)) * np.float32(1e-3), pa.float32()),
        "i32": pa.array([0, 1, -1, 2**31 - 1, -(2**31), 5, 6, 7, 8, 9, 10, 11], pa.int32()),
        "i64": pa.array(big, pa.int64()),
        "i8": pa.array([-128, 127, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9], pa.int8()),
        "u16": pa.array([65535, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], pa.uint16()),
        "u32": pa.array([2**32 - 1, 2**31, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9], pa.uint32()),
        "u64": pa.array(ubig, pa.uint64()),
        "flag": pa.array([True, False] * 6, pa.bool_()),
    }
)
write("mixed_types.parquet", mixed)
write_csv("mixed_types.csv", mixed)

# The label in the middle, named.
label_middle = pa.table({"x1": rng.normal(size=10), "target": rng.normal(size=10), "x2": rng.normal(size=10)})
write("label_middle.parquet", label_middle)
write_csv("label_middle.csv", label_middle, order=["target", "x1", "x2"])

# Dictionary-encoded columns: an Arrow dictionary of doubles and repeated values.
d = 30
dictionary = pa.table(
    {
        "y": pa.array(np.tile([1.5, -2.25, 3.0], d // 3), pa.float64()),
        "level": pa.DictionaryArray.from_arrays(
            pa.array(np.tile([0, 1, 2, 1, 0], d // 5), pa.int32()), pa.array([0.1, 0.2, 0.3])
        ),
        "count": pa.array(np.tile([10, 20], d // 2), pa.int64()),
    }
)
write("dictionary.parquet", dictionary, use_dictionary=True)
write_csv("dictionary.csv", dictionary.cast(pa.schema([("y", pa.float64()), ("level", pa.float64()), ("count", pa.int64())])))

# A null in row 7 (the second row group), column 3.
nulls = pa.table({"y": np.arange(10.0), "x1": np.arange(10.0) * 2, "x2": pa.array([1.0] * 6 + [None] + [2.0] * 3)})
write("null.parquet", nulls, row_group_size=4)

# NaN in row 5, column 2.
nan = pa.table({"y": np.arange(6.0), "x1": [1.0, 2.0, 3.0, 4.0, float("nan"), 6.0]})
write("nan.parquet", nan)

# Columns that are not numbers, or not flat.
write("string.parquet", pa.table({"y": [1.0, 2.0], "city": ["Oslo", "Lima"]}))
write("decimal.parquet", pa.table({"y": [1.0, 2.0], "price": pa.array([Decimal("1.25"), Decimal("2.50")], pa.decimal128(10, 2))}))
write("date.parquet", pa.table({"y": [1.0, 2.0], "day": pa.array([19000, 19001], pa.date32())}))
write("list.parquet", pa.table({"y": [1.0, 2.0], "xs": pa.array([[1.0, 2.0], [3.0]], pa.list_(pa.float64()))}))
write("struct.parquet", pa.table({"y": [1.0, 2.0], "point": pa.array([{"a": 1.0}, {"a": 2.0}])}))

# No rows at all.
write("empty.parquet", pa.table({"y": pa.array([], pa.float64()), "x1": pa.array([], pa.float64())}))

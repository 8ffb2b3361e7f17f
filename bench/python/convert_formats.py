"""
Writes the rows of a training CSV (label first, no header) in the other input
formats a SageMaker user has, each with the tool that user would write it with:

  csv.gz    Python's gzip module at level 6 (the gzip command's default), one member
  libsvm    scikit-learn's dump_svmlight_file, 1-based indices (LIBSVM's convention)
  recordio  the SageMaker Python SDK's write_numpy_to_dense_tensor: one
            RecordIO-protobuf record per row, float64 features and label
  parquet   pyarrow's ParquetWriter, snappy, default row-group size

The CSV is whole copies of a generated block and then a prefix of it (see
bench/lib/data.ts). The record writers are slow in Python, so each format
converts the block's rows once and repeats them the same way, which gives the
same rows in the same order as the CSV; gzip compresses the CSV itself.

Usage: convert_formats.py <block.csv> <target.csv> <format>=<out path>...
Each output is written to <out path>.tmp and renamed when complete. A format
that fails is reported in the JSON answer; the others are still written.
"""
import contextlib
import gzip
import io
import os
import struct
import sys
import time
import traceback

from common import emit

CHUNK = 16 << 20
GZIP_LEVEL = 6
RECORDIO_MAGIC = 0xCED7230A


def count_lines(path):
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            lines += chunk.count(b"\n")
    return lines


def line_prefix(data, lines):
    """The bytes of the first `lines` lines of `data`."""
    end = 0
    for _ in range(lines):
        end = data.index(b"\n", end) + 1
    return data[:end]


def check_repeats(target, unit, copies, rest):
    """The target must be `copies` whole units then the first `rest` lines of one: else the formats would hold other rows."""
    tail = line_prefix(unit, rest)
    with open(target, "rb") as f:
        for i in range(copies):
            if f.read(len(unit)) != unit:
                raise ValueError(f"{target} is not whole copies of its block (copy {i + 1} differs)")
        if f.read(len(tail) + 1) != tail:
            raise ValueError(f"{target} does not end with a prefix of its block")


def parse(unit_csv):
    """The unit's rows as float64, each value correctly rounded from its decimal text (Arrow parses with fast_float)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    columns = unit_csv[: unit_csv.index(b"\n")].count(b",") + 1
    names = [f"c{i}" for i in range(columns)]
    table = pacsv.read_csv(
        io.BytesIO(unit_csv),
        read_options=pacsv.ReadOptions(column_names=names),
        convert_options=pacsv.ConvertOptions(column_types={name: pa.float64() for name in names}),
    )
    return table.to_pandas().to_numpy(dtype="float64")


def recordio_prefix(data, records):
    """Bytes of the first `records` RecordIO records: magic, length (low 29 bits), payload padded to 4 bytes."""
    offset = 0
    for _ in range(records):
        magic, header = struct.unpack_from("<II", data, offset)
        if magic != RECORDIO_MAGIC:
            raise ValueError(f"no RecordIO magic at byte {offset}")
        length = header & ((1 << 29) - 1)
        offset += 8 + length + (-length % 4)
    return data[:offset]


def libsvm_unit(matrix):
    from sklearn.datasets import dump_svmlight_file

    buffer = io.BytesIO()
    dump_svmlight_file(matrix[:, 1:], matrix[:, 0], buffer, zero_based=False)
    return buffer.getvalue()


def recordio_unit(matrix):
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    # The SDK logs its config lookup to stdout on import; stdout is the JSON answer.
    with contextlib.redirect_stdout(sys.stderr):
        from sagemaker.amazon.common import write_numpy_to_dense_tensor

    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, matrix[:, 1:].copy(), matrix[:, 0].copy())
    return buffer.getvalue()


def write_repeated(out, unit, prefix, copies):
    with open(out, "wb") as f:
        for _ in range(copies):
            f.write(unit)
        f.write(prefix)


def write_parquet(out, matrix, copies, rest):
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = ["label"] + [f"x{j}" for j in range(1, matrix.shape[1])]
    table = pa.table({name: matrix[:, j] for j, name in enumerate(names)})
    with pq.ParquetWriter(out, table.schema, compression="snappy") as writer:
        for _ in range(copies):
            writer.write_table(table)
        if rest:
            writer.write_table(table.slice(0, rest))


def write_gzip(out, target):
    with open(target, "rb") as source, open(out, "wb") as raw:
        # mtime=0 and no file name: the same CSV always gives the same bytes.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0) as f:
            while chunk := source.read(CHUNK):
                f.write(chunk)


def main(block, target, *requests):
    started = time.perf_counter()
    outputs = dict(request.split("=", 1) for request in requests)
    unknown = set(outputs) - {"csv.gz", "libsvm", "recordio", "parquet"}
    if unknown:
        raise SystemExit(f"unknown format(s) {', '.join(sorted(unknown))}")
    rows = count_lines(target)
    with open(block, "rb") as f:
        block_bytes = f.read()
    unit_rows = min(rows, block_bytes.count(b"\n"))
    unit_csv = line_prefix(block_bytes, unit_rows)
    copies, rest = divmod(rows, unit_rows)
    check_repeats(target, unit_csv, copies, rest)
    matrix = parse(unit_csv) if set(outputs) - {"csv.gz"} else None
    if matrix is not None and matrix.shape[0] != unit_rows:
        raise ValueError(f"parsed {matrix.shape[0]} rows of the block, expected {unit_rows}")

    def record_format(make_unit, prefix_of):
        def write(out):
            unit = make_unit(matrix)
            write_repeated(out, unit, prefix_of(unit, rest), copies)

        return write

    writers = {
        "csv.gz": lambda out: write_gzip(out, target),
        "libsvm": record_format(libsvm_unit, line_prefix),
        "recordio": record_format(recordio_unit, recordio_prefix),
        "parquet": lambda out: write_parquet(out, matrix, copies, rest),
    }
    results = {}
    for name, out in outputs.items():
        began = time.perf_counter()
        tmp = f"{out}.tmp"
        try:
            writers[name](tmp)
            os.replace(tmp, out)
            results[name] = {"ok": True, "seconds": time.perf_counter() - began, "bytes": os.path.getsize(out)}
        except Exception as error:  # one format failing must not stop the others
            traceback.print_exc(file=sys.stderr)
            if os.path.exists(tmp):
                os.remove(tmp)
            results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    emit({"rows": rows, "unitRows": unit_rows, "copies": copies, "rest": rest, "seconds": time.perf_counter() - started, "formats": results})


if __name__ == "__main__":
    main(*sys.argv[1:])

#!/usr/bin/env bash
# Test-only Python virtualenvs (never product dependencies), made before the
# tests run (npm test's pretest) so no test waits minutes for pip:
#   __test__/.venv          numpy (reference answers for wide fits)
#   __test__/.venv/formats  numpy, scipy, pyarrow and the SageMaker Python SDK v2,
#                           whose sagemaker.amazon.common writes and reads real
#                           RecordIO-protobuf (v3 moved those serializers)
#   __test__/.venv/estimators  numpy, scipy, scikit-learn and statsmodels
#                           (reference estimators)
#   __test__/.venv/botocore botocore, whose SageMaker service model checks
#                           `linear describe` as a CreateAlgorithm request,
#                           and regex for the model's \p{L} patterns
# Idempotent: a venv whose imports work is left as it is. A venv that cannot be
# made is reported here and its tests are skipped with the reason; this script
# itself never fails the run.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SAGEMAKER_SUPPRESS_V2_WARNING=1

ensure() { # ensure DIR IMPORTS PACKAGE...
  local dir=$1 imports=$2; shift 2
  if [[ -x $dir/bin/python ]] && "$dir/bin/python" -c "$imports" >/dev/null 2>&1; then return 0; fi
  echo "[test-python] making $dir ($*)" >&2
  if ! python3 -m venv "$dir" \
    || ! "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --retries 1 --timeout 30 "$@" \
    || ! "$dir/bin/python" -c "$imports"; then
    echo "[test-python] warning: $dir could not be made; the tests that need it are skipped" >&2
  fi
}

ensure "$ROOT/__test__/.venv" 'import numpy' numpy
ensure "$ROOT/__test__/.venv/formats" \
  'import numpy, scipy.sparse, pyarrow.parquet; from sagemaker.amazon.common import read_records, write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor' \
  numpy scipy pyarrow 'sagemaker<3'
ensure "$ROOT/__test__/.venv/estimators" \
  'import numpy, scipy.optimize, sklearn.linear_model, statsmodels.api' \
  numpy scipy scikit-learn statsmodels
ensure "$ROOT/__test__/.venv/botocore" 'import botocore.session, botocore.validate, regex' botocore regex
exit 0

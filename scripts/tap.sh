# TAP-like reporting for the Docker tests (sourced): "ok - name" / "not ok - name"
# lines with indented details, and "# pass N" / "# fail M" at the end.
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
not_ok() {
  FAIL=$((FAIL + 1)); echo "not ok - $1"
  shift
  local line
  for line in "$@"; do printf '%s\n' "$line" | sed 's/^/#   /'; done
}
check() { # check NAME DETAIL... -- COMMAND...: ok when COMMAND succeeds
  local name=$1; shift
  local details=()
  while [[ $# -gt 0 && $1 != -- ]]; do details+=("$1"); shift; done
  shift
  if "$@"; then ok "$name"; else not_ok "$name" "${details[@]}"; fi
}
note() { echo "# $*"; }
finish() {
  echo "1..$((PASS + FAIL))"
  echo "# pass $PASS"
  echo "# fail $FAIL"
  exit $((FAIL > 0 ? 1 : 0))
}

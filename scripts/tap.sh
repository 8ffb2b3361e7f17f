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
# A command failing outside any check stops the script (set -e): remember
# where, so the EXIT trap can report it as a failure (see unfinished).
set -E
trap '[[ $- == *e* ]] && TAP_STOPPED_AT="line $LINENO: $BASH_COMMAND"' ERR
unfinished() { # in the EXIT trap: a run that ends before finish still reports a failure and the counts
  [[ ${TAP_FINISHED:-0} == 1 ]] && return 0
  not_ok "the test script stopped before its end (${TAP_STOPPED_AT:-exit status $1})"
  TAP_FINISHED=1
  echo "1..$((PASS + FAIL))"
  echo "# pass $PASS"
  echo "# fail $FAIL"
}
finish() {
  TAP_FINISHED=1
  echo "1..$((PASS + FAIL))"
  echo "# pass $PASS"
  echo "# fail $FAIL"
  exit $((FAIL > 0 ? 1 : 0))
}

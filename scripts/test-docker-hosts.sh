#!/usr/bin/env bash
# Multi-host training, end to end in Docker: the part of scripts/test-docker.sh
# that runs several containers of the image as the hosts of one training job.
#
#   (sourced by scripts/test-docker.sh after its own checks)
#   IMAGE=linear bash scripts/test-docker-hosts.sh     (alone, on an existing image)
#
# Each case gets a private network (docker network create, labelled with the
# run's label) and one container per host, named by --hostname and
# --network-alias algo-N, each with its own /opt/ml tree under the temp dir
# (resourceconfig.json naming the hosts, inputdataconfig.json with the
# train channel's S3DistributionType). The hosts run detached, at once, and are
# waited for with a deadline. Every successful job is compared with a 1-host
# run of the same image on all the files: the leader's model.json must be the
# same JSON in every field but "training" and the residual diagnostics
# (statistics.residuals: on several hosts, from the leader's sample of its rows).
#
#   1. sharded over 3 hosts, unequal shards, algo-2's shard empty (small data,
#      extended-precision path; files interleaved across the hosts)
#   2. sharded over 3 hosts, ~400k rows (more than 2^20 values: the one-pass f64 path)
#   3. sharded over 2 hosts, the leader's shard empty, not even a train dir
#      (LINEAR_CLUSTER_PORT=7500)
#   4. replicated over 3 hosts: the hosts split the files, each reads a share
#      (resourceconfig.json lists the hosts unsorted: the leader is still algo-1)
#   5. the workers start 12 s before the leader (its name resolves late)
#   6. a worker SIGKILLed (docker kill) while it reads: the others fail naming it
#   7. a worker frozen (docker pause) while it reads: the others fail naming it
#   8. a worker SIGKILLed while it waits for the leader: the others fail within 10 s
#
# Sourced, it uses the caller's DOCKER, IMAGE, TMP, RUN_ID, ROOT and its
# ok/not_ok/check/note functions and counters; it chains its own cleanup
# (containers, then networks) before the caller's `cleanup` on EXIT. Alone, it
# defines them itself and ends with the "# pass N" / "# fail M" lines.
#
# Environment:
#   LINEAR_DOCKER_HOSTS=0    skip the multi-host cases
#   HOSTS_LIB_ONLY=1         define the functions only (scripts/bench-hosts.sh)
set -euo pipefail

# -------------------------------------------------- alone: the caller's part ----
if ! declare -F not_ok >/dev/null; then
  HOSTS_STANDALONE=1
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  IMAGE=${IMAGE:-linear}
  RUN_ID="linear-hosts-$$"
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/linear-hosts.XXXXXX")
  if [[ -x /usr/bin/docker ]] && /usr/bin/docker info >/dev/null 2>&1; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
  # shellcheck source=scripts/tap.sh
  source "$ROOT/scripts/tap.sh"
  cleanup() {
    local status=$?
    [[ ${HOSTS_LIB_ONLY:-0} == 1 ]] || unfinished "$status"
    if ! rm -rf "$TMP" 2>/dev/null; then
      $DOCKER run --rm -v "$TMP:/t" --entrypoint sh "$IMAGE" -c 'rm -rf /t/* /t/.[!.]*' >/dev/null 2>&1 || true
      rm -rf "$TMP" 2>/dev/null || true
    fi
  }
else
  HOSTS_STANDALONE=0
fi

HT="$TMP/hosts"      # everything of this file: data, trees, logs
mkdir -p "$HT"

# This run's containers (a paused one is thawed first: some engines refuse to
# remove it), then its networks; never fails, so it is safe in an EXIT trap.
# shellcheck disable=SC2086 # $ids: one id a word
hosts_cleanup() {
  local ids
  ids=$($DOCKER ps -q --filter "label=$RUN_ID" --filter status=paused 2>/dev/null || true)
  [[ -n $ids ]] && { $DOCKER unpause $ids >/dev/null 2>&1 || true; }
  ids=$($DOCKER ps -aq --filter "label=$RUN_ID" 2>/dev/null || true)
  [[ -n $ids ]] && { $DOCKER rm -f $ids >/dev/null 2>&1 || true; }
  ids=$($DOCKER network ls -q --filter "label=$RUN_ID" 2>/dev/null || true)
  [[ -n $ids ]] && { $DOCKER network rm $ids >/dev/null 2>&1 || true; }
  return 0
}
trap 'hosts_cleanup; cleanup' EXIT

# ------------------------------------------------------------------ helpers ----
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; } # secs FROM TO
json_list() { local out='' h; for h in "$@"; do out+="${out:+,}\"$h\""; done; echo "[$out]"; }

# hosts_data NAME [--p P] [--seed S] FILE:ROWS...: generated CSV files in
# $HT/data/NAME; prints nothing, "NAME ROWS BYTES" lines go to $HT/data/NAME.rows.
hosts_data() {
  local name=$1; shift
  local opts=()
  while [[ $# -gt 0 && $1 == --* ]]; do opts+=("$1" "$2"); shift 2; done
  mkdir -p "$HT/data"
  node "$ROOT/scripts/gen-csv.js" "${opts[@]}" "$HT/data/$name" "$@" >"$HT/data/$name.rows"
}
# rows_of DATA FILE... : the data rows of those generated files, summed
rows_of() {
  local data=$1; shift
  awk -v want=" $* " 'index(want, " " $1 " ") {s += $2} END{print s + 0}' "$HT/data/$data.rows"
}
bytes_of() {
  local data=$1; shift
  awk -v want=" $* " 'index(want, " " $1 " ") {s += $3} END{print s + 0}' "$HT/data/$data.rows"
}

# hosts_tree CASE HOST DIST HOSTS...: a fresh /opt/ml for HOST of the job
# whose hosts are HOSTS, train channel DIST (ShardedByS3Key|FullyReplicated),
# with an empty train dir; prints its path.
hosts_tree() {
  local case=$1 host=$2 dist=$3; shift 3
  local dir="$HT/$case/$host"
  mkdir -p "$dir/input/config" "$dir/input/data/train"
  printf '{"current_host":"%s","hosts":%s,"network_interface_name":"eth0"}\n' "$host" "$(json_list "$@")" \
    >"$dir/input/config/resourceconfig.json"
  printf '{"train": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "%s"}}\n' "$dist" \
    >"$dir/input/config/inputdataconfig.json"
  echo '{}' >"$dir/input/config/hyperparameters.json"
  echo "$dir"
}
# hosts_put CASE HOST DATA FILE...: the generated files into HOST's train dir (hard links: no copies)
hosts_put() {
  local dir="$HT/$1/$2/input/data/train" data=$3; shift 3
  local f
  for f in "$@"; do ln "$HT/data/$data/$f" "$dir/$f" 2>/dev/null || cp "$HT/data/$data/$f" "$dir/$f"; done
}

cname() { echo "$RUN_ID-$1-$2"; }   # cname CASE HOST
hosts_net() { $DOCKER network create --label "$RUN_ID" "$RUN_ID-$1" >/dev/null; }

# hosts_start CASE HOST [docker run options]: HOST's container, detached
hosts_start() {
  local case=$1 host=$2; shift 2
  $DOCKER run -d --name "$(cname "$case" "$host")" --label "$RUN_ID" \
    --network "$RUN_ID-$case" --network-alias "$host" --hostname "$host" \
    -v "$HT/$case/$host:/opt/ml" "$@" "$IMAGE" train >/dev/null
}

# hosts_wait CASE SECONDS HOST...: docker wait for all, at most SECONDS; then
# their logs in $HT/CASE/HOST.{out,err} and exit codes in HX[HOST] ("running"
# if still running). 0 when all exited in time.
declare -gA HX=()
hosts_wait() {
  local case=$1 limit=$2; shift 2
  local names=() h rc=0 state
  for h in "$@"; do names+=("$(cname "$case" "$h")"); done
  timeout "$limit" "$DOCKER" wait "${names[@]}" >/dev/null 2>&1 || rc=1
  for h in "$@"; do hosts_collect "$case" "$h"; done
  for h in "$@"; do [[ ${HX[$h]} == running ]] && rc=1; done
  return $rc
}
hosts_collect() { # hosts_collect CASE HOST: logs and exit code of one container
  local case=$1 h=$2 state c
  c=$(cname "$case" "$h")
  $DOCKER logs "$c" >"$HT/$case/$h.out" 2>"$HT/$case/$h.err" || true
  state=$($DOCKER inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$c" 2>/dev/null || echo 'gone -')
  case $state in
    exited*) HX[$h]=${state#exited } ;;
    gone*) HX[$h]=gone ;;
    *) HX[$h]=running ;;
  esac
}
# finished_at CASE HOST: when the container stopped, in seconds since the epoch
finished_at() { date -d "$($DOCKER inspect -f '{{.State.FinishedAt}}' "$(cname "$1" "$2")")" +%s.%N; }

# The current case's diagnostics (hosts_diag), shown with its first failing
# check only; hcheck is check that adds them.
HDIAG=''
hcheck() {
  local name=$1; shift
  local details=()
  while [[ $# -gt 0 && $1 != -- ]]; do details+=("$1"); shift; done
  shift
  if "$@"; then ok "$name"; return; fi
  if [[ -n $HDIAG ]]; then details+=("the hosts:" "$HDIAG"); HDIAG=''; fi
  not_ok "$name" "${details[@]}"
}

# hosts_diag CASE HOST...: exit code, output/failure, model files and the end of each host's log
hosts_diag() {
  local case=$1 h dir; shift
  for h in "$@"; do
    dir="$HT/$case/$h"
    echo "--- $h: exit ${HX[$h]:-?}; output/failure: $(head -c 600 "$dir/output/failure" 2>/dev/null || echo '(none)')"
    echo "    model/: $(ls -A "$dir/model" 2>/dev/null | tr '\n' ' ')"
    tail -n "${HOSTS_DIAG_LINES:-12}" "$dir.err" 2>/dev/null | sed 's/^/    /'
  done
}

# wait_log CASE HOST TEXT SECONDS: 0 once TEXT is in HOST's log (stderr and stdout)
wait_log() {
  local c t0
  c=$(cname "$1" "$2"); t0=$SECONDS
  while ((SECONDS - t0 < $4)); do
    # grep reads it all (not -q): an early exit would fail docker logs with SIGPIPE under pipefail
    $DOCKER logs "$c" 2>&1 | grep -F -- "$3" >/dev/null && return 0
    [[ $($DOCKER inspect -f '{{.State.Running}}' "$c" 2>/dev/null) == true ]] || return 1
    sleep 0.2
  done
  return 1
}

# The leader's model against the 1-host reference: equal JSON once "training"
# and statistics.residuals are deleted from both; else the first differing paths.
MODEL_DIFF='
const fs = require("fs");
const read = (f) => { try { return JSON.parse(fs.readFileSync(f, "utf8")); } catch (e) { console.log(`cannot read ${f}: ${e.message}`); process.exit(1); } };
const [a, b] = process.argv.slice(1).map((f) => { const d = read(f); delete d.training; if (d.statistics) delete d.statistics.residuals; return d; });
if (JSON.stringify(a) === JSON.stringify(b)) process.exit(0);
const out = [];
(function walk(x, y, at) {
  if (out.length >= 8) return;
  if (x !== null && y !== null && typeof x === "object" && typeof y === "object") {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[k], y[k], `${at}.${k}`);
  } else if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${at}: ${JSON.stringify(x)} vs reference ${JSON.stringify(y)}`);
})(a, b, "model");
console.log(out.join("\n") || "key order differs");
process.exit(1);'
same_model() { node -e "$MODEL_DIFF" "$1" "$2"; }
same_model_q() { same_model "$@" >/dev/null; }

# The "training" object: distribution, one entry per host in order, rows and
# bytes exact where given (HOST=ROWS:BYTES), else each > 0; rows summing to
# the reference's statistics.n. Prints what is wrong.
TRAINING_CHECK='
const fs = require("fs");
const [file, ref, dist, hostList, expect] = process.argv.slice(1);
const read = (f) => { try { return JSON.parse(fs.readFileSync(f, "utf8")); } catch (e) { console.log(`cannot read ${f}: ${e.message}`); process.exit(1); } };
const m = read(file);
const n = read(ref).statistics.n;
const t = m.training, bad = [];
const hosts = hostList.split(" ");
if (!t || typeof t !== "object") { console.log(`no training object: ${JSON.stringify(t)}`); process.exit(1); }
if (t.distribution !== dist) bad.push(`distribution ${JSON.stringify(t.distribution)}, expected ${dist}`);
const got = Array.isArray(t.hosts) ? t.hosts : [];
if (JSON.stringify(got.map((h) => h.host)) !== JSON.stringify(hosts)) bad.push(`hosts ${JSON.stringify(got.map((h) => h.host))}, expected ${JSON.stringify(hosts)}`);
const want = Object.fromEntries(expect.split(" ").filter(Boolean).map((s) => { const [h, v] = s.split("="); const [r, b] = v.split(":").map(Number); return [h, { r, b }]; }));
for (const h of got) {
  const w = want[h.host];
  if (!Number.isInteger(h.rows) || !Number.isInteger(h.bytes)) bad.push(`${h.host}: rows ${h.rows}, bytes ${h.bytes} are not integers`);
  else if (w && (h.rows !== w.r || h.bytes !== w.b)) bad.push(`${h.host}: rows ${h.rows}, bytes ${h.bytes}; expected rows ${w.r}, bytes ${w.b}`);
  else if (!w && !(h.rows > 0 && h.bytes > 0)) bad.push(`${h.host}: rows ${h.rows}, bytes ${h.bytes}; expected a share > 0`);
}
const sum = got.reduce((s, h) => s + h.rows, 0);
if (sum !== n) bad.push(`rows sum to ${sum}, the reference has n = ${n}`);
if (m.statistics.n !== n) bad.push(`statistics.n ${m.statistics.n} != ${n}`);
console.log(bad.length ? bad.join("\n") : JSON.stringify(t));
process.exit(bad.length ? 1 : 0);'

# reference DATA FILE...: a 1-host run on those files; the model in $HT/ref-DATA/model/model.json
reference() {
  local data=$1; shift
  local dir rc=0
  dir=$(hosts_tree "ref-$data" algo-1 FullyReplicated algo-1)
  hosts_put "ref-$data" algo-1 "$data" "$@"
  $DOCKER run --rm --label "$RUN_ID" --network none -v "$dir:/opt/ml" "$IMAGE" train \
    >"$HT/ref-$data/algo-1.out" 2>"$HT/ref-$data/algo-1.err" || rc=$?
  check "1-host reference on '$data' (${#@} files, $(rows_of "$data" "$@") rows) exits 0 with a model" \
    "exit $rc" "$(tail -n 10 "$HT/ref-$data/algo-1.err")" -- test "$rc" -eq 0 -a -s "$dir/model/model.json"
}
ref_model() { echo "$HT/ref-$1/algo-1/model/model.json"; }

# expect_success CASE LABEL DATA DIST EXPECT HOST...: the checks of a job that
# must succeed. EXPECT: "HOST=ROWS:BYTES ..." per host for sharded data, "" for
# replicated (each host reads a share).
expect_success() {
  local case=$1 label=$2 data=$3 dist=$4 expect=$5; shift 5
  local leader=$1 h bad=() n=$# out
  HDIAG=$(hosts_diag "$case" "$@")
  for h in "$@"; do
    [[ ${HX[$h]} == 0 ]] || bad+=("$h exit ${HX[$h]}")
    [[ -e $HT/$case/$h/output/failure ]] && bad+=("$h wrote output/failure")
  done
  hcheck "$label: all $n hosts exit 0, no output/failure" "${bad[@]}" -- test ${#bad[@]} -eq 0
  out=$(same_model "$HT/$case/$leader/model/model.json" "$(ref_model "$data")" 2>&1) || true
  hcheck "$label: the leader's model.json equals the 1-host reference (all but \"training\" and the residual diagnostics)" "$out" -- \
    same_model_q "$HT/$case/$leader/model/model.json" "$(ref_model "$data")"
  bad=()
  for h in "${@:2}"; do [[ -e $HT/$case/$h/model/model.json ]] && bad+=("$h"); done
  hcheck "$label: the workers write no model.json" "model.json on: ${bad[*]:-}" -- test ${#bad[@]} -eq 0
  set +e
  out=$(node -e "$TRAINING_CHECK" "$HT/$case/$leader/model/model.json" "$(ref_model "$data")" "$dist" "$*" "$expect" 2>&1)
  local rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then ok "$label: training $out"
  else hcheck "$label: model.json's training: $dist, one entry per host, rows add up to n" "$out" -- false; fi
  bad=()
  grep -qF "all $n hosts joined" "$HT/$case/$leader.err" || bad+=("$leader: no 'all $n hosts joined'")
  for h in "${@:2}"; do grep -qF "joined the leader $leader" "$HT/$case/$h.err" || bad+=("$h: no 'joined the leader $leader'"); done
  hcheck "$label: the leader logs 'all $n hosts joined', each worker 'joined the leader $leader'" "${bad[@]}" -- test ${#bad[@]} -eq 0
}

# expect_failure CASE LABEL VICTIM SINCE LIMIT HOST...: every HOST (not the
# victim) exited non-zero within LIMIT s of SINCE, its output/failure names
# VICTIM, and no host has a model.json.
expect_failure() {
  local case=$1 label=$2 victim=$3 since=$4 limit=$5; shift 5
  local h bad=() late=() unnamed=() models=() t
  HDIAG=$(hosts_diag "$case" "$@" "$victim")
  for h in "$@"; do
    if [[ ${HX[$h]} == running || ${HX[$h]} == gone || ${HX[$h]} == 0 ]]; then bad+=("$h: ${HX[$h]}"); continue; fi
    t=$(secs "$since" "$(finished_at "$case" "$h")")
    awk -v t="$t" -v l="$limit" 'BEGIN{exit !(t <= l)}' || late+=("$h after $t s")
    note "$label: $h exited ${HX[$h]} $t s after; failure: $(head -c 300 "$HT/$case/$h/output/failure" 2>/dev/null || echo '(none)')"
    grep -qF "$victim" "$HT/$case/$h/output/failure" 2>/dev/null || unnamed+=("$h")
  done
  for h in "$@" "$victim"; do [[ -e $HT/$case/$h/model/model.json ]] && models+=("$h"); done
  hcheck "$label: the other hosts ($*) exit non-zero" "${bad[*]:-}" -- test ${#bad[@]} -eq 0
  hcheck "$label: ... within $limit s" "${late[*]:-}" -- test ${#late[@]} -eq 0 -a ${#bad[@]} -eq 0
  hcheck "$label: ... with an output/failure naming $victim" "without: ${unnamed[*]:-}" -- \
    test ${#unnamed[@]} -eq 0 -a ${#bad[@]} -eq 0
  hcheck "$label: no host writes model.json" "model.json on: ${models[*]:-}" -- test ${#models[@]} -eq 0
}

# run_job CASE SECONDS HOST... [-- docker run options]: start every host at
# once, wait for all; a host that cannot start is reported. Sets JOB_SECONDS.
JOB_SECONDS=
run_job() {
  local case=$1 limit=$2; shift 2
  local hosts=() opts=() h t0
  while [[ $# -gt 0 && $1 != -- ]]; do hosts+=("$1"); shift; done
  [[ $# -gt 0 ]] && { shift; opts=("$@"); }
  hosts_net "$case"
  t0=$(now)
  for h in "${hosts[@]}"; do hosts_start "$case" "$h" "${opts[@]}"; done
  hosts_wait "$case" "$limit" "${hosts[@]}" || true
  JOB_SECONDS=$(secs "$t0" "$(now)")
}

# job_done CASE: remove the case's containers and network (logs and trees stay)
# shellcheck disable=SC2086 # $ids: one id a word
job_done() {
  local ids
  ids=$($DOCKER ps -aq --filter "label=$RUN_ID" --filter "name=$RUN_ID-$1-" 2>/dev/null || true)
  [[ -n $ids ]] && { $DOCKER rm -f $ids >/dev/null 2>&1 || true; }
  $DOCKER network rm "$RUN_ID-$1" >/dev/null 2>&1 || true
}

# sharded_case CASE LABEL DATA HOSTS "FILES OF HOST 1" "FILES OF HOST 2" ... [-- docker run options]
# ("" is an empty train dir, "-" no train dir at all: both an empty shard)
sharded_case() {
  local case=$1 label=$2 data=$3; shift 3
  local hosts i expect='' files opts=()
  read -r -a hosts <<<"$1"; shift
  for i in "${!hosts[@]}"; do
    files=$1; shift
    hosts_tree "$case" "${hosts[$i]}" ShardedByS3Key "${hosts[@]}" >/dev/null
    if [[ $files == - ]]; then
      rmdir "$HT/$case/${hosts[$i]}/input/data/train"
      files=''
    fi
    # shellcheck disable=SC2086
    [[ -n $files ]] && hosts_put "$case" "${hosts[$i]}" "$data" $files
    # shellcheck disable=SC2086
    expect+=" ${hosts[$i]}=$(rows_of "$data" $files):$(bytes_of "$data" $files)"
  done
  [[ $# -gt 0 && $1 == -- ]] && { shift; opts=("$@"); }
  run_job "$case" 120 "${hosts[@]}" -- "${opts[@]}"
  note "$label: $JOB_SECONDS s"
  expect_success "$case" "$label" "$data" ShardedByS3Key "$expect" "${hosts[@]}"
  job_done "$case"
}

# ------------------------------------------------------------------- cases ----
hosts_cases() {
  local t_all t0 files
  t_all=$(now)
  note "several hosts (docker run on private networks, one container per host)"

  # Data: six files of unequal sizes (small: the in-memory, extended-precision
  # path), five files of ~400k rows in all (1.6M values: the one-pass f64 path).
  hosts_data small --p 3 --seed 11 part-00.csv:50 part-01.csv:3000 part-02.csv:7 part-03.csv:20000 part-04.csv:900 part-05.csv:12000
  hosts_data big --p 3 --seed 12 big-0.csv:90k big-1.csv:60k big-2.csv:110k big-3.csv:40k big-4.csv:100k
  local small=(part-00.csv part-01.csv part-02.csv part-03.csv part-04.csv part-05.csv)
  local big=(big-0.csv big-1.csv big-2.csv big-3.csv big-4.csv)
  reference small "${small[@]}"
  reference big "${big[@]}"
  local precision
  precision=$(node -p 'require(process.argv[1]).statistics.precision' "$(ref_model big)" 2>/dev/null || echo '?')
  check "the ~400k-row data set takes the one-pass f64 path (precision: $precision)" -- test "$precision" = double

  # 1. Sharded, 3 hosts, algo-2 empty; the first file in listing order is a worker's.
  sharded_case s3 "sharded, 3 hosts, algo-2's shard empty" small "algo-1 algo-2 algo-3" \
    "part-01.csv part-04.csv" "" "part-00.csv part-02.csv part-03.csv part-05.csv"
  # 2. The larger data set, sharded over 3 hosts.
  sharded_case big3 "sharded, 3 hosts, 400k rows" big "algo-1 algo-2 algo-3" \
    "big-1.csv big-4.csv" "big-2.csv" "big-0.csv big-3.csv"
  # 3. Sharded, 2 hosts, the leader's shard empty (not even a train dir); another port.
  sharded_case lead0 "sharded, 2 hosts, the leader's shard empty (no train dir), LINEAR_CLUSTER_PORT=7500" small "algo-1 algo-2" \
    - "${small[*]}" -- -e LINEAR_CLUSTER_PORT=7500

  # 4. Replicated, 3 hosts: all files everywhere; the hosts listed unsorted.
  local h
  for h in algo-1 algo-2 algo-3; do
    hosts_tree rep3 "$h" FullyReplicated algo-3 algo-1 algo-2 >/dev/null
    hosts_put rep3 "$h" small "${small[@]}"
  done
  run_job rep3 120 algo-1 algo-2 algo-3
  note "replicated, 3 hosts: $JOB_SECONDS s"
  expect_success rep3 "replicated, 3 hosts (listed as algo-3, algo-1, algo-2)" small FullyReplicated "" algo-1 algo-2 algo-3
  job_done rep3

  # 5. The leader starts 12 s after the workers: its name does not resolve until
  # then. (The workers retry after 1, 2, 4, 8, 16 s: at 15 s they find it; a
  # leader at 15 s or later waits for their try at 31 s.)
  local hosts=(algo-1 algo-2 algo-3)
  hosts_tree late algo-1 ShardedByS3Key "${hosts[@]}" >/dev/null
  hosts_put late algo-1 small part-05.csv
  hosts_tree late algo-2 ShardedByS3Key "${hosts[@]}" >/dev/null
  hosts_put late algo-2 small part-00.csv part-03.csv
  hosts_tree late algo-3 ShardedByS3Key "${hosts[@]}" >/dev/null
  hosts_put late algo-3 small part-01.csv part-02.csv part-04.csv
  hosts_net late
  t0=$(now)
  hosts_start late algo-2
  hosts_start late algo-3
  sleep 12
  local early=()
  for h in algo-2 algo-3; do
    [[ $($DOCKER inspect -f '{{.State.Running}}' "$(cname late "$h")") == true ]] || early+=("$h")
  done
  hosts_start late algo-1
  hosts_wait late 120 "${hosts[@]}" || true
  note "the leader 12 s late: $(secs "$t0" "$(now)") s from the first worker's start"
  HDIAG=$(hosts_diag late "${hosts[@]}")
  hcheck "the leader 12 s late: the workers wait for it (still running after 12 s)" "exited early: ${early[*]:-}" -- \
    test ${#early[@]} -eq 0
  expect_success late "the leader 12 s late" small ShardedByS3Key \
    "algo-1=$(rows_of small part-05.csv):$(bytes_of small part-05.csv) algo-2=$(rows_of small part-00.csv part-03.csv):$(bytes_of small part-00.csv part-03.csv) algo-3=$(rows_of small part-01.csv part-02.csv part-04.csv):$(bytes_of small part-01.csv part-02.csv part-04.csv)" \
    "${hosts[@]}"
  job_done late

  # 6, 7. A worker killed or frozen while it reads a large shard (~1.8 GB:
  # twelve hard links to one 150 MB file, so it is still reading when hit): the
  # others notice its silence (30 s) or its closed connection. 8. A worker
  # killed while it waits for the leader's reply (its small shard read and
  # sent, algo-3 still reading): its connection closes, noticed at once.
  hosts_data huge --p 3 --seed 13 huge.csv:=150MB
  local victim how cs since i what limit others spec
  for spec in kill:algo-3 pause:algo-3 kill:algo-2; do
    how=${spec%%:*} victim=${spec#*:}
    cs=$how-$victim
    others=(); for h in "${hosts[@]}"; do [[ $h == "$victim" ]] || others+=("$h"); done
    if [[ $victim == algo-3 ]]; then
      what="worker $([[ $how == kill ]] && echo killed || echo paused) while it reads"
      limit=120
    else
      what="worker killed while it waits for the leader"
      limit=10
    fi
    hosts_tree "$cs" algo-1 ShardedByS3Key "${hosts[@]}" >/dev/null
    hosts_put "$cs" algo-1 small part-00.csv part-01.csv
    hosts_tree "$cs" algo-2 ShardedByS3Key "${hosts[@]}" >/dev/null
    hosts_put "$cs" algo-2 small part-02.csv part-03.csv
    hosts_tree "$cs" algo-3 ShardedByS3Key "${hosts[@]}" >/dev/null
    for i in $(seq 1 12); do ln "$HT/data/huge/huge.csv" "$HT/$cs/algo-3/input/data/train/huge-$i.csv"; done
    hosts_net "$cs"
    for h in "${hosts[@]}"; do hosts_start "$cs" "$h"; done
    if ! wait_log "$cs" algo-1 "all 3 hosts joined" 60; then
      hosts_wait "$cs" 1 "${hosts[@]}" || true
      not_ok "$what: the leader logs 'all 3 hosts joined' within 60 s" "$(hosts_diag "$cs" "${hosts[@]}")"
      job_done "$cs"
      continue
    fi
    # Hit algo-2 as soon as its 20k rows are read and sent (it then waits for
    # the leader): algo-3's 1.8 GB take seconds more (page-cached, ~600 MB/s here).
    # (half a second for its state, a few KB, to reach the leader).
    if [[ $victim == algo-2 ]]; then wait_log "$cs" algo-2 "channel 'train': read" 60 || true; sleep 0.5; fi
    local state
    state=$($DOCKER inspect -f '{{.State.Status}}' "$(cname "$cs" "$victim")")
    since=$(now)
    # A victim that has already stopped is refused here; the check on its state above says so.
    if [[ $how == kill ]]; then $DOCKER kill "$(cname "$cs" "$victim")" >/dev/null || true
    else $DOCKER pause "$(cname "$cs" "$victim")" >/dev/null || true; fi
    hosts_wait "$cs" 130 "${others[@]}" || true
    hosts_collect "$cs" "$victim"
    HDIAG=$(hosts_diag "$cs" "${others[@]}" "$victim")
    hcheck "$what: $victim was still running when hit (state: $state)" -- test "$state" = running
    expect_failure "$cs" "$what (docker $how $victim)" "$victim" "$since" "$limit" "${others[@]}"
    if [[ $how == pause ]]; then $DOCKER unpause "$(cname "$cs" "$victim")" >/dev/null 2>&1 || true; fi
    job_done "$cs"
  done

  note "several hosts: $(secs "$t_all" "$(now)") s in all"
}

if [[ ${HOSTS_LIB_ONLY:-0} != 1 ]]; then
  if [[ ${LINEAR_DOCKER_HOSTS:-1} == 0 ]]; then
    note "LINEAR_DOCKER_HOSTS=0: the multi-host cases are skipped"
  else
    hosts_cases
  fi
  [[ $HOSTS_STANDALONE == 1 ]] && finish
fi
true

#!/usr/bin/env bash
# Wall time of one training job on 1 host against the same job on 3 hosts, in
# Docker on this machine (too slow for CI; run it by hand):
#
#   IMAGE=linear bash scripts/bench-hosts.sh
#
# Generates ~1 GB of CSV (p = 10, six files of ~167 MB, label first; kept in
# BENCH_DATA when that is set, so a second run skips the generation), then
# runs `train` on it as 1 host, as 3 hosts with the files sharded two per host
# (ShardedByS3Key) and as 3 hosts with every file on every host
# (FullyReplicated), each BENCH_REPEAT times (default 1), and prints each wall
# time: from the first `docker run` to the last host's exit, on this machine's
# cores shared by all the hosts (3 containers on 2 cores are not 3 instances).
# The 3-host models are checked against the 1-host model as in
# scripts/test-docker-hosts.sh, whose functions it uses.
#
# Environment:
#   IMAGE=linear      the image to run
#   BENCH_GB=1        size of the data
#   BENCH_DATA=DIR    where to keep the data (default: the temp dir, removed at the end)
#   BENCH_REPEAT=1    runs of each setup
set -euo pipefail
# shellcheck disable=SC2034 # read by test-docker-hosts.sh
HOSTS_LIB_ONLY=1
# shellcheck source=scripts/test-docker-hosts.sh
source "$(dirname "${BASH_SOURCE[0]}")/test-docker-hosts.sh"

GB=${BENCH_GB:-1}
REPEAT=${BENCH_REPEAT:-1}
DATA=${BENCH_DATA:-$HT/data/bench}
FILES=(bench-0.csv bench-1.csv bench-2.csv bench-3.csv bench-4.csv bench-5.csv)

note "image $IMAGE ($($DOCKER image inspect -f '{{.Id}}' "$IMAGE" | cut -c8-19)), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GB", $2/1e6}' /proc/meminfo) memory"
if [[ -f $DATA/bench.rows && $(cat "$DATA/gb" 2>/dev/null) == "$GB" ]]; then
  note "reusing the data in $DATA"
else
  note "generating ${GB} GB of CSV (p = 10) in $DATA"
  mkdir -p "$DATA"
  t0=$(now)
  per=$(awk -v g="$GB" 'BEGIN{printf "%.0fMB", g * 1000 / 6}')
  pids=()
  for i in "${!FILES[@]}"; do
    node "$ROOT/scripts/gen-csv.js" --p 10 --seed $((100 + i)) "$DATA" "${FILES[$i]}:=$per" >"$DATA/$i.rows" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  cat "$DATA"/[0-9].rows >"$DATA/bench.rows"
  echo "$GB" >"$DATA/gb"
  note "generated in $(secs "$t0" "$(now)") s"
fi
mkdir -p "$HT/data"
[[ $DATA -ef $HT/data/bench ]] || ln -sfn "$DATA" "$HT/data/bench"
cp "$DATA/bench.rows" "$HT/data/bench.rows"
note "$(rows_of bench "${FILES[@]}") rows, $(bytes_of bench "${FILES[@]}") bytes in ${#FILES[@]} files"

results=()
run() { # run CASE LABEL HOST...: one job, its wall time into results
  local cs=$1 label=$2; shift 2
  run_job "$cs" 3600 "$@"
  local h bad=()
  for h in "$@"; do [[ ${HX[$h]} == 0 ]] || bad+=("$h: exit ${HX[$h]}"); done
  if [[ ${#bad[@]} -gt 0 ]]; then
    not_ok "$label" "${bad[@]}" "$(hosts_diag "$cs" "$@")"
    results+=("$label: failed after $JOB_SECONDS s")
    job_done "$cs"
    return
  else
    ok "$label: $JOB_SECONDS s"
    grep -h 'read .* rows\|fitted' "$HT/$cs"/*.err | sed "s/^/#   /"
  fi
  results+=("$label: $JOB_SECONDS s")
  job_done "$cs"
}

for r in $(seq 1 "$REPEAT"); do
  # 1 host
  hosts_tree "one$r" algo-1 FullyReplicated algo-1 >/dev/null
  hosts_put "one$r" algo-1 bench "${FILES[@]}"
  run "one$r" "1 host" algo-1
  mkdir -p "$HT/ref-bench/algo-1/model"
  cp "$HT/one$r/algo-1/model/model.json" "$HT/ref-bench/algo-1/model/model.json" 2>/dev/null || true

  # 3 hosts, sharded two files per host
  hosts=(algo-1 algo-2 algo-3)
  for i in 0 1 2; do
    hosts_tree "sh$r" "${hosts[$i]}" ShardedByS3Key "${hosts[@]}" >/dev/null
    hosts_put "sh$r" "${hosts[$i]}" bench "${FILES[$((2 * i))]}" "${FILES[$((2 * i + 1))]}"
  done
  run "sh$r" "3 hosts, ShardedByS3Key (2 files each)" "${hosts[@]}"
  check "3 hosts, sharded: the model equals the 1-host model" "$(same_model "$HT/sh$r/algo-1/model/model.json" "$(ref_model bench)" || true)" -- \
    same_model_q "$HT/sh$r/algo-1/model/model.json" "$(ref_model bench)"

  # 3 hosts, replicated: the hosts split the files
  for h in "${hosts[@]}"; do
    hosts_tree "rep$r" "$h" FullyReplicated "${hosts[@]}" >/dev/null
    hosts_put "rep$r" "$h" bench "${FILES[@]}"
  done
  run "rep$r" "3 hosts, FullyReplicated" "${hosts[@]}"
  check "3 hosts, replicated: the model equals the 1-host model" "$(same_model "$HT/rep$r/algo-1/model/model.json" "$(ref_model bench)" || true)" -- \
    same_model_q "$HT/rep$r/algo-1/model/model.json" "$(ref_model bench)"
  note "replicated: $(node -p 'JSON.stringify(require(process.argv[1]).training)' "$HT/rep$r/algo-1/model/model.json" 2>/dev/null || echo 'no model')"
done

echo "# wall times (${GB} GB of CSV, p = 10, $(nproc) cores shared by all hosts):"
for line in "${results[@]}"; do echo "#   $line"; done
finish

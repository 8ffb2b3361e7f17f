#!/usr/bin/env bash
# End-to-end test of the Docker image, run the way SageMaker runs it.
#
#   bash scripts/test-docker.sh          (npm run test:docker)
#
# Makes sure an engine runs: when no Docker engine answers it starts dockerd
# (from Debian's docker.io package, installed with apt-get when missing and run
# as root) and waits for it. Then the base images the Dockerfile names: those
# present locally are used; missing ones are pulled when a container registry
# answers; only when none answers and ../shared/docker/offline-base-images.sh
# exists does that script build local stand-ins for them (idempotent). With
# neither, the run stops with a "not ok" that says why. Then it
# builds the image, then exercises it on temp copies of ml/: train, test, serve
# (+ SIGTERM), a failing train, train/test/serve as --user 1000:1000 --read-only,
# and the runtime image's contents. Prints TAP-like "ok - name" / "not ok - name"
# lines, the image size, the size added over the base image and the build time,
# and ends with "# pass N" / "# fail M"; exits non-zero if any check failed.
#
# Environment:
#   IMAGE=linear                 tag to build and test
#   LINEAR_DOCKER_NO_CACHE=1     build with --no-cache (a cold build, as in CI)
#   LINEAR_DOCKER_SKIP_BUILD=1   test an existing $IMAGE without building it
#   LINEAR_DOCKER_PROBE_SECONDS=30  how long a first pull may go without any
#                                answer from the registry before it counts as
#                                unreachable (a pull that is downloading goes on)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
IMAGE=${IMAGE:-linear}
OFFLINE="$(cd "$ROOT/.." && pwd)/shared/docker/offline-base-images.sh"
RUN_ID="linear-e2e-$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/linear-docker.XXXXXX")
DOCKER=docker

# shellcheck source=scripts/tap.sh
source "$ROOT/scripts/tap.sh"

cleanup() {
  local status=$? ids
  unfinished "$status"
  ids=$($DOCKER ps -aq --filter "label=$RUN_ID" 2>/dev/null || true)
  [[ -n $ids ]] && $DOCKER rm -f $ids >/dev/null 2>&1 || true
  # Files written by containers running as root may not be removable by a
  # non-root caller: let a container remove them.
  if ! rm -rf "$TMP" 2>/dev/null; then
    $DOCKER run --rm -v "$TMP:/t" --entrypoint sh "$IMAGE" -c 'rm -rf /t/* /t/.[!.]*' >/dev/null 2>&1 || true
    rm -rf "$TMP" 2>/dev/null || true
  fi
}
trap cleanup EXIT


# ---------------------------------------------------------------- engine ----
note "engine and base images"
# Debian's docker.io client matches the engine started below; a newer client
# earlier on PATH may not, so it is preferred whenever it reaches an engine.
pick_client() {
  if [[ -x /usr/bin/docker ]] && /usr/bin/docker info >/dev/null 2>&1; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
}
engine_answers() { pick_client; $DOCKER info >/dev/null 2>&1; }
DOCKERD_LOG=${TMPDIR:-/tmp}/dockerd.log

ENGINE_PROBLEM=
start_engine() { # 0 once an engine answers; otherwise ENGINE_PROBLEM says why not
  if [[ $(id -u) -ne 0 ]]; then
    ENGINE_PROBLEM="no Docker engine answers and this script is not root, so it cannot start dockerd; start the engine (or run as root)"
    return 1
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    note "no Docker engine answers and there is no dockerd: installing Debian's docker.io with apt-get"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io; } >"$TMP/apt.log" 2>&1; then
      ENGINE_PROBLEM="no Docker engine answers and installing docker.io with apt-get failed: $(tail -n 5 "$TMP/apt.log")"
      return 1
    fi
  fi
  # A machine restarted under a dead engine keeps its pid files, and dockerd
  # refuses to start while they exist: remove those whose process is gone.
  local pidfile
  for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    if [[ -f $pidfile ]] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
      note "removing the stale $pidfile of an engine that is no longer running"
      rm -f "$pidfile"
    fi
  done
  note "no Docker engine answers: starting dockerd (log: $DOCKERD_LOG)"
  (setsid dockerd >"$DOCKERD_LOG" 2>&1 &)
  local _
  for _ in $(seq 1 60); do engine_answers && return 0; sleep 1; done
  ENGINE_PROBLEM="dockerd did not answer within 60 s; the end of $DOCKERD_LOG: $(tail -n 10 "$DOCKERD_LOG" 2>/dev/null)"
  return 1
}

if engine_answers; then
  ok "engine up"
elif start_engine; then
  ok "engine up (dockerd started)"
else
  not_ok "engine up" "$ENGINE_PROBLEM"
  finish
fi
note "client $($DOCKER version -f '{{.Client.Version}}' 2>/dev/null), engine $($DOCKER version -f '{{.Server.Version}}' 2>/dev/null)"

# The images FROM lines name, without references to earlier stages.
mapfile -t BASES < <(awk 'toupper($1)=="FROM"{img=""; for(i=2;i<=NF;i++) if($i !~ /^--/){img=$i; break}
    if (!(img in stage) && img != "scratch" && !(img in seen)) {seen[img]=1; print img}
    for(i=2;i<NF;i++) if(toupper($i)=="AS") stage[$(i+1)]=1}' Dockerfile)
missing=()
for b in "${BASES[@]}"; do $DOCKER image inspect "$b" >/dev/null 2>&1 || missing+=("$b"); done

# pull IMAGE: 0 when pulled. A registry that gives no answer at all (no
# "Pulling from", no layer progress) within LINEAR_DOCKER_PROBE_SECONDS counts as
# unreachable; a pull that is under way is waited for. The output is in $TMP/pull.log.
pull() {
  local pid i
  $DOCKER pull "$1" >"$TMP/pull.log" 2>&1 &
  pid=$!
  for i in $(seq 1 "${LINEAR_DOCKER_PROBE_SECONDS:-30}"); do
    kill -0 "$pid" 2>/dev/null || break
    grep -Eq 'Pulling from|Pulling fs layer|Downloading|Already exists|Digest:' "$TMP/pull.log" && break
    sleep 1
  done
  if kill -0 "$pid" 2>/dev/null && ! grep -Eq 'Pulling from|Pulling fs layer|Downloading|Already exists|Digest:' "$TMP/pull.log"; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo "no answer within ${LINEAR_DOCKER_PROBE_SECONDS:-30} s" >>"$TMP/pull.log"
    return 1
  fi
  wait "$pid"
}

if [[ ${LINEAR_DOCKER_SKIP_BUILD:-0} == 1 ]]; then
  note "LINEAR_DOCKER_SKIP_BUILD=1: base images not needed"
elif [[ ${#missing[@]} -eq 0 ]]; then
  ok "base images present locally (${BASES[*]})"
elif pull "${missing[0]}"; then
  failed_pull=
  for b in "${missing[@]:1}"; do pull "$b" || { failed_pull=$b; break; }; done
  if [[ -z $failed_pull ]]; then ok "base images pulled from the registry (${missing[*]})"
  else not_ok "base images pulled from the registry" "docker pull $failed_pull failed:" "$(tail -n 5 "$TMP/pull.log")"; finish; fi
elif [[ -f $OFFLINE ]]; then
  note "no base image could be pulled (docker pull ${missing[0]}: $(tail -n 1 "$TMP/pull.log")); building local stand-ins with $OFFLINE"
  if bash "$OFFLINE" -f Dockerfile >"$TMP/offline.log" 2>&1; then
    pick_client
    ok "base images built locally by the offline script, no registry answered (${missing[*]})"
  else
    not_ok "base images built locally by the offline script, no registry answered" "$OFFLINE failed:" "$(tail -n 20 "$TMP/offline.log")"
    finish
  fi
else
  not_ok "base images available" \
    "missing locally: ${missing[*]}" \
    "no base image could be pulled from a registry: docker pull ${missing[0]}: $(tail -n 1 "$TMP/pull.log")" \
    "and there is no $OFFLINE to build local stand-ins"
  finish
fi

# ----------------------------------------------------------------- build ----
BASE=$(awk 'toupper($1)=="FROM"{img=""; for(i=2;i<=NF;i++) if($i !~ /^--/){img=$i; break}} END{print img}' Dockerfile)
BUILD_SECONDS=
if [[ ${LINEAR_DOCKER_SKIP_BUILD:-0} == 1 ]]; then
  note "LINEAR_DOCKER_SKIP_BUILD=1: testing the existing $IMAGE"
else
  build_args=(build -t "$IMAGE" .)
  [[ ${LINEAR_DOCKER_NO_CACHE:-0} == 1 ]] && build_args=(build --no-cache -t "$IMAGE" .)
  note "$DOCKER ${build_args[*]}"
  started=$(date +%s.%N)
  if $DOCKER "${build_args[@]}" >"$TMP/build.log" 2>&1; then
    BUILD_SECONDS=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
    ok "docker build ($BUILD_SECONDS s)"
  else
    not_ok "docker build" "$(tail -n 40 "$TMP/build.log")"
    finish
  fi
  check "build step loads the addon" "$(grep -n 'addon' "$TMP/build.log" | tail -n 5)" -- \
    grep -q 'addon loaded:' "$TMP/build.log"
fi

# ----------------------------------------------------------- helpers -------
# A fresh copy of the bundled example's inputs, writable by any uid.
ml_copy() {
  local dir="$TMP/$1"
  mkdir -p "$dir"
  cp -R "$ROOT/ml/input" "$dir/input"
  chmod -R a+rwX "$dir"
  echo "$dir"
}
drun() { $DOCKER run --rm --label "$RUN_ID" "$@"; }
port_of() { $DOCKER port "$1" "$2/tcp" | head -n 1 | sed 's/.*://'; }
wait_ping() { # wait_ping PORT: 200 from /ping within 30 s
  local i
  for i in $(seq 1 60); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/ping" || true) == 200 ]] && return 0
    sleep 0.5
  done
  return 1
}
stop_seconds() { # docker stop (SIGTERM) and print the seconds it took
  local t0; t0=$(date +%s.%N)
  $DOCKER stop -t 30 "$1" >/dev/null
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'
}

# -------------------------------------------------------------- contents ----
note "image contents and configuration"
set +e
usage=$($DOCKER run --rm --label "$RUN_ID" "$IMAGE" 2>&1); usage_rc=$?
set -e
check "no command: usage and non-zero exit" "exit $usage_rc" "$usage" -- \
  bash -c '[[ $0 -ne 0 && $1 == *Usage:* ]]' "$usage_rc" "$usage"
set +e
bogus=$($DOCKER run --rm --label "$RUN_ID" "$IMAGE" bogus 2>&1); bogus_rc=$?
set -e
check "unknown command: usage and non-zero exit" "exit $bogus_rc" "$bogus" -- \
  bash -c '[[ $0 -ne 0 && $1 == *Usage:* ]]' "$bogus_rc" "$bogus"

entrypoint=$($DOCKER image inspect -f '{{json .Config.Entrypoint}}' "$IMAGE")
check "exec-form ENTRYPOINT runs node directly" "$entrypoint" -- \
  test "$entrypoint" = '["node","/opt/program/dist/main.js"]'
label=$($DOCKER image inspect -f '{{index .Config.Labels "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"}}' "$IMAGE")
check "label accept-bind-to-port=true" "label: '$label'" -- test "$label" = true
ports=$($DOCKER image inspect -f '{{json .Config.ExposedPorts}}' "$IMAGE")
check "EXPOSE 8080" "$ports" -- grep -q '"8080/tcp"' <<<"$ports"
envs=$($DOCKER image inspect -f '{{json .Config.Env}}' "$IMAGE")
check "NODE_ENV=production" "$envs" -- grep -q '"NODE_ENV=production"' <<<"$envs"

compilers=$(drun --entrypoint sh "$IMAGE" -c 'for c in cc gcc g++ c++ clang rustc cargo make; do command -v "$c"; done; true')
check "runtime has no compiler (cc gcc g++ c++ clang rustc cargo make)" "found: $compilers" -- test -z "$compilers"

devs=$(node -p "Object.keys(require('./package.json').devDependencies || {}).join(' ')")
# shellcheck disable=SC2016
present=$(drun --entrypoint sh "$IMAGE" -c 'cd /opt/program/node_modules && for d in "$@"; do [ -e "$d" ] && echo "$d"; done; true' sh $devs)
check "no devDependencies in node_modules ($devs)" "present: $present" -- test -z "$present"

# shellcheck disable=SC2016
stray=$(drun --entrypoint sh "$IMAGE" -c '
  find /opt/program -path /opt/program/node_modules -prune -o \( -name "*.map" -o -name "*.ts" ! -name "*.d.ts" -o -name "*.rs" -o -name Cargo.toml \) -print
  for d in /opt/program/src /opt/program/native /opt/program/target /opt/program/__test__; do [ -e "$d" ] && echo "$d"; done
  [ -e /opt/ml ] && find /opt/ml
  true')
check "no sources, source maps or /opt/ml in the image" "found: $stray" -- test -z "$stray"

# ----------------------------------------------------------------- train ----
note "train, test, serve (as root, as SageMaker runs it)"
ML=$(ml_copy ml)
set +e
drun -v "$ML:/opt/ml" "$IMAGE" train >"$TMP/train.out" 2>"$TMP/train.err"; rc=$?
set -e
check "train exits 0" "exit $rc" "$(tail -n 20 "$TMP/train.err")" -- test "$rc" -eq 0
check "train writes model/model.json on the host" -- test -s "$ML/model/model.json"
check "train prints metric lines (train:mse=)" "$(cat "$TMP/train.out")" -- \
  grep -Eq '^train:mse=[-+0-9.eE]+$' "$TMP/train.out"
check "train writes no output/failure" -- test ! -e "$ML/output/failure"
# The training report: HTML, JSON and Markdown under output/data/ (SageMaker uploads it as output.tar.gz).
for f in report.html report.json report.md; do
  check "train writes output/data/$f" "$(ls -la "$ML/output/data" 2>&1)" -- test -s "$ML/output/data/$f"
done
report_format=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).format' "$ML/output/data/report.json" 2>&1 || true)
check "report.json's format is linear-report" "format: $(head -c 300 <<<"$report_format")" -- test "$report_format" = linear-report

set +e
out=$(drun -v "$ML:/opt/ml" "$IMAGE" test 2>"$TMP/test.err"); rc=$?
set -e
check "test prints exactly 31" "exit $rc, stdout: '$out'" "$(tail -n 5 "$TMP/test.err")" -- \
  test "$rc" -eq 0 -a "$out" = 31

# ----------------------------------------------------------------- serve ----
serve_checks() { # serve_checks WHO CONTAINER_PORT DOCKER_RUN_ARGS...
  local who=$1 cport=$2; shift 2
  local name port body secs code
  name="$RUN_ID-serve-$(tr -c 'a-zA-Z0-9_.-' '-' <<<"$who" | sed 's/-*$//')"
  if ! $DOCKER run -d --name "$name" --label "$RUN_ID" -p "127.0.0.1::$cport" "$@" "$IMAGE" serve >/dev/null; then
    not_ok "serve ($who) starts"; return
  fi
  port=$(port_of "$name" "$cport")
  if wait_ping "$port"; then ok "serve ($who): GET /ping 200"
  else not_ok "serve ($who): GET /ping 200" "$($DOCKER logs "$name" 2>&1 | tail -n 20)"; return; fi

  body=$(curl -s -X POST -H 'Content-Type: text/csv' --data-binary '10' "http://127.0.0.1:$port/invocations" || true)
  check "serve ($who): CSV invocation scores 31 (JSON out)" "body: $body" -- \
    test "$body" = '{"predictions":[{"score":31}]}'
  curl -s -X POST -H 'Content-Type: text/csv' -H 'Accept: text/csv' --data-binary '10' \
    "http://127.0.0.1:$port/invocations" >"$TMP/csv.out" || true
  check "serve ($who): Accept text/csv answers '31\\n'" "body: $(od -c "$TMP/csv.out" | head -n 2)" -- \
    cmp -s "$TMP/csv.out" <(printf '31\n')
  body=$(curl -s -X POST -H 'Content-Type: application/json' --data '{"instances":[{"features":[10]}]}' \
    "http://127.0.0.1:$port/invocations" || true)
  check "serve ($who): JSON invocation scores 31" "body: $body" -- \
    grep -q '"score":31[,}]' <<<"$body"

  secs=$(stop_seconds "$name")
  code=$($DOCKER inspect -f '{{.State.ExitCode}}' "$name")
  check "serve ($who): docker stop (SIGTERM) exits 0 in < 30 s (${secs} s)" "exit $code after $secs s" \
    "$($DOCKER logs "$name" 2>&1 | tail -n 5)" -- \
    awk -v s="$secs" -v c="$code" 'BEGIN{exit !(c == 0 && s < 30)}'
  $DOCKER rm -f "$name" >/dev/null 2>&1 || true
}
serve_checks root 8080 -v "$ML:/opt/ml"

# --------------------------------------------------------- failing train ----
note "a failing train"
BAD=$(ml_copy bad)
echo '{"l2": "-1"}' >"$BAD/input/config/hyperparameters.json"
set +e
drun -v "$BAD:/opt/ml" "$IMAGE" train >"$TMP/bad.out" 2>"$TMP/bad.err"; rc=$?
set -e
check "train with l2=-1 exits non-zero (exit $rc)" -- test "$rc" -ne 0
check "train with l2=-1 writes output/failure: INVALID_HYPERPARAMETER" \
  "failure: $(cat "$BAD/output/failure" 2>/dev/null || echo '(missing)')" "$(tail -n 5 "$TMP/bad.err")" -- \
  grep -q '^INVALID_HYPERPARAMETER' "$BAD/output/failure"
check "failing train writes no model" -- test ! -e "$BAD/model/model.json"

# ------------------------------------------------- non-root, read-only fs ----
note "as --user 1000:1000 with --read-only root filesystem"
RO=$(ml_copy ro)
RO_ARGS=(--user 1000:1000 --read-only -v "$RO:/opt/ml")
set +e
drun "${RO_ARGS[@]}" "$IMAGE" train >"$TMP/ro.out" 2>"$TMP/ro.err"; rc=$?
set -e
check "train as 1000:1000, read-only root: exit 0" "exit $rc" "$(tail -n 20 "$TMP/ro.err")" -- test "$rc" -eq 0
owner=$(stat -c '%u' "$RO/model/model.json" 2>/dev/null || echo none)
check "train as 1000:1000 writes model.json owned by uid 1000" "owner: $owner" -- test "$owner" = 1000
check "train as 1000:1000, read-only root writes output/data/report.html" "$(ls -la "$RO/output/data" 2>&1)" -- \
  test -s "$RO/output/data/report.html"
set +e
out=$(drun "${RO_ARGS[@]}" "$IMAGE" test 2>"$TMP/ro-test.err"); rc=$?
set -e
check "test as 1000:1000, read-only root prints 31" "exit $rc, stdout: '$out'" "$(tail -n 5 "$TMP/ro-test.err")" -- \
  test "$rc" -eq 0 -a "$out" = 31
serve_checks "1000:1000 read-only, SAGEMAKER_BIND_TO_PORT=9090" 9090 "${RO_ARGS[@]}" -e SAGEMAKER_BIND_TO_PORT=9090

# ----------------------------------------------------------------- sizes ----
size=$($DOCKER image inspect -f '{{.Size}}' "$IMAGE")
base_size=$($DOCKER image inspect -f '{{.Size}}' "$BASE" 2>/dev/null || echo 0)
mb() { awk -v b="$1" 'BEGIN{printf "%.1f MB", b/1e6}'; }
note "runtime image $IMAGE: $(mb "$size") ($size bytes)"
note "base $BASE: $(mb "$base_size"); the project adds $(mb $((size - base_size))) ($((size - base_size)) bytes)"
$DOCKER history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | head -n 10 | cut -c1-110 | sed 's/^/#   layer /'
[[ -n $BUILD_SECONDS ]] && note "image build time: $BUILD_SECONDS s$([[ ${LINEAR_DOCKER_NO_CACHE:-0} == 1 ]] && echo ' (--no-cache)')"

# ---------------------------------------------------------- several hosts ----
# Multi-instance training jobs, one container per host on a private network
# (uses DOCKER, IMAGE, TMP, RUN_ID and ok/not_ok/check/note; chains its cleanup
# before ours; LINEAR_DOCKER_HOSTS=0 skips it).
# shellcheck source=scripts/test-docker-hosts.sh
source "$ROOT/scripts/test-docker-hosts.sh"

finish

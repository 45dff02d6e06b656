#!/usr/bin/env bash
# Coverage-guided fuzzing of stsgate's parsers of untrusted input, on the stable toolchain.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]
#
# Builds every target of fuzz/ once (libFuzzer from the libfuzzer-sys crate, SanitizerCoverage
# through RUSTFLAGS-style codegen flags: see fuzz/README.md), then runs each target (or the ones
# named) for SECONDS_PER_TARGET seconds (default 8) on a copy of its corpus fuzz/corpus/<target>
# in a temporary directory, so nothing is written into the checkout. Prints per target the runs,
# the coverage reached and the time taken. Exits non-zero if the build fails or any target
# crashes, leaks past -rss_limit_mb, or hangs past -timeout; the input that did it is printed
# (libFuzzer's Base64 line) and kept under the temporary directory named in the output.
#
# Compiled dependencies are kept in ${XDG_CACHE_HOME:-~/.cache}/stsgate/fuzz-target-<rustc
# version> (STSGATE_FUZZ_TARGET_DIR overrides it), outside the checkout, so a warm run rebuilds
# only what changed. FUZZ_JOBS targets run at once (default: the number of cores).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
FUZZ="$ROOT/fuzz"
SECS="${1:-8}"
[[ $# -gt 0 ]] && shift
if ! [[ "$SECS" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]" >&2
  exit 2
fi

ALL=()
for f in "$FUZZ"/fuzz_targets/*.rs; do ALL+=("$(basename "$f" .rs)"); done
TARGETS=("$@")
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${ALL[@]}")
for t in "${TARGETS[@]}"; do
  [[ -f "$FUZZ/fuzz_targets/$t.rs" ]] || { echo "no fuzz target $t (have: ${ALL[*]})" >&2; exit 2; }
done

RUSTC_VERSION=$(rustc --version | cut -d' ' -f2)
HOST=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR="${STSGATE_FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stsgate/fuzz-target-$RUSTC_VERSION}"
# SanitizerCoverage goes only to the crates sancov-rustc.sh names (run from a copy beside the
# build, so a checkout without the executable bit works); its hash is a cfg so that a change to
# that list rebuilds what it instruments.
mkdir -p "$CARGO_TARGET_DIR"
export RUSTC_WRAPPER="$CARGO_TARGET_DIR/sancov-rustc.sh"
cmp -s "$FUZZ/sancov-rustc.sh" "$RUSTC_WRAPPER" || install -m 755 "$FUZZ/sancov-rustc.sh" "$RUSTC_WRAPPER"
WRAPPER_HASH=$(sha256sum "$RUSTC_WRAPPER" | cut -c1-16)
export RUSTFLAGS="--cfg fuzzing -Cdebug-assertions -Coverflow-checks --cfg stsgate_sancov=\"$WRAPPER_HASH\""
unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTC_WORKSPACE_WRAPPER CARGO_BUILD_RUSTC_WRAPPER

START=$(date +%s)
printf '==> building %d fuzz targets (rustc %s, %s)\n' "${#ALL[@]}" "$RUSTC_VERSION" "$CARGO_TARGET_DIR"
# --target keeps the flags off build scripts and proc-macros (they run on the host, uninstrumented).
if ! cargo build --release --manifest-path "$FUZZ/Cargo.toml" --target "$HOST" --bins; then
  printf '\nFUZZ: FAILED to build the fuzz targets (after %ss)\n' "$(($(date +%s) - START))"
  exit 1
fi
BUILT=$(date +%s)
printf 'built in %ss\n' "$((BUILT - START))"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stsgate-fuzz.XXXXXX")
keep=0
cleanup() { [[ $keep == 1 ]] || rm -rf "$WORK"; }
trap cleanup EXIT

# Runs one target in $WORK/<target>/: corpus copy, artifacts, log, and its exit code in rc.
run_one() {
  local t="$1" dir="$WORK/$1"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [[ -d "$FUZZ/corpus/$t" ]]; then
    cp -R "$FUZZ/corpus/$t/." "$dir/corpus/"
  fi
  local dict=()
  [[ -f "$FUZZ/dict/$t.dict" ]] && dict=(-dict="$FUZZ/dict/$t.dict")
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  "$CARGO_TARGET_DIR/$HOST/release/$t" \
    -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  echo "$rc" >"$dir/rc"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }' >"$dir/time"
}

# One line per target: runs, coverage (edges at start -> end), features, corpus size, time.
summary() {
  local t="$1" dir="$WORK/$1"
  local rc runs inited last cov0 cov ft corp
  rc=$(cat "$dir/rc")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  inited=$(grep -m1 'INITED' "$dir/log" || true)
  last=$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -1 || true)
  cov0=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$inited")
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  local status=ok
  [[ $rc == 0 ]] || status="FAILED (exit $rc)"
  printf '%-12s runs %9s  cov %5s -> %-5s ft %-6s corpus %-5s %6ss  %s\n' \
    "$t" "${runs:-?}" "${cov0:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$(cat "$dir/time")" "$status"
}

printf '\n==> fuzzing %d targets, %ss each, %s at a time (%s)\n' \
  "${#TARGETS[@]}" "$SECS" "${FUZZ_JOBS:-$(nproc)}" "$WORK"
JOBS="${FUZZ_JOBS:-$(nproc)}"
for t in "${TARGETS[@]}"; do
  while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
  run_one "$t" &
done
wait

failed=()
for t in "${TARGETS[@]}"; do
  summary "$t"
  [[ "$(cat "$WORK/$t/rc")" == 0 ]] || failed+=("$t")
done

for t in "${failed[@]}"; do
  printf '\n==> %s failed; the end of its log (%s):\n' "$t" "$WORK/$t/log"
  # From the panic or libFuzzer's error on, without its progress lines.
  awk '/panicked at|ERROR: libFuzzer|==[0-9]+== ERROR/ { found = 1 } found' "$WORK/$t/log" |
    grep -v -E '^#[0-9]+[[:space:]]|^[[:space:]]+NEW_FUNC' | head -80 || true
  grep -q -E 'panicked at|ERROR: libFuzzer' "$WORK/$t/log" || tail -40 "$WORK/$t/log"
  for input in "$WORK/$t"/artifacts/*; do
    [[ -f "$input" ]] || continue
    printf '%s (%s bytes), base64:\n%s\n' "$input" "$(wc -c <"$input")" "$(head -c 65536 "$input" | base64 -w0)"
  done
done

END=$(date +%s)
if [[ ${#failed[@]} -gt 0 ]]; then
  keep=1
  printf '\nFUZZ: FAILED: %s (build %ss, total %ss); inputs and logs kept in %s\n' \
    "${failed[*]}" "$((BUILT - START))" "$((END - START))" "$WORK"
  exit 1
fi
printf '\nFUZZ: OK: %d targets, %ss each, no crash (build %ss, total %ss)\n' \
  "${#TARGETS[@]}" "$SECS" "$((BUILT - START))" "$((END - START))"

#!/usr/bin/env bash
# RUSTC_WRAPPER for the fuzz build: adds libFuzzer's SanitizerCoverage instrumentation to the
# crates whose code parses untrusted input, and to nothing else.
#
# cargo calls it as `sancov-rustc.sh <rustc> <args…>`. Only target units get the flags (cargo
# passes `--target` to rustc for those, never for build scripts or proc-macros, which run on the
# host and must not be instrumented). Instrumenting all ~350 dependencies, as cargo-fuzz does,
# makes a cold build take twice as long for coverage of code no target is about.
set -euo pipefail
rustc="$1"
shift
crate=""
target=0
prev=""
for arg in "$@"; do
  case "$arg" in
    *fuzz_targets/*.rs) crate=stsgate_fuzz ;;
  esac
  case "$prev" in
    --crate-name) crate="${crate:-$arg}" ;;
    --target) target=1 ;;
  esac
  prev="$arg"
done
case "$crate" in
  stsgate | stsgate_signing | stsgate_policy | stsgate_store | stsgate_fuzz | \
  serde_json | quick_xml | base64 | time | httpdate | percent_encoding | jsonwebtoken | ipnet | http)
    [[ $target == 1 ]] && exec "$rustc" "$@" \
      -Cpasses=sancov-module \
      -Cllvm-args=-sanitizer-coverage-level=4 \
      -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
      -Cllvm-args=-sanitizer-coverage-pc-table \
      -Cllvm-args=-sanitizer-coverage-trace-compares
    ;;
esac
exec "$rustc" "$@"

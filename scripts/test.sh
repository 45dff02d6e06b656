#!/usr/bin/env bash
# The one test command: formatting, lints, unit tests, release build, then the conformance suite
# (real oss2, ali-oss, cos-python-sdk-v5 and cos-nodejs-sdk-v5 SDKs against target/release/stsgate on
# loopback).
# Needs only: a Rust toolchain (with rustfmt and clippy), Python 3.11 + pip, Node 20 + npm, and apt
# (Debian's chromium and faketime for the console's browser tests, installed when missing).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
START=$(date +%s)
step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nRESULT: FAILED at %s (after %ss)\n' "$1" "$(( $(date +%s) - START ))"; exit 1; }
hash_of() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

PYTHON="${PYTHON:-python3}"
for tool in cargo "$PYTHON" node npm; do
  command -v "$tool" >/dev/null || { echo "missing required tool: $tool" >&2; fail "prerequisites"; }
done

step "cargo fmt --check"
cargo fmt --all -- --check || fail "cargo fmt"

step "cargo clippy"
cargo clippy --all-targets -- -D warnings || fail "cargo clippy"

step "cargo test"
cargo test --workspace || fail "cargo test"

step "fuzz targets (scripts/fuzz.sh: every parser of untrusted input, a fixed budget each)"
bash "$ROOT/scripts/fuzz.sh" "${STSGATE_FUZZ_SECONDS:-8}" || fail "fuzzing"

step "cargo build --release"
cargo build --release -p stsgate || fail "cargo build --release"
export STSGATE_BIN="$ROOT/target/release/stsgate"

step "python venv (conformance/requirements.txt)"
VENV="$ROOT/.venv"
REQ="$ROOT/conformance/requirements.txt"
PY_STAMP="$VENV/.requirements.sha256"
want=$(hash_of "$REQ")
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV" || fail "python venv"
fi
if [[ "$(cat "$PY_STAMP" 2>/dev/null || true)" != "$want" ]]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ" || fail "pip install"
  echo "$want" > "$PY_STAMP"
else
  echo "up to date"
fi

step "npm ci (conformance/node)"
NODE_DIR="$ROOT/conformance/node"
NODE_STAMP="$NODE_DIR/node_modules/.lock.sha256"
want=$(hash_of "$NODE_DIR/package-lock.json" "$NODE_DIR/package.json")
if [[ "$(cat "$NODE_STAMP" 2>/dev/null || true)" != "$want" ]]; then
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci"
  echo "$want" > "$NODE_STAMP"
else
  echo "up to date"
fi

step "chromium and faketime (Debian's, for the console's browser tests; Playwright never downloads a browser)"
# faketime: libfaketime speeds up one test server's clock so credentials expire mid-upload.
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v faketime >/dev/null || missing+=(faketime)
if [[ ${#missing[@]} -gt 0 ]]; then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq || fail "apt-get update (for ${missing[*]})"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]}"
else
  echo "present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium), $(command -v faketime)"
fi

step "conformance suite (pytest)"
set +e
(cd "$ROOT/conformance" && "$VENV/bin/python" -m pytest -p no:cacheprovider "$@")
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests" >&2
  fail "conformance (no tests ran)"
elif [[ $rc -ne 0 ]]; then
  fail "conformance (pytest exit $rc)"
fi

printf '\nRESULT: OK — fmt, clippy, cargo test, fuzz targets, release build and conformance suite passed in %ss\n' \
  "$(( $(date +%s) - START ))"

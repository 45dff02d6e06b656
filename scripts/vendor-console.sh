#!/usr/bin/env bash
# Regenerates the console's vendored browser SDKs (crates/server/console/vendor/*.min.js) from the
# npm registry, pinned by crates/server/console/vendor/package-lock.json, and checks each against
# the sha256 recorded in crates/server/console/vendor/SHA256SUMS. The files are committed and
# compiled into the binary (include_bytes!): nothing here runs at build or run time.
#
#   scripts/vendor-console.sh            npm ci into a temp dir, copy the bundles, check them
#   scripts/vendor-console.sh --check    only check the committed bundles against SHA256SUMS
#   scripts/vendor-console.sh --record   after a version bump: copy, then rewrite SHA256SUMS
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENDOR="crates/server/console/vendor"
mode="${1:-}"

# name in vendor/ <- file inside node_modules/
BUNDLES=(
  "aliyun-oss-sdk.min.js:ali-oss/dist/aliyun-oss-sdk.min.js"
  "cos-js-sdk-v5.min.js:cos-js-sdk-v5/dist/cos-js-sdk-v5.min.js"
)

check() {
  (cd "$VENDOR" && sha256sum --check --strict SHA256SUMS)
}

if [[ "$mode" == "--check" ]]; then
  check
  exit 0
fi

command -v npm >/dev/null || { echo "vendor-console.sh needs npm" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp "$VENDOR/package.json" "$VENDOR/package-lock.json" "$TMP/"
(cd "$TMP" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
for b in "${BUNDLES[@]}"; do
  cp "$TMP/node_modules/${b#*:}" "$VENDOR/${b%%:*}"
done
if [[ "$mode" == "--record" ]]; then
  (cd "$VENDOR" && sha256sum "${BUNDLES[@]%%:*}" > SHA256SUMS)
  echo "recorded:"; cat "$VENDOR/SHA256SUMS"
fi
check

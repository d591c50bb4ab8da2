#!/usr/bin/env bash
# The whole test suite: unit, property, conformance-corpus, CLI, and
# native-vs-wasm parity tests. Installs the one thing it needs (the wasm32
# target, for the parity tests) if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "test.sh: installing the wasm32-unknown-unknown target (needed for the parity tests)"
  rustup target add wasm32-unknown-unknown
fi

cargo test --workspace --locked "$@"

#!/usr/bin/env bash
# Runs go-redis's own test suite through the guard: see main.go's doc or
# "go-redis's own tests" section of docs/TESTING.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec go run ./scripts/gorediscompat "$@"

#!/usr/bin/env bash
# Runs go-redis's own test suite through the guard: see main.go's doc or
# README's "go-redis's own tests" section.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec go run ./scripts/gorediscompat "$@"

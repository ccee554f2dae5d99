#!/usr/bin/env bash
# README command 1: set up, build a demo branch workbook and run the quarterly re-rating on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/client-rating demo "$@"

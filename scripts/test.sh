#!/usr/bin/env bash
# README command 2: set up, lint, type-check, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy  # the packages listed in pyproject.toml [tool.mypy] files (clean)
exec .venv/bin/python -m pytest "$@"

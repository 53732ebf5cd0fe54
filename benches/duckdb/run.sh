#!/usr/bin/env bash
# Rollcall side by side with DuckDB on the same data, in one run.
#
#   benches/duckdb/run.sh            # 30,000 students (STUDENTS=N to change)
#
# Builds Rollcall in release mode, makes the benchmark university with
# `cargo bench --bench scale` if it is not there yet, installs DuckDB and Polars from PyPI
# into a virtual environment under target/, then runs
#   benches/duckdb/rating.py    the full-year rating (`rate --full`, and `rate --all-days`
#                               from the daily rollups kept) against expert DuckDB and
#                               Polars references (and DuckDB from the same rollups):
#                               identical ratings checked, then timed in turn, ROUNDS
#                               rounds (default 3), wall and CPU ratios, and the floor;
#   benches/duckdb/reference.py ingest (ROUNDS rounds in turn against DuckDB's plain COPY),
#                               SAR and the project's first DuckDB reference.
set -euo pipefail
cd "$(dirname "$0")/../.."
students="${STUDENTS:-30000}"
target="${CARGO_TARGET_DIR:-target}"
data="${BENCH_DATA_DIR:-$target/bench-data/scale-$students}"
venv="$target/duckdb-venv"

cargo build --release --locked --bin rollcall
if [ ! -d "$data/warehouse" ]; then
  STUDENTS="$students" BENCH_DATA_DIR="$data" cargo bench --bench scale
fi
# The benchmark's pseudonym key (the SAR reads ethnicity through it).
export ROLLCALL_PSEUDONYM_KEY_FILE="$data/keys/pseudonym.key"
# A warehouse made by an earlier version gets the tables it lacks.
"$target/release/rollcall" --warehouse "$data/warehouse" init >/dev/null
if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time to measure peak memory" >&2
  apt-get install -y time >/dev/null || sudo apt-get install -y time >/dev/null
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet "duckdb==2.0.1" "polars==2.1.0"
"$venv/bin/python" benches/duckdb/rating.py \
  --rollcall "$target/release/rollcall" --data "$data" --as-of 2026-06-11 --rounds "${ROUNDS:-3}" \
  --out "$data/rating-results.json"
"$venv/bin/python" benches/duckdb/reference.py \
  --rollcall "$target/release/rollcall" --data "$data" --as-of 2026-06-11 --rounds "${ROUNDS:-3}" \
  --out "$data/duckdb-results.json"

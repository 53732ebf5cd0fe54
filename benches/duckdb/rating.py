"""The full-year rating side by side: Rollcall against references written as an expert in
each tool would, checked for identical ratings, timed alternately in one run.

    benches/duckdb/rating.py --rollcall BIN --data DIR --as-of DAY [--rounds 3]

For each round, in turn: `rollcall rate --full` (every rollup from the raw events, then
every rating), `rollcall rate --all-days` (every rating again from the daily rollups the
first left, as a change of bands, weights or window does), the expert DuckDB reference, the
expert Polars reference and the expert DuckDB reference reading the same daily rollups,
each in a process of its own, measured the same way: wall time, CPU time (user + system)
and peak resident memory from /usr/bin/time. Before timing, `rate --all-days` is checked
to give `rate --full`'s ratings (every column), and each reference's ratings are compared
with Rollcall's (every student, day and band). Then the floor: the bytes of the columns
the rating reads from the raw events, the time to decode them, and a vectorised aggregate
of them to student-day, so the distance to the machine's limit shows in every run.
Prints min / median / max of the ratios (Rollcall / reference, per round) and writes JSON.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib

import duckdb

sys.path.insert(0, os.path.dirname(__file__))
from reference import active_files, register  # noqa: E402


def model(r):
    """README's rating model as `[rating]` sets it (the defaults where it is silent)."""
    w = {"vle": 1.0, "lecture-capture": 2.0, "library": 1.0, "pc-login": 0.5,
         "online-meeting": 3.0, "submission": 5.0, "records-login": 0.5}
    w.update(r.get("weights", {}))
    b = {"low": 0.15, "partial": 0.35, "good": 0.60, "high": 0.85}
    b.update(r.get("bands", {}))
    window = int(r.get("window_days", 14))
    if r.get("basis", "absolute") != "absolute":
        raise SystemExit("the expert references cover basis = 'absolute' (the benchmark's)")
    return {
        "weights": w, "bands": b, "window": window,
        "grace": int(r.get("exemption_grace_days", window - 1)),
        "excusing": r.get("excusing_absence_kinds", ["authorised"]),
        "exempting": r.get("exempting_absence_kinds", []),
        "aw": float(r.get("attendance_weight", 0.6)), "ppd": float(r.get("activity_points_per_day", 10)),
    }


def expert_rating_sql(settings, lo, hi, rollups=False):
    """The full-year rating as an expert in DuckDB would write it: integer student keys,
    activity pre-aggregated once to points and events per student-day (the weights are
    linear, so only two numbers a day are needed), one window pass over a per-student
    calendar with RANGE frames on an integer day, no sorts beyond that window's.

    `rollups`: the activity and attendance a day come from Rollcall's daily rollups
    (`daily_activity`, `daily_attendance`) instead of the raw events, as `rollcall rate
    --all-days` reads them: the same job from the same input."""
    m = model(settings.get("rating", {}))
    w, b, window, grace, aw, ppd = m["weights"], m["bands"], m["window"], m["grace"], m["aw"], m["ppd"]
    excusing, exempting = (",".join(f"'{k}'" for k in m[key]) for key in ("excusing", "exempting"))
    lo_n = f"(DATE '{lo}' - DATE '1970-01-01')"
    hi_n = f"(DATE '{hi}' - DATE '1970-01-01')"
    exempt_join = (f"""ANTI JOIN (SELECT k.sid, a.starts_on - DATE '1970-01-01' AS s, a.ends_on - DATE '1970-01-01' + {grace} AS e
                                 FROM absences a JOIN x_keys k USING (student_id) WHERE a.kind IN ({exempting})) x
                      ON x.sid = g.sid AND g.n BETWEEN x.s AND x.e""" if exempting else "")
    src_points = " ".join(f"WHEN '{s}' THEN {float(v)}" for s, v in w.items())
    activity_and_attendance = (ROLLUP_DAYS if rollups else RAW_DAYS).format(
        src_points=src_points, vle=float(w["vle"]), submission=float(w["submission"]), lo=lo, hi=hi,
        window_less=window - 1, excusing=excusing)
    return f"""
CREATE OR REPLACE TEMP TABLE x_keys AS
SELECT CAST(row_number() OVER () AS INTEGER) AS sid, student_id, programme_code, stage, mode, status, status_date,
       start_date, completion_date
FROM students;

CREATE OR REPLACE TEMP TABLE x_teaching AS
SELECT CAST(d - DATE '1970-01-01' AS INTEGER) AS n
FROM (SELECT CAST(unnest(range(CAST(starts_on AS TIMESTAMP), CAST(ends_on AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 DAY)) AS DATE) AS d
      FROM terms)
WHERE extract(isodow FROM d) BETWEEN 1 AND 5 AND d NOT IN (SELECT CAST(date AS DATE) FROM bank_holidays);

CREATE OR REPLACE TEMP TABLE x_rated_days AS
SELECT d.n, count(*) AS teaching_days
FROM x_teaching d JOIN x_teaching t ON t.n BETWEEN d.n - {window - 1} AND d.n
WHERE d.n BETWEEN {lo_n} AND {hi_n}
GROUP BY d.n;

{activity_and_attendance}
-- The student-days rated: monitored, after the start, until completion, in force
-- (the record's status; no status periods in this data), not exempt.
CREATE OR REPLACE TEMP TABLE x_grid AS
SELECT g.sid, g.n
FROM (SELECT k.sid, d.n
      FROM x_keys k JOIN x_rated_days d
        ON d.n >= k.start_date - DATE '1970-01-01'
       AND (k.completion_date IS NULL OR d.n <= k.completion_date - DATE '1970-01-01')
      WHERE k.status = 'active' OR d.n < k.status_date - DATE '1970-01-01'
         OR (k.status = 'completed' AND k.status_date IS NULL AND k.completion_date IS NOT NULL)) g
{exempt_join};

CREATE OR REPLACE TEMP TABLE x_ratings AS
WITH days AS (
    SELECT sid, n, sum(points) AS points, sum(events) AS events, sum(expected) AS expected,
           sum(attended) AS attended, max(rated) AS rated
    FROM (SELECT sid, n, points, events, 0 AS expected, 0 AS attended, 0 AS rated FROM x_activity
          UNION ALL SELECT sid, n, 0, 0, expected, attended, 0 FROM x_attendance
          UNION ALL SELECT sid, n, 0, 0, 0, 0, 1 FROM x_grid)
    GROUP BY sid, n
),
windowed AS (
    SELECT sid, n, rated,
           sum(points) OVER w AS points, sum(events) OVER w AS events,
           sum(expected) OVER w AS expected, sum(attended) OVER w AS attended
    FROM days
    WINDOW w AS (PARTITION BY sid ORDER BY n RANGE BETWEEN {window - 1} PRECEDING AND CURRENT ROW)
    QUALIFY rated = 1
),
scored AS (
    SELECT w.sid, w.n, w.events + w.attended AS engagement,
           least(1.0, w.points / ({ppd} * CAST(d.teaching_days AS DOUBLE))) AS activity_score,
           CASE WHEN w.expected > 0 THEN CAST(w.attended AS DOUBLE) / CAST(w.expected AS DOUBLE) END AS rate
    FROM windowed w JOIN x_rated_days d USING (n)
),
totals AS (
    SELECT sid, n, engagement,
           CASE WHEN rate IS NOT NULL THEN {aw} * rate + (1.0 - {aw}) * activity_score ELSE activity_score END AS score
    FROM scored
)
SELECT k.student_id, DATE '1970-01-01' + CAST(t.n AS INTEGER) AS day,
       CASE WHEN engagement = 0 THEN 'Very Low'
            WHEN score >= {b['high']} THEN 'High' WHEN score >= {b['good']} THEN 'Good'
            WHEN score >= {b['partial']} THEN 'Partial' WHEN score >= {b['low']} THEN 'Low'
            ELSE 'Very Low' END AS rating,
       score
FROM totals t JOIN x_keys k USING (sid);
"""


# Each student's activity and attendance a day (`x_activity`, `x_attendance`), from the raw
# events: activity pre-aggregated in one pass, sessions marked attended and excused.
# Each student's points and engagement events a day (`x_activity`), distance learners
# counting VLE and submissions only, from `{table}`'s `{count}` per student, day and source.
ACTIVITY_DAYS = """CREATE OR REPLACE TEMP TABLE x_activity AS
WITH per_day AS (
    SELECT student_id, CAST(day - DATE '1970-01-01' AS INTEGER) AS n,
           sum({count} * CASE source {src_points} ELSE 0 END) AS points,
           sum({count}) AS events,
           sum({count} * CASE source WHEN 'vle' THEN {vle} WHEN 'submission' THEN {submission} ELSE 0 END) AS d_points,
           sum(CASE WHEN source IN ('vle', 'submission') THEN {count} ELSE 0 END) AS d_events
    FROM {table}
    WHERE day BETWEEN DATE '{lo}' - INTERVAL {window_less} DAY AND DATE '{hi}'
    GROUP BY ALL
)
SELECT k.sid, p.n,
       CASE WHEN k.mode = 'distance' THEN p.d_points ELSE p.points END AS points,
       CASE WHEN k.mode = 'distance' THEN p.d_events ELSE p.events END AS events
FROM per_day p JOIN x_keys k USING (student_id);

"""

# Each student's activity and attendance a day (`x_activity`, `x_attendance`) from the raw
# events: activity pre-aggregated in one pass, sessions marked attended and excused.
RAW_DAYS = ACTIVITY_DAYS.replace("{table}", "activity").replace("{count}", "count") + """\
-- Sessions expected and attended a day (excused sessions not expected unless attended).
CREATE OR REPLACE TEMP TABLE x_attendance AS
WITH expected AS (
    SELECT k.sid, cl.session_id, CAST(s.day - DATE '1970-01-01' AS INTEGER) AS n
    FROM sessions s
    JOIN class_lists cl ON cl.session_id = s.session_id
    JOIN x_keys k ON k.student_id = cl.student_id
    WHERE s.day BETWEEN DATE '{lo}' - INTERVAL {window_less} DAY AND DATE '{hi}'
      AND k.status = 'active' AND k.mode <> 'distance'
),
attended AS (
    SELECT DISTINCT k.sid, o.session_id
    FROM swipe_outcomes o JOIN x_keys k USING (student_id)
    WHERE o.outcome = 'attended'
),
excused AS (
    SELECT DISTINCT e.sid, e.session_id
    FROM expected e
    JOIN (SELECT k.sid, a.starts_on - DATE '1970-01-01' AS s, a.ends_on - DATE '1970-01-01' AS t
          FROM absences a JOIN x_keys k USING (student_id) WHERE a.kind IN ({excusing})) a
      ON a.sid = e.sid AND e.n BETWEEN a.s AND a.t
)
SELECT e.sid, e.n,
       count(*) FILTER (WHERE x.sid IS NULL OR a.sid IS NOT NULL) AS expected,
       count(a.sid) AS attended
FROM expected e
LEFT JOIN attended a ON a.sid = e.sid AND a.session_id = e.session_id
LEFT JOIN excused x ON x.sid = e.sid AND x.session_id = e.session_id
GROUP BY ALL;

"""

# The same from Rollcall's daily rollups (per student, day and source; per student and day).
ROLLUP_DAYS = ACTIVITY_DAYS.replace("{table}", "daily_activity").replace("{count}", "events") + """\
-- Sessions expected (excused ones not, unless attended) and attended a day, as rolled up.
CREATE OR REPLACE TEMP TABLE x_attendance AS
SELECT k.sid, CAST(a.day - DATE '1970-01-01' AS INTEGER) AS n, a.expected, a.attended
FROM daily_attendance a JOIN x_keys k USING (student_id)
WHERE a.day BETWEEN DATE '{lo}' - INTERVAL {window_less} DAY AND DATE '{hi}';

"""

# The references, by engine name.
ENGINES = {"duckdb": "expert DuckDB", "polars": "expert Polars",
           "duckdb-rollups": "expert DuckDB from the daily rollups"}


def timed(args, env=None):
    """Runs a command under /usr/bin/time: (wall s, CPU s, peak MiB, stdout)."""
    proc = subprocess.run(["/usr/bin/time", "-f", "TIMED %e %U %S %M", *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{proc.stderr[-2000:]}")
    line = [l for l in proc.stderr.splitlines() if l.startswith("TIMED ")][-1].split()
    wall, user, system, rss = float(line[1]), float(line[2]), float(line[3]), int(line[4])
    return wall, user + system, rss / 1024.0, proc.stdout


def duckdb_engine(data, as_of_range, out, rollups=False):
    """Child process: the expert DuckDB reference, writing its ratings to `out`; from the
    daily rollups when `rollups`."""
    warehouse = os.path.join(data, "warehouse")
    with open(os.path.join(warehouse, "rollcall.toml"), "rb") as f:
        settings = tomllib.load(f)
    lo, hi = as_of_range.split(",")
    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count()}")
    con.execute("SET enable_progress_bar = false")
    inputs = ["daily_activity", "daily_attendance"] if rollups else ["activity", "swipe_outcomes", "sessions",
                                                                     "class_lists"]
    register(con, warehouse, [*inputs, "students", "absences", "terms", "bank_holidays"])
    import time
    for statement in expert_rating_sql(settings, lo, hi, rollups).split(";\n"):
        if statement.strip():
            started = time.perf_counter()
            con.execute(statement)
            if os.environ.get("RATING_STEPS"):
                name = next(l for l in statement.splitlines() if l.startswith("CREATE"))
                print(f"{time.perf_counter() - started:7.2f} s  {name}", file=sys.stderr)
    con.execute(f"COPY x_ratings TO '{out}' (FORMAT parquet)")


def polars_engine(data, as_of_range, out):
    """Child process: the full-year rating as an expert in Polars would write it (lazy
    frames, integer student keys, activity aggregated once to points and events per
    student-day, rolling sums by integer day over each student), writing its ratings."""
    import polars as pl

    warehouse = os.path.join(data, "warehouse")
    with open(os.path.join(warehouse, "rollcall.toml"), "rb") as f:
        m = model(tomllib.load(f).get("rating", {}))
    w, b, window, grace, aw, ppd = m["weights"], m["bands"], m["window"], m["grace"], m["aw"], m["ppd"]
    excusing, exempting = m["excusing"], m["exempting"]
    lo, hi = (pl.Series([d]).str.to_date().cast(pl.Int32)[0] for d in as_of_range.split(","))

    def scan(name):
        return pl.scan_parquet(active_files(os.path.join(warehouse, "tables", name)))

    day = lambda c: pl.col(c).cast(pl.Int32)
    keys = (scan("students").with_row_index("sid")
            .select("sid", "student_id", "mode", "status", day("status_date").alias("status_n"),
                    day("start_date").alias("start_n"), day("completion_date").alias("completion_n"))
            .collect().lazy())
    holidays = scan("bank_holidays").select(pl.col("date").cast(pl.Date).cast(pl.Int32).alias("n"))
    teaching = (scan("terms").select(pl.date_ranges("starts_on", "ends_on").alias("d")).explode("d")
                .filter(pl.col("d").dt.weekday() <= 5).select(pl.col("d").cast(pl.Int32).alias("n"))
                .join(holidays, on="n", how="anti").unique().collect())
    days = teaching["n"].sort().to_list()
    rated_days = pl.DataFrame({
        "n": [d for d in days if lo <= d <= hi],
        "teaching_days": [sum(1 for t in days if d - window < t <= d) for d in days if lo <= d <= hi],
    }, schema={"n": pl.Int32, "teaching_days": pl.Int64}).lazy()

    source = pl.col("source")
    # Counts per student, day and source first (the weights then apply to 11M rows, not 59M).
    activity = (scan("activity").filter(day("day").is_between(lo - window + 1, hi))
                .group_by("student_id", "day", "source").agg(pl.col("count").sum())
                .with_columns(weight=source.replace_strict(w, default=0.0, return_dtype=pl.Float64),
                              d_weight=source.replace_strict({"vle": w["vle"], "submission": w["submission"]},
                                                             default=0.0, return_dtype=pl.Float64))
                .group_by("student_id", "day")
                .agg(points=(pl.col("count") * pl.col("weight")).sum(),
                     events=pl.col("count").sum(),
                     d_points=(pl.col("count") * pl.col("d_weight")).sum(),
                     d_events=pl.col("count").filter(source.is_in(["vle", "submission"])).sum())
                .join(keys, on="student_id")
                .select("sid", day("day").alias("n"),
                        pl.when(pl.col("mode") == "distance").then("d_points").otherwise("points").alias("points"),
                        pl.when(pl.col("mode") == "distance").then("d_events").otherwise("events").alias("events")))

    taught = keys.filter((pl.col("status") == "active") & (pl.col("mode") != "distance")).select("sid", "student_id")
    expected = (scan("sessions").filter(day("day").is_between(lo - window + 1, hi))
                .select("session_id", day("day").alias("n"))
                .join(scan("class_lists").select("session_id", "student_id"), on="session_id")
                .join(taught, on="student_id").select("sid", "session_id", "n"))
    attended = (scan("swipe_outcomes").filter(pl.col("outcome") == "attended").select("student_id", "session_id")
                .unique().join(keys.select("sid", "student_id"), on="student_id")
                .select("sid", "session_id", pl.lit(True).alias("attended")))
    excuses = (scan("absences").filter(pl.col("kind").is_in(excusing))
               .join(keys.select("sid", "student_id"), on="student_id")
               .select("sid", day("starts_on").alias("s"), day("ends_on").alias("e")))
    excused = (expected.join(excuses, on="sid").filter(pl.col("n").is_between("s", "e"))
               .select("sid", "session_id").unique().with_columns(excused=pl.lit(True)))
    attendance = (expected.join(attended, on=["sid", "session_id"], how="left")
                  .join(excused, on=["sid", "session_id"], how="left")
                  .group_by("sid", "n")
                  .agg(expected=(pl.col("excused").is_null() | pl.col("attended").is_not_null()).sum().cast(pl.Int64),
                       attended=pl.col("attended").is_not_null().sum().cast(pl.Int64)))

    grid = (keys.join(rated_days, how="cross")
            .filter((pl.col("n") >= pl.col("start_n"))
                    & (pl.col("completion_n").is_null() | (pl.col("n") <= pl.col("completion_n")))
                    & ((pl.col("status") == "active") | (pl.col("n") < pl.col("status_n"))
                       | ((pl.col("status") == "completed") & pl.col("status_n").is_null()
                          & pl.col("completion_n").is_not_null())))
            .select("sid", "n"))
    if exempting:
        exempt = (scan("absences").filter(pl.col("kind").is_in(exempting))
                  .join(keys.select("sid", "student_id"), on="student_id")
                  .select("sid", day("starts_on").alias("s"), (day("ends_on") + grace).alias("e")))
        covered = grid.join(exempt, on="sid").filter(pl.col("n").is_between("s", "e")).select("sid", "n").unique()
        grid = grid.join(covered, on=["sid", "n"], how="anti")

    zero_f, zero_i = pl.lit(0.0), pl.lit(0, dtype=pl.Int64)
    facts = pl.concat([
        activity.select("sid", "n", "points", pl.col("events").cast(pl.Int64), expected=zero_i, attended=zero_i,
                        rated=pl.lit(False)),
        attendance.select("sid", "n", points=zero_f, events=zero_i, expected="expected", attended="attended",
                          rated=pl.lit(False)),
        grid.select("sid", "n", points=zero_f, events=zero_i, expected=zero_i, attended=zero_i, rated=pl.lit(True)),
    ], how="vertical_relaxed")
    # One sorted integer key per student-day, students 2^20 days apart: a rolling window
    # by the key never reaches into another student, so no per-group pass is needed.
    per_day = (facts.group_by("sid", "n").agg(pl.col("points", "events", "expected", "attended").sum(),
                                               pl.col("rated").any())
               .with_columns(key=(pl.col("sid").cast(pl.Int64) * (1 << 20)) + pl.col("n"))
               .sort("key"))
    rolling = [pl.col(c).rolling_sum_by("key", window_size=f"{window}i")
               for c in ["points", "events", "expected", "attended"]]
    rate = pl.col("attended").cast(pl.Float64) / pl.col("expected").cast(pl.Float64)
    activity_score = pl.min_horizontal(pl.lit(1.0), pl.col("points") / (ppd * pl.col("teaching_days").cast(pl.Float64)))
    score = pl.when(pl.col("expected") > 0).then(aw * rate + (1.0 - aw) * activity_score).otherwise(activity_score)
    band = (pl.when(pl.col("events") + pl.col("attended") == 0).then(pl.lit("Very Low"))
            .when(pl.col("score") >= b["high"]).then(pl.lit("High"))
            .when(pl.col("score") >= b["good"]).then(pl.lit("Good"))
            .when(pl.col("score") >= b["partial"]).then(pl.lit("Partial"))
            .when(pl.col("score") >= b["low"]).then(pl.lit("Low"))
            .otherwise(pl.lit("Very Low")))
    ratings = (per_day.with_columns(rolling).filter("rated").join(rated_days, on="n")
               .with_columns(score=score).with_columns(rating=band)
               .join(keys.select("sid", "student_id"), on="sid")
               .select("student_id", pl.col("n").cast(pl.Date).alias("day"), "rating", "score"))
    ratings.sink_parquet(out)


def floor(data, lo, hi, window):
    """Child process: the bytes of the raw-event columns the rating reads, the time to
    decode them, and a vectorised aggregate of them to student-day."""
    import time
    warehouse = os.path.join(data, "warehouse")
    files = active_files(os.path.join(warehouse, "tables", "activity"))
    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count()}")
    columns = ["student_id", "day", "source", "count"]
    size = con.execute(
        f"SELECT sum(total_compressed_size), sum(total_uncompressed_size) FROM parquet_metadata({files!r}) "
        f"WHERE path_in_schema IN ({','.join(repr(c) for c in columns)})").fetchone()
    where = f"day BETWEEN DATE '{lo}' - INTERVAL {window - 1} DAY AND DATE '{hi}'"
    started = time.perf_counter()
    cpu = time.process_time()
    con.execute(f"SELECT count(*), min(student_id), min(source), sum(count) FROM read_parquet({files!r}) WHERE {where}").fetchall()
    decode = (time.perf_counter() - started, time.process_time() - cpu)
    started = time.perf_counter()
    cpu = time.process_time()
    groups = con.execute(f"SELECT count(*) FROM (SELECT student_id, day, sum(count) FROM read_parquet({files!r}) "
                         f"WHERE {where} GROUP BY ALL)").fetchone()[0]
    aggregate = (time.perf_counter() - started, time.process_time() - cpu)
    print(json.dumps({"compressed_bytes": size[0], "uncompressed_bytes": size[1], "decode_seconds": decode[0],
                      "decode_cpu_seconds": decode[1], "aggregate_seconds": aggregate[0],
                      "aggregate_cpu_seconds": aggregate[1], "student_days": groups}))


def spread(values):
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3), "max": round(max(values), 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rollcall", help="the rollcall binary")
    ap.add_argument("--data", required=True, help="directory with warehouse/ (the scale benchmark's)")
    ap.add_argument("--as-of", help="day the full-year rating runs to")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", help="JSON results file")
    ap.add_argument("--engine", help=argparse.SUPPRESS)
    ap.add_argument("--range", help=argparse.SUPPRESS)
    ap.add_argument("--ratings-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.engine in ("duckdb", "duckdb-rollups"):
        return duckdb_engine(args.data, args.range, args.ratings_out, rollups=args.engine == "duckdb-rollups")
    if args.engine == "polars":
        return polars_engine(args.data, args.range, args.ratings_out)
    if args.engine == "floor":
        lo, hi, window = args.range.split(",")
        return floor(args.data, lo, hi, int(window))
    if not os.path.exists("/usr/bin/time"):
        sys.exit("needs /usr/bin/time (Debian package `time`)")
    warehouse = os.path.join(args.data, "warehouse")
    with open(os.path.join(warehouse, "rollcall.toml"), "rb") as f:
        window = int(tomllib.load(f).get("rating", {}).get("window_days", 14))
    me = [sys.executable, os.path.abspath(__file__), "--data", args.data]
    rate = [args.rollcall, "--warehouse", warehouse, "rate", "--as-of", args.as_of, "-q"]
    # Rollcall twice: every rollup from the raw events, then every rating again from the
    # daily rollups the first left (what a change of bands, weights or window does).
    rollcalls = {"rollcall": [*rate, "--full"], "rollcall-kept": [*rate, "--all-days"]}
    scratch = tempfile.mkdtemp()

    # Once first: Rollcall's ratings to compare with (and the days they cover), the same
    # again from the rollups kept, then each reference's, compared with them.
    timed(rollcalls["rollcall"])
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    register(con, warehouse, ["ratings"])
    lo, hi, rated = con.execute("SELECT min(day), max(day), count(*) FROM ratings").fetchone()
    full = os.path.join(scratch, "full.parquet")
    con.execute(f"COPY (SELECT * EXCLUDE (computed_at) FROM ratings) TO '{full}' (FORMAT parquet)")
    timed(rollcalls["rollcall-kept"])
    register(con, warehouse, ["ratings"])
    differ = con.execute(f"SELECT count(*) FROM (SELECT * EXCLUDE (computed_at) FROM ratings "
                         f"EXCEPT ALL SELECT * FROM '{full}')").fetchone()[0]
    if differ or con.execute("SELECT count(*) FROM ratings").fetchone()[0] != rated:
        sys.exit(f"rate --all-days differs from rate --full: {differ} rows")
    print(f"rate --all-days: the same {rated:,} ratings, every column, as rate --full")
    engines = {name: [*me, "--range", f"{lo},{hi}", "--ratings-out", os.path.join(scratch, f"{name}.parquet"),
                      "--engine", name] for name in ENGINES}
    for name, command in engines.items():
        timed(command)
        theirs = os.path.join(scratch, f"{name}.parquet")
        ours_n, theirs_n, differ = con.execute(f"""
            SELECT (SELECT count(*) FROM ratings), (SELECT count(*) FROM '{theirs}'),
                   (SELECT count(*) FROM ratings r FULL JOIN '{theirs}' d USING (student_id, day)
                    WHERE r.rating IS DISTINCT FROM d.rating)""").fetchone()
        if ours_n != theirs_n or differ:
            sys.exit(f"ratings differ: Rollcall {ours_n} rows, {ENGINES[name]} {theirs_n}, {differ} differ")
        print(f"{ENGINES[name]}: identical ratings, {rated:,} student-days from {lo} to {hi}")

    # Then in turn, round after round: Rollcall both ways, each reference.
    rounds = []
    for i in range(args.rounds):
        measured = {name: timed(command)[:3] for name, command in rollcalls.items()}
        for name, command in engines.items():
            measured[name] = timed(command)[:3]
        rounds.append(measured)
        print(f"round {i + 1}: " + "; ".join(
            f"{n} {m[0]:.2f} s wall, {m[1]:.2f} s CPU, {m[2]:.0f} MiB" for n, m in measured.items()))
    fl = json.loads(timed([*me, "--range", f"{lo},{hi},{window}", "--engine", "floor"])[3])
    results = {"duckdb": duckdb.__version__, "threads": os.cpu_count(), "ratings": rated, "rounds": rounds,
               "floor": fl}
    for name in [*rollcalls, *ENGINES]:
        results[name] = {"wall": spread([r[name][0] for r in rounds]), "cpu": spread([r[name][1] for r in rounds]),
                         "peak_mib": spread([r[name][2] for r in rounds])}
    for ours in rollcalls:
        for name in ENGINES:
            results[f"ratio_{ours}_{name}"] = {
                "wall": spread([r[ours][0] / r[name][0] for r in rounds]),
                "cpu": spread([r[ours][1] / r[name][1] for r in rounds]),
            }
    labels = {"rollcall": "Rollcall `rate --full`", "rollcall-kept": "Rollcall `rate --all-days`", **ENGINES}
    print()
    print("| full-year rating | wall, median s | CPU, median s | peak MiB, median "
          "| `rate --full` / it, wall (min / median / max) | CPU | `rate --all-days` / it, wall | CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for name in [*rollcalls, *ENGINES]:
        m = results[name]
        ratios = "| | | | |"
        if name in ENGINES:
            cells = []
            for ours in rollcalls:
                w, c = results[f"ratio_{ours}_{name}"]["wall"], results[f"ratio_{ours}_{name}"]["cpu"]
                cells += [f"{w['min']:.2f} / {w['median']:.2f} / {w['max']:.2f}",
                          f"{c['min']:.2f} / {c['median']:.2f} / {c['max']:.2f}"]
            ratios = "| " + " | ".join(cells) + " |"
        print(f"| {labels[name]} | {m['wall']['median']:.2f} | {m['cpu']['median']:.2f} | {m['peak_mib']['median']:.0f} {ratios}")
    print()
    print(f"floor: the raw events' columns the rating reads (student_id, day, source, count) are "
          f"{fl['compressed_bytes'] / 2**20:.0f} MiB compressed ({fl['uncompressed_bytes'] / 2**20:.0f} MiB decoded); "
          f"decoding them takes {fl['decode_seconds']:.2f} s ({fl['decode_cpu_seconds']:.2f} s CPU), "
          f"their aggregate to {fl['student_days']:,} student-days {fl['aggregate_seconds']:.2f} s "
          f"({fl['aggregate_cpu_seconds']:.2f} s CPU), DuckDB on {os.cpu_count()} threads")
    shutil.rmtree(scratch)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Side-by-side reference: the same computations as Rollcall, in DuckDB, on the same data.

Given a warehouse built by Rollcall (for example by `cargo bench --bench scale`) and the
CSV files it was built from, this script times, in one run:

  * CSV to Parquet: `rollcall ingest activity` into a fresh warehouse, against DuckDB's
    plain COPY of the same files to Parquet (in turn, `--rounds` rounds: min / median /
    max of the ratios, wall and CPU), and against DuckDB doing what Rollcall does
    to them (the same checks, local times to UTC, the local day, repeated keys kept once;
    `validating_copy`), whose rows are compared with Rollcall's table before its time is;
  * the full-year rating from raw events: `rollcall rate --full`, against DuckDB computing
    the daily rollups and the ratings with the same SQL logic (below), reading the same
    Parquet files (the tables' current files, from their Delta transaction logs);
  * one student's subject-access lookup: `rollcall sar`, against DuckDB selecting that
    student's rows from every table.

It checks that both produce the same ratings (every student, day and band) before it
compares times, prints a table with Rollcall/DuckDB ratios, and writes a JSON file.
Rollcall's peak memory is each child process's maximum resident set size.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib

import duckdb


def active_files(table_dir):
    """The Parquet files of a Delta table's latest version (checkpoint, then commits)."""
    log = os.path.join(table_dir, "_delta_log")
    names = sorted(os.listdir(log))
    files = set()
    start = -1
    checkpoints = [n for n in names if n.endswith(".checkpoint.parquet")]
    if checkpoints:
        latest = max(checkpoints)
        start = int(latest.split(".")[0])
        con = duckdb.connect()
        rows = con.execute(
            "SELECT add.path FROM read_parquet(?) WHERE add IS NOT NULL", [os.path.join(log, latest)]
        ).fetchall()
        files.update(r[0] for r in rows)
    for name in names:
        if not name.endswith(".json") or int(name.split(".")[0]) <= start:
            continue
        with open(os.path.join(log, name)) as f:
            for line in f:
                action = json.loads(line)
                if "add" in action:
                    files.add(action["add"]["path"])
                elif "remove" in action:
                    files.discard(action["remove"]["path"])
    return [os.path.join(table_dir, p) for p in sorted(files)]


def run_rollcall(args):
    """Runs rollcall under /usr/bin/time (its peak RSS is rollcall's own, not this
    process's); returns (seconds, peak RSS MiB, stdout, CPU seconds: user and system)."""
    if not os.path.exists("/usr/bin/time"):
        sys.exit("needs /usr/bin/time (Debian package `time`) to measure Rollcall's peak memory")
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M CPU %U %S", *args], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"rollcall failed: {' '.join(args)}\n{proc.stderr}")
    rss = [line.split() for line in proc.stderr.splitlines() if line.startswith("MAXRSS ")]
    peak = int(rss[-1][1]) / 1024.0 if rss else float("nan")
    cpu = float(rss[-1][3]) + float(rss[-1][4]) if rss else float("nan")
    return seconds, peak, proc.stdout, cpu


def cpu_seconds():
    """This process's CPU time so far (DuckDB runs in it), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def spread(values):
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3)}


def register(con, warehouse, names):
    for name in names:
        files = active_files(os.path.join(warehouse, "tables", name))
        if files:
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({files!r}, union_by_name=true)")
        else:
            columns = ", ".join(f'"{n}" {t}' for n, t in delta_columns(os.path.join(warehouse, "tables", name)))
            con.execute(f"CREATE OR REPLACE TABLE {name} ({columns})")


DELTA_TYPES = {
    "string": "VARCHAR", "long": "BIGINT", "integer": "INTEGER", "short": "SMALLINT", "byte": "TINYINT",
    "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "date": "DATE",
    "timestamp": "TIMESTAMPTZ", "timestamp_ntz": "TIMESTAMP", "binary": "BLOB",
}


def delta_columns(table_dir):
    """The (name, DuckDB type) columns of a Delta table with no data files, from the
    schema in its log (the last metaData action)."""
    log = os.path.join(table_dir, "_delta_log")
    schema = None
    for name in sorted(n for n in os.listdir(log) if n.endswith(".json")):
        with open(os.path.join(log, name)) as f:
            for line in f:
                action = json.loads(line)
                if "metaData" in action:
                    schema = json.loads(action["metaData"]["schemaString"])
    if schema is None:
        sys.exit(f"{table_dir}: no schema in the Delta log")
    return [(field["name"], DELTA_TYPES.get(field["type"], "VARCHAR")) for field in schema["fields"]]


def rating_sql(settings, lo, hi):
    """Rollcall's queries/rating/*.sql in DuckDB's dialect, settings bound as literals."""
    r = settings.get("rating", {})
    w = {
        "vle": 1.0, "lecture-capture": 2.0, "library": 1.0, "pc-login": 0.5,
        "online-meeting": 3.0, "submission": 5.0, "records-login": 0.5,
    }
    w.update(r.get("weights", {}))
    b = {"low": 0.15, "partial": 0.35, "good": 0.60, "high": 0.85}
    b.update(r.get("bands", {}))
    c = {"low": 0.10, "partial": 0.25, "good": 0.50, "high": 0.80}
    c.update(r.get("cohort_bands", {}))
    window = int(r.get("window_days", 14))
    excusing = ",".join(f"'{k}'" for k in r.get("excusing_absence_kinds", ["authorised"]))
    p = dict(
        lo=f"DATE '{lo}'", hi=f"DATE '{hi}'", window=window,
        basis=f"'{r.get('basis', 'absolute')}'", min_cohort=int(r.get("min_cohort_size", 10)),
        aw=float(r.get("attendance_weight", 0.6)), ppd=float(r.get("activity_points_per_day", 10)),
        excusing=excusing,
    )
    n = "(CAST({} AS DATE) - DATE '1970-01-01')"
    return f"""
CREATE OR REPLACE TABLE dd_teaching_days AS
WITH term_days AS (
    SELECT academic_year, term, starts_on,
           CAST(unnest(range(CAST(starts_on AS TIMESTAMP), CAST(ends_on AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 DAY)) AS DATE) AS day
    FROM terms
)
SELECT t.day, t.academic_year, t.term,
       CAST(({n.format('t.day')} - {n.format("date_trunc('week', t.starts_on)")}) // 7 + 1 AS BIGINT) AS term_week
FROM term_days t
ANTI JOIN bank_holidays b ON CAST(b.date AS DATE) = t.day
WHERE extract(isodow FROM t.day) BETWEEN 1 AND 5;

CREATE OR REPLACE TABLE dd_daily_activity AS
SELECT student_id, day, source, sum(count) AS events
FROM activity
WHERE day BETWEEN {p['lo']} - INTERVAL {window} DAY AND {p['hi']}
GROUP BY student_id, day, source;

CREATE OR REPLACE TABLE dd_daily_attendance AS
WITH expected AS (
    SELECT cl.student_id, s.session_id, s.day
    FROM sessions s
    JOIN class_lists cl ON cl.session_id = s.session_id
    JOIN students st ON st.student_id = cl.student_id
    WHERE s.day BETWEEN {p['lo']} - INTERVAL {window} DAY AND {p['hi']}
      AND st.status = 'active' AND st.mode <> 'distance'
),
attended AS (SELECT DISTINCT student_id, session_id FROM swipe_outcomes WHERE outcome = 'attended'),
excused AS (
    SELECT DISTINCT e.student_id, e.session_id
    FROM expected e JOIN absences a ON a.student_id = e.student_id AND e.day BETWEEN a.starts_on AND a.ends_on
    WHERE a.kind IN ({p['excusing']})
)
SELECT e.student_id, e.day,
       sum(CASE WHEN x.session_id IS NULL OR a.session_id IS NOT NULL THEN 1 ELSE 0 END) AS expected,
       sum(CASE WHEN a.session_id IS NOT NULL THEN 1 ELSE 0 END) AS attended
FROM expected e
LEFT JOIN attended a ON a.student_id = e.student_id AND a.session_id = e.session_id
LEFT JOIN excused x ON x.student_id = e.student_id AND x.session_id = e.session_id
GROUP BY e.student_id, e.day;

CREATE OR REPLACE TABLE dd_ratings AS
WITH rated_days AS (SELECT * FROM dd_teaching_days WHERE day BETWEEN {p['lo']} AND {p['hi']}),
window_teaching AS (
    SELECT d.day, count(*) AS teaching_days
    FROM rated_days d JOIN dd_teaching_days t ON t.day BETWEEN d.day - INTERVAL {window - 1} DAY AND d.day
    GROUP BY d.day
),
grid AS (
    SELECT m.student_id, m.programme_code, m.stage, m.mode, d.day, {n.format('d.day')} AS n
    FROM students m CROSS JOIN rated_days d
    WHERE m.status = 'active' AND d.day >= m.start_date AND (m.completion_date IS NULL OR d.day <= m.completion_date)
),
per_day AS (
    SELECT student_id, {n.format('day')} AS n,
           sum(CASE WHEN source = 'vle' THEN events ELSE 0 END) AS vle,
           sum(CASE WHEN source = 'lecture-capture' THEN events ELSE 0 END) AS lecture_capture,
           sum(CASE WHEN source = 'library' THEN events ELSE 0 END) AS library,
           sum(CASE WHEN source = 'pc-login' THEN events ELSE 0 END) AS pc_login,
           sum(CASE WHEN source = 'online-meeting' THEN events ELSE 0 END) AS online_meeting,
           sum(CASE WHEN source = 'submission' THEN events ELSE 0 END) AS submission,
           sum(CASE WHEN source = 'records-login' THEN events ELSE 0 END) AS records_login
    FROM dd_daily_activity GROUP BY student_id, day
),
att AS (SELECT student_id, {n.format('day')} AS n, expected, attended FROM dd_daily_attendance),
windowed AS (
    SELECT g.student_id, g.programme_code, g.stage, g.mode, g.day, wt.teaching_days,
           coalesce(sum(a.vle), 0) AS vle, coalesce(sum(a.lecture_capture), 0) AS lecture_capture,
           coalesce(sum(a.library), 0) AS library, coalesce(sum(a.pc_login), 0) AS pc_login,
           coalesce(sum(a.online_meeting), 0) AS online_meeting, coalesce(sum(a.submission), 0) AS submission,
           coalesce(sum(a.records_login), 0) AS records_login
    FROM grid g
    JOIN window_teaching wt ON wt.day = g.day
    LEFT JOIN per_day a ON a.student_id = g.student_id AND a.n BETWEEN g.n - {window - 1} AND g.n
    GROUP BY ALL
),
with_att AS (
    SELECT w.*, coalesce(sum(t.expected), 0) AS expected, coalesce(sum(t.attended), 0) AS attended
    FROM windowed w
    LEFT JOIN att t ON t.student_id = w.student_id AND t.n BETWEEN {n.format('w.day')} - {window - 1} AND {n.format('w.day')}
    GROUP BY ALL
),
counted AS (
    SELECT *,
           CASE WHEN mode = 'distance' THEN {w['vle']} * vle + {w['submission']} * submission
                ELSE {w['vle']} * vle + {w['lecture-capture']} * lecture_capture + {w['library']} * library
                     + {w['pc-login']} * pc_login + {w['online-meeting']} * online_meeting
                     + {w['submission']} * submission + {w['records-login']} * records_login END AS activity_points,
           CASE WHEN mode = 'distance' THEN vle + submission
                ELSE vle + lecture_capture + library + pc_login + online_meeting + submission + records_login + attended
           END AS engagement_events,
           CASE WHEN expected > 0 THEN attended / expected END AS attendance_rate
    FROM with_att
),
scored AS (
    SELECT *, least(1.0, activity_points / ({p['ppd']} * teaching_days)) AS activity_score FROM counted
),
scored_total AS (
    SELECT *, CASE WHEN attendance_rate IS NOT NULL THEN {p['aw']} * attendance_rate + (1.0 - {p['aw']}) * activity_score
                   ELSE activity_score END AS score
    FROM scored
),
ranked AS (
    SELECT *, cume_dist() OVER (PARTITION BY programme_code, stage, day ORDER BY score) AS cohort_share,
           count(*) OVER (PARTITION BY programme_code, stage, day) AS cohort_size
    FROM scored_total
)
SELECT student_id, day,
       CASE WHEN engagement_events = 0 THEN 'Very Low'
            WHEN {p['basis']} = 'cohort' AND cohort_size >= {p['min_cohort']} THEN
                CASE WHEN cohort_share >= {c['high']} THEN 'High' WHEN cohort_share >= {c['good']} THEN 'Good'
                     WHEN cohort_share >= {c['partial']} THEN 'Partial' WHEN cohort_share >= {c['low']} THEN 'Low'
                     ELSE 'Very Low' END
            ELSE
                CASE WHEN score >= {b['high']} THEN 'High' WHEN score >= {b['good']} THEN 'Good'
                     WHEN score >= {b['partial']} THEN 'Partial' WHEN score >= {b['low']} THEN 'Low'
                     ELSE 'Very Low' END
       END AS rating,
       score
FROM ranked;
"""


SOURCES = ["vle", "lecture-capture", "library", "pc-login", "online-meeting", "submission", "records-login"]


def validating_copy(con, parts, target, tz):
    """DuckDB doing what `rollcall ingest activity` does to the same files, written for
    speed: typed reading with DuckDB's own reject store for values that do not parse;
    Rollcall's checks on the rest (student id present, at most 4,096 bytes, no control
    character; a known source; count 0 to 1,000,000, 1 when empty; duration 0 to
    31,536,000 s); local wall-clock times to UTC through a table of the zone's hours
    (the first occurrence of the hour the clocks repeat; an hour they skip has no row, so
    its times are dropped), joined on the hour instead of converting each row; the local
    day; repeated keys (student, time, source) kept once; written to Parquet, in one
    pipelined statement. Times with an explicit offset are not read by this reference (the
    suite's files have none). Returns (rows written, values DuckDB could not parse); rows
    failing Rollcall's checks are left out, and the comparison of the rows written with
    Rollcall's table shows whether they agree."""
    con.execute("SET VARIABLE sources = ?", [SOURCES])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE zone_hours AS
        SELECT local_hour, min(utc_hour) AS utc_hour
        FROM (SELECT utc_hour, (utc_hour AT TIME ZONE '{tz}') AS local_hour
              FROM generate_series(TIMESTAMPTZ '2000-01-01 00:00:00+00', TIMESTAMPTZ '2040-01-01 00:00:00+00',
                                   INTERVAL 1 HOUR) AS t(utc_hour))
        GROUP BY local_hour""")
    con.execute(f"""
        COPY (
            SELECT c.student_id,
                   z.utc_hour + (c.occurred_at - date_trunc('hour', c.occurred_at)) AS occurred_at,
                   CAST(c.occurred_at AS DATE) AS day, c.source, any_value(c.count) AS count,
                   any_value(c.duration_s) AS duration_s, now() AS ingested_at
            FROM (SELECT trim(student_id) AS student_id, occurred_at, trim(source) AS source,
                         coalesce(count, 1) AS count, duration_s
                  FROM read_csv({parts!r}, header = true, store_rejects = true,
                                columns = {{'student_id': 'VARCHAR', 'occurred_at': 'TIMESTAMP', 'source': 'VARCHAR',
                                            'count': 'BIGINT', 'duration_s': 'BIGINT'}})) c
            JOIN zone_hours z ON z.local_hour = date_trunc('hour', c.occurred_at)
            WHERE c.student_id <> '' AND strlen(c.student_id) <= 4096
              AND NOT regexp_matches(c.student_id, '[\\x00-\\x1f\\x7f]')
              AND list_contains(getvariable('sources'), c.source)
              AND c.count BETWEEN 0 AND 1000000
              AND (c.duration_s IS NULL OR c.duration_s BETWEEN 0 AND 31536000)
            GROUP BY c.student_id, c.occurred_at, c.source, z.utc_hour
        ) TO '{target}' (FORMAT parquet)""")
    written = con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()[0]
    rejected = con.execute("SELECT count(*) FROM reject_errors").fetchone()[0]
    return written, rejected


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rollcall", required=True, help="the rollcall binary")
    ap.add_argument("--data", required=True, help="directory with input/ and warehouse/")
    ap.add_argument("--as-of", required=True, help="day the full-year rating runs to")
    ap.add_argument("--out", required=True, help="JSON results file")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of the ingest against the COPY")
    args = ap.parse_args()
    warehouse = os.path.join(args.data, "warehouse")
    inputs = os.path.join(args.data, "input")
    with open(os.path.join(warehouse, "rollcall.toml"), "rb") as f:
        settings = tomllib.load(f)
    threads = os.cpu_count()
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    results = []

    def row(job, rollcall, duck, rows, note=""):
        results.append({
            "job": job, "rows": rows, "rollcall_seconds": round(rollcall[0], 3),
            "rollcall_peak_mib": round(rollcall[1], 1), "duckdb_seconds": round(duck, 3),
            "ratio": round(rollcall[0] / duck, 2) if duck > 0 else None, "note": note,
        })

    # 1. Full-year rating from raw events.
    rc = run_rollcall([args.rollcall, "--warehouse", warehouse, "rate", "--as-of", args.as_of, "--full", "-q"])
    tables = ["activity", "swipe_outcomes", "students", "sessions", "class_lists", "absences", "terms",
              "bank_holidays", "ratings"]
    register(con, warehouse, tables)
    lo, hi, rated = con.execute("SELECT min(day), max(day), count(*) FROM ratings").fetchone()
    started = time.perf_counter()
    con.execute(rating_sql(settings, lo, hi))
    duck = time.perf_counter() - started
    ours, theirs, differ = con.execute("""
        SELECT (SELECT count(*) FROM ratings), (SELECT count(*) FROM dd_ratings),
               (SELECT count(*) FROM ratings r FULL JOIN dd_ratings d USING (student_id, day)
                WHERE r.rating IS DISTINCT FROM d.rating)
    """).fetchone()
    if ours != theirs or differ != 0:
        # This first reference no longer gives the model's ratings (benches/duckdb/rating.py's
        # expert references follow README's model and check every rating); a run that differs
        # says so and is not compared, and the ingest and SAR comparisons below still run.
        sample = con.execute("""
            SELECT r.day, r.rating, d.rating FROM ratings r FULL JOIN dd_ratings d USING (student_id, day)
            WHERE r.rating IS DISTINCT FROM d.rating LIMIT 3""").fetchall()
        print(f"first reference: ratings differ (Rollcall {ours} rows, DuckDB {theirs}, {differ} student-days "
              f"differ; e.g. {sample}); not compared: see rating.py for the checked references", file=sys.stderr)
        results.append({"job": "full-year rate (first reference)", "rows": rated, "rollcall_seconds": round(rc[0], 3),
                        "rollcall_peak_mib": round(rc[1], 1), "duckdb_seconds": round(duck, 3), "ratio": None,
                        "note": f"not compared: {differ} student-days differ"})
    else:
        row("full-year rate (raw events to ratings)", rc, duck, rated, f"identical ratings: {ours} student-days")

    # 2. Subject-access lookup of one student.
    student = con.execute("SELECT min(student_id) FROM students WHERE status = 'active'").fetchone()[0]
    out = tempfile.mkdtemp()
    rc = run_rollcall([args.rollcall, "--warehouse", warehouse, "sar", student, "--out", os.path.join(out, "sar")])
    register(con, warehouse, ["daily_activity", "daily_attendance", "cases", "swipes"])
    started = time.perf_counter()
    found = 0
    for t in ["students", "class_lists", "swipes", "swipe_outcomes", "activity", "absences", "daily_activity",
              "daily_attendance", "ratings", "cases"]:
        found += len(con.execute(f"SELECT * FROM {t} WHERE student_id = ?", [student]).fetchall())
    duck = time.perf_counter() - started
    row("sar (one student, every table)", rc, duck, found)

    # 3. CSV to Parquet (activity): Rollcall's ingest into a fresh warehouse, then DuckDB's
    # plain COPY, in turn, `--rounds` times (the COPY's time has varied by half from one
    # run to the next on the same machine); the ratio of each round, min / median / max.
    parts = sorted(os.path.join(inputs, n) for n in os.listdir(inputs) if n.startswith("activity-"))
    fresh = os.path.join(out, "warehouse")
    copied = os.path.join(out, "activity.parquet")
    rounds = []
    for _ in range(args.rounds):
        shutil.rmtree(fresh, ignore_errors=True)
        subprocess.run([args.rollcall, "--warehouse", fresh, "init"], check=True, capture_output=True)
        rc = run_rollcall([args.rollcall, "--warehouse", fresh, "-q", "ingest", "activity", *parts])
        if os.path.exists(copied):
            os.remove(copied)
        started, cpu_before = time.perf_counter(), cpu_seconds()
        con.execute(f"COPY (SELECT * FROM read_csv({parts!r}, header = true)) TO '{copied}' (FORMAT parquet)")
        duck, duck_cpu = time.perf_counter() - started, cpu_seconds() - cpu_before
        rounds.append((rc, duck, duck_cpu))
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{copied}')").fetchone()[0]
    wall = spread([rc[0] / duck for rc, duck, _ in rounds])
    cpu = spread([rc[3] / duck_cpu for rc, _, duck_cpu in rounds])
    middle = sorted(rounds, key=lambda r: r[0][0] / r[1])[len(rounds) // 2]
    rc = middle[0]  # the validating reference below is set beside the median round
    row("CSV to Parquet (activity)", middle[0], middle[1], rows,
        f"Rollcall also validates, converts to UTC and deduplicates; {args.rounds} rounds in turn, "
        f"Rollcall / COPY wall {wall['min']:.2f} / {wall['median']:.2f} / {wall['max']:.2f}, "
        f"CPU {cpu['min']:.2f} / {cpu['median']:.2f} / {cpu['max']:.2f} (min / median / max)")
    results[-1]["rounds"] = [{"rollcall_seconds": round(rc[0], 3), "rollcall_cpu_seconds": round(rc[3], 3),
                              "rollcall_peak_mib": round(rc[1], 1), "duckdb_seconds": round(duck, 3),
                              "duckdb_cpu_seconds": round(duck_cpu, 3)} for rc, duck, duck_cpu in rounds]
    results[-1]["ratio_wall"], results[-1]["ratio_cpu"] = wall, cpu

    # 4. The same files checked, converted and deduplicated as Rollcall does, then written.
    started = time.perf_counter()
    checked = os.path.join(out, "activity-checked.parquet")
    written, rejected = validating_copy(con, parts, checked, settings.get("timezone", "Europe/London"))
    duck = time.perf_counter() - started
    ours = active_files(os.path.join(fresh, "tables", "activity"))
    totals = """SELECT count(*), sum(epoch_us(occurred_at)), sum(day - DATE '2000-01-01'), sum(count),
                       count(duration_s), count(DISTINCT student_id) FROM read_parquet(?)"""
    same = con.execute(totals, [ours]).fetchone() == con.execute(totals, [[checked]]).fetchone()
    note = f"DuckDB rejected {rejected} rows; " + (
        "the same rows as Rollcall's table (count, sums of times, days and counts, students)" if same
        else "NOT the same rows as Rollcall's table: not compared")
    if not same:
        print(f"validating reference: {note}", file=sys.stderr)
    row("CSV to Parquet, validated and deduplicated", rc, duck if same else 0, written, note)
    shutil.rmtree(out)

    print(f"{'job':42} {'rows':>12} {'Rollcall s':>11} {'peak MiB':>9} {'DuckDB s':>9} {'ratio':>6}")
    for r in results:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"{r['job']:42} {r['rows']:>12,} {r['rollcall_seconds']:>11.2f} {r['rollcall_peak_mib']:>9.0f} "
              f"{r['duckdb_seconds']:>9.2f} {ratio:>6}")
    for r in results:
        if "rounds" in r:
            print(f"{r['job']}: {r['note']}; per round (Rollcall s / COPY s): "
                  + ", ".join(f"{x['rollcall_seconds']:.2f} / {x['duckdb_seconds']:.2f}" for x in r["rounds"]))
    with open(args.out, "w") as f:
        json.dump({"duckdb": duckdb.__version__, "threads": threads, "results": results}, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Runs contrib/sql/consensus.sql, unchanged, on an engine that is not
ours, over Parquet facts that `bootaudit fleet --export` wrote, and prints
the departures as JSON: {"PARQUET": [row, ...], ...}, with "seconds": the
engine's time for all of them (without starting Python or the engine).

    fleet_sql.py duckdb|spark SQL_FILE PARQUET...
    fleet_sql.py duckdb-jsonl SQL_FILE JSONL...

duckdb-jsonl makes the facts from JSON lines of snapshots in DuckDB itself
(contrib/sql/facts-from-jsonl.duckdb.sql), the comparison of
`cargo bench --bench fleet`.

DuckDB runs embedded, on one thread (FLEET_SQL_THREADS=N sets another
count, as the bench's all-cores run does). Spark runs in local mode on one
core, kept on loopback (SPARK_LOCAL_IP, spark.driver.host and
spark.driver.bindAddress 127.0.0.1, UI off). Each file is registered as
the view `facts`, as the SQL's header says.
"""
import json
import os
import sys
import time

COLUMNS = ["source", "host", "manufacturer", "product", "bios_version",
           "firmware_revision", "kind", "key", "this_value", "consensus",
           "hosts_like_this", "hosts_with_consensus", "group_hosts"]


THREADS = int(os.environ.get("FLEET_SQL_THREADS", "1"))


def duckdb_rows(sql, files):
    import duckdb
    out = {}
    for f in files:
        c = duckdb.connect()
        c.execute(f"SET threads TO {THREADS}")
        c.read_parquet(f).create_view("facts")
        cur = c.execute(sql)
        names = [d[0] for d in cur.description]
        assert names == COLUMNS, names
        out[f] = [dict(zip(names, r)) for r in cur.fetchall()]
        c.close()
    return out


def duckdb_jsonl_rows(sql, files):
    import duckdb
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "../../contrib/sql/facts-from-jsonl.duckdb.sql")) as f:
        make_facts = f.read()
    out = {}
    for f in files:
        c = duckdb.connect()
        c.execute(f"SET threads TO {THREADS}")
        c.execute(make_facts.replace("__FLEET_JSONL__", f.replace("'", "''")))
        cur = c.execute(sql)
        names = [d[0] for d in cur.description]
        out[f] = [dict(zip(names, r)) for r in cur.fetchall()]
        c.close()
    return out


def spark_rows(sql, files):
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[1]")
             .appName("bootaudit-fleet-sql")
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    out = {}
    try:
        for f in files:
            spark.read.parquet(f).createOrReplaceTempView("facts")
            df = spark.sql(sql)
            assert df.columns == COLUMNS, df.columns
            out[f] = [r.asDict() for r in df.collect()]
    finally:
        spark.stop()
    return out


def main():
    engine, sql_file, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(sql_file) as f:
        sql = f.read()
    run = {"duckdb": duckdb_rows, "duckdb-jsonl": duckdb_jsonl_rows,
           "spark": spark_rows}[engine]
    t0 = time.monotonic()
    rows = run(sql, files)
    rows["seconds"] = time.monotonic() - t0
    # Peak resident memory of this process (DuckDB runs in it), in KiB.
    import resource
    rows["peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    main()

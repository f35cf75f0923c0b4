"""Runs contrib/sql/consensus.sql, unchanged, on an engine that is not
ours, over Parquet facts that `bootaudit fleet --export` wrote, and prints
the departures as JSON: {"PARQUET": [row, ...], ...}.

    fleet_sql.py duckdb|spark SQL_FILE PARQUET...

DuckDB runs embedded, on one thread. Spark runs in local mode on one
core, kept on loopback (SPARK_LOCAL_IP, spark.driver.host and
spark.driver.bindAddress 127.0.0.1, UI off). Each file is registered as
the view `facts`, as the SQL's header says.
"""
import json
import os
import sys

COLUMNS = ["source", "host", "manufacturer", "product", "bios_version",
           "firmware_revision", "kind", "key", "this_value", "consensus",
           "hosts_like_this", "hosts_with_consensus", "group_hosts"]


def duckdb_rows(sql, files):
    import duckdb
    out = {}
    for f in files:
        c = duckdb.connect()
        c.execute("SET threads TO 1")
        c.read_parquet(f).create_view("facts")
        cur = c.execute(sql)
        names = [d[0] for d in cur.description]
        assert names == COLUMNS, names
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
    rows = {"duckdb": duckdb_rows, "spark": spark_rows}[engine](sql, files)
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    main()

-- The fleet consensus of `bootaudit fleet`, as SQL that runs unchanged on
-- DuckDB and Spark SQL (and needs nothing but standard SQL with window
-- functions, for Trino or BigQuery). It reads one table, `facts`: the
-- Parquet file `bootaudit fleet --export facts.parquet` writes (one row per
-- host, kind, key and value; one row of kind 'host' per host). Register it
-- first:
--   DuckDB: CREATE VIEW facts AS SELECT * FROM read_parquet('facts.parquet');
--   Spark:  spark.read.parquet("facts.parquet").createOrReplaceTempView("facts")
--
-- It returns the departures: every host and key where what the host holds
-- is held by at most max(1, floor(share x group hosts)) of its group, and
-- something else (or absence) by more. A group of fewer than 3 hosts has no
-- consensus. A key with more than 64 distinct values in a group is
-- "varied": only its presence is compared. Ties go to absence, then to the
-- smallest value (byte order). These are `bootaudit fleet`'s rules
-- (src/fleet/consensus.rs); the parameters below are its defaults
-- (--outlier-share 0.05). `fleet` maps each departure to a rule and a
-- severity; this query returns the departures themselves, with the counts.
-- Not here: `fleet`'s indicator matches and per-host baselines, which need
-- the snapshot itself, and its cap of 65,536 keys per group.
WITH params AS (
    SELECT CAST(0.05 AS DOUBLE) AS share, 3 AS min_hosts, 64 AS max_values
),
hosts AS (
    SELECT source, host, manufacturer, product, bios_version, firmware_revision
    FROM facts
    WHERE kind = 'host'
),
groups AS (
    SELECT manufacturer, product, bios_version, firmware_revision,
           COUNT(*) AS group_hosts
    FROM hosts
    GROUP BY manufacturer, product, bios_version, firmware_revision
),
items AS (
    SELECT source, manufacturer, product, bios_version, firmware_revision,
           kind, key, value
    FROM facts
    WHERE kind <> 'host'
),
tally AS (
    SELECT manufacturer, product, bios_version, firmware_revision,
           kind, key, value, COUNT(*) AS holders
    FROM items
    GROUP BY manufacturer, product, bios_version, firmware_revision, kind, key, value
),
ranked AS (
    SELECT manufacturer, product, bios_version, firmware_revision,
           kind, key, value, holders,
           ROW_NUMBER() OVER (
               PARTITION BY manufacturer, product, bios_version, firmware_revision, kind, key
               ORDER BY holders DESC, value ASC) AS rn,
           COUNT(*) OVER (
               PARTITION BY manufacturer, product, bios_version, firmware_revision, kind, key
           ) AS distinct_values,
           SUM(holders) OVER (
               PARTITION BY manufacturer, product, bios_version, firmware_revision, kind, key
           ) AS present
    FROM tally
),
keyed AS (
    SELECT r.manufacturer, r.product, r.bios_version, r.firmware_revision,
           r.kind, r.key, r.present,
           r.distinct_values > p.max_values AS varied,
           r.value AS best_value, r.holders AS best_count,
           g.group_hosts, g.group_hosts - r.present AS absent
    FROM ranked r
    JOIN groups g
      ON g.manufacturer = r.manufacturer AND g.product = r.product
     AND g.bios_version = r.bios_version AND g.firmware_revision = r.firmware_revision
    CROSS JOIN params p
    WHERE r.rn = 1 AND g.group_hosts >= p.min_hosts
),
majority AS (
    SELECT k.*,
           CASE WHEN k.varied THEN k.present > k.absent
                ELSE k.best_count > k.absent END AS major_present,
           CASE WHEN NOT k.varied AND k.best_count > k.absent
                THEN k.best_value END AS major_value,
           CASE WHEN k.varied AND k.present > k.absent THEN k.present
                WHEN NOT k.varied AND k.best_count > k.absent THEN k.best_count
                ELSE k.absent END AS major_count
    FROM keyed k
),
judged AS (
    SELECT h.source, h.host, m.manufacturer, m.product, m.bios_version,
           m.firmware_revision, m.kind, m.key, i.value AS this_value,
           m.varied, m.present, m.absent, m.major_present, m.major_value,
           m.major_count, m.group_hosts
    FROM hosts h
    JOIN majority m
      ON m.manufacturer = h.manufacturer AND m.product = h.product
     AND m.bios_version = h.bios_version AND m.firmware_revision = h.firmware_revision
    LEFT JOIN items i
      ON i.source = h.source AND i.kind = m.kind AND i.key = m.key
),
counted AS (
    SELECT j.*,
           CASE WHEN j.this_value IS NULL THEN j.absent
                WHEN j.varied THEN j.present
                ELSE t.holders END AS hosts_like_this
    FROM judged j
    LEFT JOIN tally t
      ON t.manufacturer = j.manufacturer AND t.product = j.product
     AND t.bios_version = j.bios_version AND t.firmware_revision = j.firmware_revision
     AND t.kind = j.kind AND t.key = j.key AND t.value = j.this_value
)
SELECT c.source, c.host, c.manufacturer, c.product, c.bios_version,
       c.firmware_revision, c.kind, c.key, c.this_value,
       CASE WHEN NOT c.major_present THEN NULL
            WHEN c.varied THEN 'present'
            ELSE c.major_value END AS consensus,
       c.hosts_like_this, c.major_count AS hosts_with_consensus, c.group_hosts
FROM counted c
CROSS JOIN params p
WHERE c.hosts_like_this <= GREATEST(1, CAST(FLOOR(c.group_hosts * p.share) AS BIGINT))
  AND c.major_count > c.hosts_like_this
  AND NOT ((c.this_value IS NULL AND NOT c.major_present)
        OR (c.this_value IS NOT NULL AND c.varied AND c.major_present)
        OR (c.this_value IS NOT NULL AND NOT c.varied
            AND COALESCE(c.major_value = c.this_value, FALSE)))
ORDER BY c.source, c.kind, c.key

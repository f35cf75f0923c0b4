-- DuckDB only: the `facts` table of consensus.sql made by DuckDB itself
-- from a JSON-lines file of snapshots, without bootaudit. It is the
-- comparison of `cargo bench --bench fleet`: the same consensus with the
-- engine doing the extraction as well. Replace __FLEET_JSONL__ with the
-- file, run this, then consensus.sql.
--
-- It is less than `fleet --export`: SQL cannot read the TPM event log (a
-- hex string of binary events), so it has no PCR0 firmware-blob rows and
-- misses an implant seen only there; the host id and the instance numbers
-- follow bootaudit's rules (src/fleet/profile.rs) only as far as SQL
-- reaches, and the source is the host id.
CREATE OR REPLACE TABLE snaps AS
SELECT
    COALESCE(
        NULLIF(CAST(identity.machine_id AS VARCHAR), ''),
        CASE WHEN regexp_matches(COALESCE(CAST(identity.smbios.system_uuid AS VARCHAR), ''), '[1-9a-fA-F]')
             THEN CAST(identity.smbios.system_uuid AS VARCHAR) END,
        NULLIF(CAST(identity.smbios.system_serial AS VARCHAR), ''),
        identity.hostname) AS host,
    COALESCE(identity.smbios.system_manufacturer, '') AS manufacturer,
    COALESCE(identity.smbios.system_product, '') AS product,
    COALESCE(identity.smbios.bios_version, '') AS bios_version,
    COALESCE(identity.firmware_revision, 0) AS firmware_revision,
    tpm.pcrs.sha256 AS pcrs,
    loaded_images,
    acpi.tables AS tables,
    memory_maps,
    secure_boot.variables AS variables
FROM read_json('__FLEET_JSONL__', format = 'newline_delimited');

CREATE OR REPLACE VIEW facts AS
SELECT host AS source, host, manufacturer, product, bios_version, firmware_revision,
       'host' AS kind, '' AS key, '' AS value
FROM snaps
UNION ALL
SELECT host, host, manufacturer, product, bios_version, firmware_revision,
       'pcr:' || n, 'sha256 PCR' || n, v
FROM (SELECT *, UNNEST([0, 2, 7]) AS n,
             UNNEST([pcrs."0", pcrs."2", pcrs."7"]) AS v FROM snaps)
WHERE v IS NOT NULL
UNION ALL
-- A path loaded twice is one key (bootaudit keeps the last build seen;
-- this keeps the greatest).
SELECT host, host, manufacturer, product, bios_version, firmware_revision,
       'driver', i.device_path,
       max(COALESCE('Some(' || i.size_of_image || ')', 'None') || '/'
           || COALESCE('Some(' || i.timestamp || ')', 'None'))
FROM (SELECT *, UNNEST(loaded_images) AS i FROM snaps)
WHERE contains(i.device_path, 'FvFile(')
GROUP BY host, manufacturer, product, bios_version, firmware_revision, i.device_path
UNION ALL
SELECT host, host, manufacturer, product, bios_version, firmware_revision,
       'acpi',
       t.signature || ' ' || t.oem_table_id || ' #'
           || ROW_NUMBER() OVER (PARTITION BY host, t.signature, t.oem_table_id),
       CASE WHEN t.signature IN ('XSDT', 'RSDT', 'FACP', 'TPM2', 'BGRT', 'FACS')
            THEN COALESCE(t.content_sha256, '') ELSE t.sha256 END
FROM (SELECT *, UNNEST(tables) AS t FROM snaps)
WHERE t.signature NOT IN ('XSDT', 'RSDT', 'FACS') AND t.via <> 'sysfs-data'
UNION ALL
SELECT host, host, manufacturer, product, bios_version, firmware_revision,
       'region:' || d.type,
       d.type || ' ' || d.pages || ' pages #'
           || ROW_NUMBER() OVER (PARTITION BY host, d.type, d.pages),
       'present'
FROM (SELECT *, UNNEST(m.descriptors) AS d
      FROM (SELECT *, UNNEST(memory_maps) AS m FROM snaps)
      WHERE m.label IN ('entry', 'efi-runtime-map'))
WHERE d.type IN (0, 5, 6, 9, 10, 11, 12, 14)
UNION ALL
SELECT host, host, manufacturer, product, bios_version, firmware_revision,
       'dbx', 'dbx', v.size || ' ' || v.sha256
FROM (SELECT *, UNNEST(variables) AS v FROM snaps)
WHERE v.name = 'dbx';

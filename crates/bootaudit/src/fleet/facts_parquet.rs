//! `fleet --export facts.parquet`: every host's facts as Parquet rows, for
//! running the fleet consensus where the data already is (DuckDB, Spark,
//! Trino, BigQuery; the SQL is in `contrib/sql/`).
//!
//! One row per host, key and value: the same (kind, key, value) items
//! `fleet` builds its consensus from ([`super::profile`]), each with the
//! host's id, its source, and its group's four columns. Each host also has
//! one row of kind `host` (key and value empty), so that a host with no
//! item at all still counts in its group, as it does in `fleet`. Hosts
//! whose snapshot could not be read have no row.
//!
//! | column              | type            | what                                  |
//! |---------------------|-----------------|---------------------------------------|
//! | `source`            | string          | the snapshot (file, or `NAME:LINE`): one per snapshot |
//! | `host`              | string          | the host's id                          |
//! | `manufacturer`      | string          | group: SMBIOS system manufacturer      |
//! | `product`           | string          | group: SMBIOS product name             |
//! | `bios_version`      | string          | group: SMBIOS BIOS version             |
//! | `firmware_revision` | int64           | group: EFI firmware revision           |
//! | `kind`              | string          | [`super::profile::Kind::name`], or `host` |
//! | `key`               | string          | what is compared (`sha256 PCR0`, a device path, `SSDT BOCHS #1`) |
//! | `value`             | string          | its value on this host                 |
//!
//! The file is written to a temporary beside the target and renamed into
//! place when complete: a failed or interrupted export leaves no half file.

use super::facts::HostFacts;
use crate::fsutil::AtomicFile;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use std::path::Path;
use std::sync::Arc;

/// The schema of the facts file.
pub const SCHEMA: &str = "message bootaudit_fleet_facts {
    REQUIRED BINARY source (STRING);
    REQUIRED BINARY host (STRING);
    REQUIRED BINARY manufacturer (STRING);
    REQUIRED BINARY product (STRING);
    REQUIRED BINARY bios_version (STRING);
    REQUIRED INT64 firmware_revision;
    REQUIRED BINARY kind (STRING);
    REQUIRED BINARY key (STRING);
    REQUIRED BINARY value (STRING);
}";

/// Rows buffered before they are written as one row group: bounds the
/// writer's memory whatever the fleet's size.
const ROWS_PER_GROUP: usize = 1 << 16;

/// Why the export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The file could not be created or written.
    #[error("{path}: {cause}")]
    Io {
        /// The target.
        path: String,
        /// What failed.
        cause: std::io::Error,
    },
    /// The Parquet writer failed.
    #[error("{path}: writing Parquet: {cause}")]
    Parquet {
        /// The target.
        path: String,
        /// What failed.
        cause: parquet::errors::ParquetError,
    },
}

/// Columns of buffered rows.
#[derive(Default)]
struct Rows {
    strings: [Vec<ByteArray>; 8],
    revision: Vec<i64>,
}

/// Writes host facts as Parquet rows, a row group at a time.
pub struct FactsWriter {
    path: String,
    writer: SerializedFileWriter<AtomicFile>,
    rows: Rows,
}

impl FactsWriter {
    /// Starts the file (a temporary beside `path`, renamed by
    /// [`FactsWriter::finish`]).
    pub fn create(path: &Path) -> Result<FactsWriter, ExportError> {
        let name = path.display().to_string();
        let out = AtomicFile::create(path).map_err(|cause| ExportError::Io {
            path: name.clone(),
            cause,
        })?;
        let pq = |cause| ExportError::Parquet {
            path: name.clone(),
            cause,
        };
        let schema = Arc::new(parquet::schema::parser::parse_message_type(SCHEMA).map_err(pq)?);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("bootaudit {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = SerializedFileWriter::new(out, schema, Arc::new(props)).map_err(pq)?;
        Ok(FactsWriter {
            path: name,
            writer,
            rows: Rows::default(),
        })
    }

    /// Adds one host's rows.
    pub fn push(&mut self, f: &HostFacts) -> Result<(), ExportError> {
        let g = &f.group;
        let mut row = |kind: &str, key: &str, value: &str| {
            let cols = [
                f.source.as_str(),
                f.host.as_str(),
                g.manufacturer.as_str(),
                g.product.as_str(),
                g.bios_version.as_str(),
                kind,
                key,
                value,
            ];
            for (c, v) in self.rows.strings.iter_mut().zip(cols) {
                c.push(ByteArray::from(v.as_bytes().to_vec()));
            }
            self.rows.revision.push(i64::from(g.firmware_revision));
        };
        row("host", "", "");
        for (k, key, v) in &f.items {
            row(&k.name(), key, v);
        }
        if self.rows.revision.len() >= ROWS_PER_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered rows as one row group.
    fn flush(&mut self) -> Result<(), ExportError> {
        if self.rows.revision.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let path = self.path.clone();
        let mut rg = self
            .writer
            .next_row_group()
            .map_err(|cause| ExportError::Parquet {
                path: path.clone(),
                cause,
            })?;
        // Columns in schema order: five strings, the revision, three strings.
        let mut strings = rows.strings.into_iter();
        let mut i = 0;
        loop {
            let col = rg.next_column();
            let mut col = match col {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(cause) => return Err(ExportError::Parquet { path, cause }),
            };
            let wrote = if i == 5 {
                col.typed::<Int64Type>()
                    .write_batch(&rows.revision, None, None)
            } else {
                let v = strings.next().unwrap_or_default();
                col.typed::<ByteArrayType>().write_batch(&v, None, None)
            };
            let closed = wrote.and_then(|_| col.close());
            if let Err(cause) = closed {
                return Err(ExportError::Parquet { path, cause });
            }
            i += 1;
        }
        rg.close()
            .map_err(|cause| ExportError::Parquet { path, cause })?;
        Ok(())
    }

    /// Writes the last rows and the footer, and renames the file into
    /// place.
    pub fn finish(mut self) -> Result<(), ExportError> {
        self.flush()?;
        let path = self.path.clone();
        let out = self
            .writer
            .into_inner()
            .map_err(|cause| ExportError::Parquet {
                path: path.clone(),
                cause,
            })?;
        out.commit()
            .map_err(|cause| ExportError::Io { path, cause })
    }
}

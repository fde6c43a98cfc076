//! Result sets in the SQL API's `jsonv2` form: the `rowType` of each column, every cell a JSON
//! string or null in Snowflake's encodings, and the rows cut into partitions. A statement's
//! rows are encoded once, when it finishes: partition 0 as the JSON array the ResultSet
//! carries inline, every later partition as the gzip-compressed `{"data":[...]}` body its GET
//! returns, so serving a partition costs nothing and memory holds the compressed form.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use crate::error::SqlError;

/// A column's Snowflake type, as `rowType[].type` names it (lower case). The served views
/// use some of them; the others (and their cell encoders) are here so that every encoding
/// the SQL API sends is in one place, tested.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    /// NUMBER(38,0).
    Fixed,
    /// NUMBER(38,s) with s > 0 (the cell carries s decimals).
    Decimal(u8),
    Boolean,
    TimestampLtz,
    TimestampTz,
    /// ARRAY and OBJECT: the cell is the JSON text.
    Array,
    Object,
}

impl Kind {
    fn wire(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Fixed | Kind::Decimal(_) => "fixed",
            Kind::Boolean => "boolean",
            Kind::TimestampLtz => "timestamp_ltz",
            Kind::TimestampTz => "timestamp_tz",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

/// The largest VARCHAR, which is what SHOW and INFORMATION_SCHEMA text columns are.
const TEXT_LENGTH: i64 = 16_777_216;

/// One result column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ColumnType {
    pub name: String,
    pub kind: Kind,
    pub nullable: bool,
    /// Where the column comes from (database, schema, table); empty for SHOW output and
    /// expressions.
    pub database: String,
    pub schema: String,
    pub table: String,
}

impl ColumnType {
    pub fn new(name: impl Into<String>, kind: Kind) -> Self {
        ColumnType {
            name: name.into(),
            kind,
            nullable: true,
            database: String::new(),
            schema: String::new(),
            table: String::new(),
        }
    }

    fn row_type(&self) -> Value {
        let (scale, precision, length, byte_length) = match self.kind {
            // Semi-structured columns are sized as the largest VARCHAR, as Snowflake types them.
            Kind::Text | Kind::Array | Kind::Object => {
                (None, None, Some(TEXT_LENGTH), Some(TEXT_LENGTH))
            }
            Kind::Fixed => (Some(0), Some(38), None, None),
            Kind::Decimal(scale) => (Some(i64::from(scale)), Some(38), None, None),
            Kind::Boolean => (None, None, None, None),
            Kind::TimestampLtz | Kind::TimestampTz => (Some(9), Some(0), None, None),
        };
        json!({
            "name": self.name, "database": self.database, "schema": self.schema,
            "table": self.table, "scale": scale, "precision": precision, "length": length,
            "type": self.kind.wire(), "nullable": self.nullable, "byteLength": byte_length,
            "collation": null,
        })
    }
}

/// A FIXED cell: the decimal number.
pub(crate) fn fixed(n: i64) -> Option<String> {
    Some(n.to_string())
}

/// A BOOLEAN cell.
pub(crate) fn boolean(b: bool) -> Option<String> {
    Some(if b { "true" } else { "false" }.to_owned())
}

/// A TIMESTAMP_LTZ / TIMESTAMP_NTZ / TIME cell: epoch seconds with nine decimals.
pub(crate) fn timestamp(seconds: i64, nanos: u32) -> Option<String> {
    Some(format!("{seconds}.{nanos:09}"))
}

/// A TIMESTAMP_LTZ / TIMESTAMP_NTZ cell of a time in epoch nanoseconds: epoch seconds with
/// nine decimals, the sign in front (`-0.500000000`).
pub(crate) fn timestamp_nanos(nanos: i128) -> Option<String> {
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.unsigned_abs();
    Some(format!(
        "{sign}{}.{:09}",
        abs / 1_000_000_000,
        abs % 1_000_000_000
    ))
}

/// A NUMBER(38,`scale`) cell: the number with exactly `scale` decimals.
pub(crate) fn decimal(value: f64, scale: u8) -> Option<String> {
    Some(format!("{value:.*}", usize::from(scale)))
}

/// A TIMESTAMP_TZ cell: epoch seconds with nine decimals, a space, and the offset in minutes
/// plus 1440 (so it is never negative).
#[allow(dead_code)]
pub(crate) fn timestamp_tz(seconds: i64, nanos: u32, offset_minutes: i32) -> Option<String> {
    Some(format!("{seconds}.{nanos:09} {}", offset_minutes + 1440))
}

/// A text cell; Snowflake prints an unset text property as NULL, not as an empty string.
pub(crate) fn text_or_null(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// One partition of a finished result.
#[derive(Debug)]
pub(crate) struct Partition {
    pub row_count: usize,
    /// Bytes of the JSON once decompressed (the `data` array for partition 0, the whole
    /// `{"data":[...]}` body for the others).
    pub uncompressed_size: usize,
    /// Partition 0: the JSON `data` array; the others: the gzip-compressed body.
    pub body: Vec<u8>,
}

/// A finished statement's result set.
#[derive(Debug)]
pub(crate) struct ResultData {
    pub columns: Vec<ColumnType>,
    pub num_rows: usize,
    pub partitions: Vec<Partition>,
}

impl ResultData {
    /// `resultSetMetaData`: partition 0 carries no `compressedSize` (it is inline), the
    /// others do, as in Snowflake's documented example.
    pub fn metadata(&self) -> Value {
        let partition_info: Vec<Value> = self
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i == 0 {
                    json!({"rowCount": p.row_count, "uncompressedSize": p.uncompressed_size})
                } else {
                    json!({"rowCount": p.row_count, "uncompressedSize": p.uncompressed_size,
                        "compressedSize": p.body.len()})
                }
            })
            .collect();
        json!({
            "numRows": self.num_rows,
            "format": "jsonv2",
            "rowType": self.columns.iter().map(ColumnType::row_type).collect::<Vec<_>>(),
            "partitionInfo": partition_info,
        })
    }
}

/// Encodes `rows` into partitions of `rows_per_partition` rows. `nulls_as_text`: the request
/// said `nullable=false`, so NULL becomes the string `"null"`.
pub(crate) fn build(
    columns: Vec<ColumnType>,
    rows: impl Iterator<Item = Vec<Option<String>>>,
    rows_per_partition: usize,
    nulls_as_text: bool,
) -> Result<ResultData, SqlError> {
    let per_partition = rows_per_partition.max(1);
    let mut partitions = Vec::new();
    let mut current = Vec::from(*b"[");
    let mut in_current = 0;
    let mut num_rows = 0;
    for row in rows {
        if in_current == per_partition {
            partitions.push(finish(current, in_current, partitions.is_empty())?);
            current = Vec::from(*b"[");
            in_current = 0;
        }
        if in_current > 0 {
            current.push(b',');
        }
        current.push(b'[');
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                current.push(b',');
            }
            match cell {
                Some(text) => write_json_string(&mut current, text),
                None if nulls_as_text => current.extend_from_slice(b"\"null\""),
                None => current.extend_from_slice(b"null"),
            }
        }
        current.push(b']');
        in_current += 1;
        num_rows += 1;
    }
    partitions.push(finish(current, in_current, partitions.is_empty())?);
    Ok(ResultData {
        columns,
        num_rows,
        partitions,
    })
}

fn finish(mut array: Vec<u8>, row_count: usize, first: bool) -> Result<Partition, SqlError> {
    array.push(b']');
    if first {
        return Ok(Partition {
            row_count,
            uncompressed_size: array.len(),
            body: array,
        });
    }
    let mut body = Vec::with_capacity(array.len() + 9);
    body.extend_from_slice(b"{\"data\":");
    body.extend_from_slice(&array);
    body.push(b'}');
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    let compressed = encoder
        .write_all(&body)
        .and_then(|()| encoder.finish())
        .map_err(|e| SqlError::internal(format!("compressing a partition: {e}")))?;
    Ok(Partition {
        row_count,
        uncompressed_size: body.len(),
        body: compressed,
    })
}

fn write_json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn cells_use_snowflakes_encodings() {
        assert_eq!(fixed(-42).as_deref(), Some("-42"));
        assert_eq!(boolean(true).as_deref(), Some("true"));
        assert_eq!(timestamp(82919, 0).as_deref(), Some("82919.000000000"));
        assert_eq!(
            timestamp(1616173619, 5).as_deref(),
            Some("1616173619.000000005")
        );
        // UTC+1 is 60 + 1440; UTC-4 is -240 + 1440.
        assert_eq!(
            timestamp_tz(1616173619, 0, 60).as_deref(),
            Some("1616173619.000000000 1500")
        );
        assert_eq!(
            timestamp_tz(1616173619, 0, -240).as_deref(),
            Some("1616173619.000000000 1200")
        );
        assert_eq!(text_or_null(""), None);
        assert_eq!(
            timestamp_nanos(1_616_173_619_000_000_005).as_deref(),
            Some("1616173619.000000005")
        );
        assert_eq!(
            timestamp_nanos(-500_000_000).as_deref(),
            Some("-0.500000000")
        );
        assert_eq!(decimal(0.000123, 9).as_deref(), Some("0.000123000"));
        assert_eq!(decimal(1.5, 9).as_deref(), Some("1.500000000"));
    }

    #[test]
    fn decimal_and_semi_structured_columns_are_typed_as_snowflake_types_them() {
        let row_type = |kind| ColumnType::new("C", kind).row_type();
        let credits = row_type(Kind::Decimal(9));
        assert_eq!(
            (
                &credits["type"],
                &credits["scale"],
                &credits["precision"],
                &credits["length"]
            ),
            (&json!("fixed"), &json!(9), &json!(38), &Value::Null)
        );
        let array = row_type(Kind::Array);
        assert_eq!(
            (
                &array["type"],
                &array["length"],
                &array["byteLength"],
                &array["scale"]
            ),
            (
                &json!("array"),
                &json!(16_777_216),
                &json!(16_777_216),
                &Value::Null
            )
        );
        assert_eq!(row_type(Kind::Object)["type"], "object");
    }

    #[test]
    fn rows_are_cut_into_partitions_and_later_ones_are_gzipped() {
        let rows = (0..5).map(|i| vec![Some(format!("r\"{i}")), None]);
        let data = build(
            vec![
                ColumnType::new("A", Kind::Text),
                ColumnType::new("B", Kind::Fixed),
            ],
            rows,
            2,
            false,
        )
        .unwrap();
        assert_eq!(data.num_rows, 5);
        assert_eq!(
            data.partitions
                .iter()
                .map(|p| p.row_count)
                .collect::<Vec<_>>(),
            [2, 2, 1]
        );
        assert_eq!(
            String::from_utf8_lossy(&data.partitions[0].body),
            r#"[["r\"0",null],["r\"1",null]]"#
        );
        let mut body = String::new();
        flate2::read::GzDecoder::new(&data.partitions[2].body[..])
            .read_to_string(&mut body)
            .unwrap();
        assert_eq!(body, r#"{"data":[["r\"4",null]]}"#);
        assert_eq!(data.partitions[2].uncompressed_size, body.len());
        let meta = data.metadata();
        assert_eq!(
            meta["partitionInfo"][0],
            json!({"rowCount": 2, "uncompressedSize": 29})
        );
        assert_eq!(
            meta["partitionInfo"][2]["compressedSize"],
            data.partitions[2].body.len()
        );
    }

    #[test]
    fn nullable_false_turns_null_into_a_string() {
        let data = build(
            vec![ColumnType::new("A", Kind::Text)],
            [vec![None]].into_iter(),
            10,
            true,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&data.partitions[0].body),
            r#"[["null"]]"#
        );
    }

    #[test]
    fn an_empty_result_has_one_empty_partition() {
        let data = build(
            vec![ColumnType::new("A", Kind::Text)],
            std::iter::empty(),
            10,
            false,
        )
        .unwrap();
        assert_eq!(
            data.metadata()["partitionInfo"],
            json!([{"rowCount": 0, "uncompressedSize": 2}])
        );
    }
}

//! Parquet exports: typed columns turned into the JSON a record of the same data would hold
//! (exact decimal digits, RFC 3339 instants, ISO dates, lists), one row group at a time.

use std::fmt::Write as _;
use std::fs::File;

use parquet::basic::{ConvertedType, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use parquet::schema::types::Type;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

/// What a top-level column's logical type adds to its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    /// Nothing: the value says what it is.
    Plain,
    /// An instant counted in `unit` since the epoch; `utc`: adjusted to UTC (else a local
    /// time without a zone, read as UTC).
    Timestamp { unit: Unit, utc: bool },
    /// A time of day counted in `unit`.
    Time(Unit),
    /// A UUID in 16 bytes.
    Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn of(unit: &TimeUnit) -> Self {
        match unit {
            TimeUnit::MILLIS => Self::Millis,
            TimeUnit::MICROS => Self::Micros,
            TimeUnit::NANOS => Self::Nanos,
        }
    }

    fn nanos(self) -> i128 {
        match self {
            Self::Millis => 1_000_000,
            Self::Micros => 1_000,
            Self::Nanos => 1,
        }
    }

    /// Digits of a second it writes.
    fn digits(self) -> usize {
        match self {
            Self::Millis => 3,
            Self::Micros => 6,
            Self::Nanos => 9,
        }
    }
}

fn column_of(t: &Type) -> Column {
    let info = t.get_basic_info();
    match info.logical_type_ref() {
        Some(LogicalType::Timestamp(ts)) => Column::Timestamp {
            unit: Unit::of(&ts.unit),
            utc: ts.is_adjusted_to_u_t_c,
        },
        Some(LogicalType::Time(tt)) => Column::Time(Unit::of(&tt.unit)),
        Some(LogicalType::Uuid) => Column::Uuid,
        _ => match info.converted_type() {
            ConvertedType::TIMESTAMP_MILLIS => Column::Timestamp {
                unit: Unit::Millis,
                utc: true,
            },
            ConvertedType::TIMESTAMP_MICROS => Column::Timestamp {
                unit: Unit::Micros,
                utc: true,
            },
            _ => Column::Plain,
        },
    }
}

/// A Parquet file being read: its columns and rows.
pub struct ParquetFile {
    reader: SerializedFileReader<File>,
    /// Each top-level column in schema order: its name as JSON text, and its kind.
    columns: Vec<(String, Column)>,
}

impl ParquetFile {
    /// Opens `file` (its footer holds the schema).
    pub fn open(file: File) -> Result<Self, String> {
        let reader = SerializedFileReader::new(file)
            .map_err(|e| format!("not a readable Parquet file: {e}"))?;
        let columns = top_fields(&reader)
            .iter()
            .map(|f| (Value::from(f.name()).to_string(), column_of(f)))
            .collect();
        Ok(Self { reader, columns })
    }

    /// The columns as a Singer SCHEMA's `properties`, typed from the Parquet schema.
    pub fn schema(&self) -> Value {
        let fields = top_fields(&self.reader)
            .iter()
            .map(|f| (f.name().to_string(), json_schema(f)))
            .collect::<Map<_, _>>();
        json!({"type": "object", "properties": fields})
    }

    /// Row groups, each with its compressed size (for progress).
    pub fn row_groups(&self) -> usize {
        self.reader.num_row_groups()
    }

    /// The compressed bytes of row group `i`.
    pub fn row_group_bytes(&self, i: usize) -> u64 {
        u64::try_from(self.reader.metadata().row_group(i).compressed_size()).unwrap_or(0)
    }

    /// Calls `each` with every row of row group `i` as a record (or why it is not one), until
    /// it returns false. An error reading the group is returned.
    pub fn rows(
        &self,
        i: usize,
        each: &mut dyn FnMut(Result<Box<RawValue>, (String, String)>) -> bool,
    ) -> Result<bool, String> {
        let group = self
            .reader
            .get_row_group(i)
            .map_err(|e| format!("row group {i}: {e}"))?;
        let rows = group
            .get_row_iter(None)
            .map_err(|e| format!("row group {i}: {e}"))?;
        for row in rows {
            let row = row.map_err(|e| format!("row group {i}: {e}"))?;
            if !each(self.record(&row)) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// One row as a record; or `(why, the row as far as it can be shown)`.
    fn record(&self, row: &Row) -> Result<Box<RawValue>, (String, String)> {
        let mut json = String::from("{");
        // A row's columns come in schema order, as `columns` holds them.
        for (i, (name, field)) in row.get_column_iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            let column = match self.columns.get(i) {
                Some((escaped, column)) => {
                    json.push_str(escaped);
                    *column
                }
                None => {
                    string(&mut json, name);
                    Column::Plain
                }
            };
            json.push(':');
            if let Err(why) = write_field(&mut json, field, column) {
                return Err((format!("column {name}: {why}"), row.to_string()));
            }
        }
        json.push('}');
        RawValue::from_string(json).map_err(|e| (e.to_string(), row.to_string()))
    }
}

/// The file's top-level columns.
fn top_fields(reader: &SerializedFileReader<File>) -> &[parquet::schema::types::TypePtr] {
    reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
}

/// A JSON schema for a Parquet field.
fn json_schema(t: &Type) -> Value {
    let nullable = t.get_basic_info().has_repetition()
        && t.get_basic_info().repetition() == Repetition::OPTIONAL;
    let typed = |kind: &str| {
        if nullable {
            json!([kind, "null"])
        } else {
            json!(kind)
        }
    };
    let info = t.get_basic_info();
    if t.is_group() {
        return match info.logical_type_ref() {
            Some(LogicalType::List) => {
                let items = list_item(t).map_or(json!({}), json_schema);
                json!({"type": typed("array"), "items": items})
            }
            _ if info.converted_type() == ConvertedType::LIST => {
                let items = list_item(t).map_or(json!({}), json_schema);
                json!({"type": typed("array"), "items": items})
            }
            _ => json!({"type": typed("object")}),
        };
    }
    match (info.logical_type_ref(), t.get_physical_type()) {
        (Some(LogicalType::Decimal(_)), _) => json!({"type": typed("number")}),
        (Some(LogicalType::Date), _) => json!({"type": typed("string"), "format": "date"}),
        (Some(LogicalType::Timestamp(_)), _) | (None, Physical::INT96) => {
            json!({"type": typed("string"), "format": "date-time"})
        }
        (Some(LogicalType::Time(_)), _) => json!({"type": typed("string"), "format": "time"}),
        (_, Physical::BOOLEAN) => json!({"type": typed("boolean")}),
        (_, Physical::INT32 | Physical::INT64) => match info.converted_type() {
            ConvertedType::DECIMAL => json!({"type": typed("number")}),
            ConvertedType::DATE => json!({"type": typed("string"), "format": "date"}),
            ConvertedType::TIMESTAMP_MILLIS | ConvertedType::TIMESTAMP_MICROS => {
                json!({"type": typed("string"), "format": "date-time"})
            }
            _ => json!({"type": typed("integer")}),
        },
        (_, Physical::FLOAT | Physical::DOUBLE) => json!({"type": typed("number")}),
        _ if info.converted_type() == ConvertedType::DECIMAL => json!({"type": typed("number")}),
        _ => json!({"type": typed("string")}),
    }
}

/// The element type of a LIST group (`list.element`, or the legacy two-level forms).
fn list_item(t: &Type) -> Option<&Type> {
    let repeated = t.get_fields().first()?;
    if repeated.is_group() && repeated.get_fields().len() == 1 {
        repeated.get_fields().first().map(|f| &**f)
    } else {
        Some(repeated)
    }
}

/// Writes `field` as JSON text: numbers digit for digit, instants as RFC 3339, days as
/// `YYYY-MM-DD`; `Err` for a value no HubSpot property could take (binary data).
fn write_field(out: &mut String, field: &Field, column: Column) -> Result<(), String> {
    match field {
        Field::Null => out.push_str("null"),
        Field::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Field::Byte(v) => push(out, v),
        Field::Short(v) => push(out, v),
        Field::Int(v) => push(out, v),
        Field::Long(v) => match column {
            Column::Timestamp { unit, utc } => {
                instant(out, i128::from(*v) * unit.nanos(), unit, utc)?
            }
            Column::Time(unit) => time_of_day(out, i128::from(*v) * unit.nanos(), unit)?,
            _ => push(out, v),
        },
        Field::UByte(v) => push(out, v),
        Field::UShort(v) => push(out, v),
        Field::UInt(v) => push(out, v),
        Field::ULong(v) => push(out, v),
        Field::Float16(v) => float(out, f64::from(f32::from(*v))),
        Field::Float(v) => float(out, f64::from(*v)),
        Field::Double(v) => float(out, *v),
        Field::Decimal(d) => {
            let digits = num_bigint::BigInt::from_signed_bytes_be(d.data()).to_string();
            out.push_str(&with_scale(
                &digits,
                usize::try_from(d.scale()).unwrap_or(0),
            ));
        }
        Field::Str(s) => string(out, s),
        Field::Bytes(b) => match (b.as_utf8(), column) {
            (_, Column::Uuid) if b.data().len() == 16 => string(out, &uuid(b.data())),
            (Ok(s), _) => string(out, s),
            (Err(_), _) => {
                return Err(format!(
                    "{} bytes of binary data, which no HubSpot property takes",
                    b.data().len()
                ));
            }
        },
        Field::Date(days) => {
            let date = time::Date::from_julian_day(2_440_588 + days)
                .map_err(|_| format!("day {days} is out of range"))?;
            string(out, &date.to_string());
        }
        Field::TimeMillis(v) => time_of_day(out, i128::from(*v) * 1_000_000, Unit::Millis)?,
        Field::TimeMicros(v) => time_of_day(out, i128::from(*v) * 1_000, Unit::Micros)?,
        Field::TimestampMillis(v) => {
            let utc = !matches!(column, Column::Timestamp { utc: false, .. });
            instant(out, i128::from(*v) * 1_000_000, Unit::Millis, utc)?;
        }
        Field::TimestampMicros(v) => {
            let utc = !matches!(column, Column::Timestamp { utc: false, .. });
            instant(out, i128::from(*v) * 1_000, Unit::Micros, utc)?;
        }
        Field::Group(row) => {
            out.push('{');
            for (i, (name, f)) in row.get_column_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, name);
                out.push(':');
                write_field(out, f, Column::Plain)?;
            }
            out.push('}');
        }
        Field::ListInternal(list) => {
            out.push('[');
            for (i, f) in list.elements().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_field(out, f, column)?;
            }
            out.push(']');
        }
        Field::MapInternal(map) => {
            out.push('{');
            for (i, (k, v)) in map.entries().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let key = match k {
                    Field::Str(s) => s.clone(),
                    other => other.to_string(),
                };
                string(out, &key);
                out.push(':');
                write_field(out, v, Column::Plain)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn push(out: &mut String, v: &dyn std::fmt::Display) {
    let _ = write!(out, "{v}");
}

fn string(out: &mut String, s: &str) {
    super::push_json_string(out, s);
}

/// A float as its shortest text that reads back as the same float; NaN and infinities
/// (which no number property takes) as strings, so the record is rejected naming them.
fn float(out: &mut String, v: f64) {
    match serde_json::Number::from_f64(v) {
        Some(n) => push(out, &n),
        None => string(out, &v.to_string()),
    }
}

/// `digits` (a signed integer) with a decimal point `scale` digits from the right.
fn with_scale(digits: &str, scale: usize) -> String {
    if scale == 0 {
        return digits.to_string();
    }
    let (sign, magnitude) = match digits.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", digits),
    };
    let padded = format!("{magnitude:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// An instant `nanos` after the epoch, with the digits of its unit; `Z` when it is UTC.
fn instant(out: &mut String, nanos: i128, unit: Unit, utc: bool) -> Result<(), String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map_err(|_| "an instant out of range".to_string())?;
    let fraction = format!("{:09}", t.nanosecond());
    let text = format!(
        "{}T{:02}:{:02}:{:02}.{}{}",
        t.date(),
        t.hour(),
        t.minute(),
        t.second(),
        &fraction[..unit.digits()],
        if utc { "Z" } else { "" }
    );
    string(out, &text);
    Ok(())
}

fn time_of_day(out: &mut String, nanos: i128, unit: Unit) -> Result<(), String> {
    const DAY: i128 = 86_400_000_000_000;
    if !(0..DAY).contains(&nanos) {
        return Err("a time of day out of range".into());
    }
    let seconds = nanos / 1_000_000_000;
    let fraction = format!("{:09}", nanos % 1_000_000_000);
    let text = format!(
        "{:02}:{:02}:{:02}.{}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        &fraction[..unit.digits()]
    );
    string(out, &text);
    Ok(())
}

fn uuid(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_every_digit_at_their_scale() {
        assert_eq!(with_scale("12345", 2), "123.45");
        assert_eq!(with_scale("-5", 3), "-0.005");
        assert_eq!(with_scale("0", 10), "0.0000000000");
        assert_eq!(with_scale("42", 0), "42");
    }

    #[test]
    fn instants_and_times_are_written_with_their_unit() {
        let mut out = String::new();
        instant(&mut out, 1_700_000_000_123_456_000, Unit::Micros, true).unwrap();
        assert_eq!(out, "\"2023-11-14T22:13:20.123456Z\"");
        out.clear();
        instant(&mut out, -1_000_000, Unit::Millis, false).unwrap();
        assert_eq!(out, "\"1969-12-31T23:59:59.999\"");
        out.clear();
        time_of_day(&mut out, 3_723_000_000_000, Unit::Millis).unwrap();
        assert_eq!(out, "\"01:02:03.000\"");
        out.clear();
        float(&mut out, 0.1);
        assert_eq!(out, "0.1");
        out.clear();
        float(&mut out, f64::NAN);
        assert_eq!(out, "\"NaN\"");
    }
}

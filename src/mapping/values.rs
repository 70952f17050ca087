//! Values by HubSpot property type: the text the target sends, or why it refuses locally.
//!
//! Everything here is pure: a record field's JSON text and the property's definition in, a
//! string (HubSpot takes every value as a string) or a [`ValueError`] out. Numbers are handled
//! as text from the input, never through a float, so every digit survives.

use std::borrow::Cow;

use compact_str::CompactString;

use serde_json::value::RawValue;

use crate::hubspot::wire::PropertyInfo;

mod temporal;
use temporal::{date, datetime};

/// HubSpot's limit on a string value, in characters.
pub const MAX_TEXT_CHARS: usize = 65_536;

/// Epoch values whose magnitude is below this are seconds; at or above it, milliseconds.
/// 10^11 seconds is the year 5138; 10^11 milliseconds is 3 March 1973.
pub const EPOCH_MILLIS_FROM: u128 = 100_000_000_000;

/// How many allowed options a rejection lists.
const OPTIONS_LISTED: usize = 10;

const MILLIS_PER_DAY: i128 = 86_400_000;

/// What a property's values must look like, from its HubSpot definition.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyKind {
    /// `bool`: `"true"` or `"false"`.
    Bool,
    /// `number`: decimal digits with at most one point.
    Number,
    /// `date`: a calendar day (midnight UTC).
    Date,
    /// `datetime`: an instant, sent as epoch milliseconds.
    DateTime,
    /// `enumeration` with its options; `multi` for multi-checkbox (`;`-separated values).
    Enumeration {
        /// Several options at once.
        multi: bool,
        /// `(value, label)` of each option; empty with `external`.
        options: Vec<(String, String)>,
        /// Options live elsewhere (pipelines, owners): not checked locally.
        external: bool,
    },
    /// `string`, `phone_number` and any other type: text.
    Text,
}

impl PropertyKind {
    /// The kind of a property as `GET /crm/v3/properties/{type}` describes it.
    pub fn of(p: &PropertyInfo) -> Self {
        match p.kind.as_str() {
            "bool" => Self::Bool,
            "number" => Self::Number,
            "date" => Self::Date,
            "datetime" => Self::DateTime,
            "enumeration" => Self::Enumeration {
                multi: p.field_type == "checkbox",
                options: p
                    .options
                    .iter()
                    .map(|o| (o.value.clone(), o.label.clone()))
                    .collect(),
                external: p.external_options,
            },
            _ => Self::Text,
        }
    }

    /// A short name for `--check` and logs: what values of this kind are converted from.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Bool => "bool (true/false, t/f, yes/no, y/n, 1/0)",
            Self::Number => "number (exact decimal text)",
            Self::Date => "date (YYYY-MM-DD)",
            Self::DateTime => "datetime (epoch ms)",
            Self::Enumeration { multi: true, .. } => "multi-checkbox (options by value or label)",
            Self::Enumeration { .. } => "enumeration (options by value or label)",
            Self::Text => "text",
        }
    }
}

/// Options that change how values are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValueRules {
    /// A `date` with a time of day other than midnight keeps its date instead of being
    /// rejected.
    pub truncate_dates: bool,
}

/// One record field's value, read from its JSON text.
#[derive(Debug, PartialEq)]
pub enum Field<'a> {
    /// `null`, or a string that is empty after trimming.
    Blank,
    /// `true` / `false`.
    Bool(bool),
    /// A JSON number, as written.
    Number(&'a str),
    /// A JSON string, unescaped (borrowed when it has no escapes).
    Text(Cow<'a, str>),
    /// A JSON array (its text) with its items read.
    Array(&'a str, Vec<Field<'a>>),
    /// A JSON object, as written.
    Object(&'a str),
}

/// Why a field's JSON text cannot be read at all (the record is then `INVALID_RECORD`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

impl<'a> Field<'a> {
    /// Reads one field's JSON text (as the record holds it).
    pub fn read(raw: &'a RawValue) -> Result<Self, Unreadable> {
        let text = raw.get().trim();
        match text.as_bytes().first() {
            Some(b'n') => Ok(Self::Blank),
            Some(b't') => Ok(Self::Bool(true)),
            Some(b'f') => Ok(Self::Bool(false)),
            Some(b'"') => {
                let s = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    // The record was parsed whole already, so unescaped text is valid as is.
                    Some(inner) if !inner.contains('\\') => Cow::Borrowed(inner),
                    _ => Cow::Owned(
                        serde_json::from_str(text).map_err(|e| Unreadable(e.to_string()))?,
                    ),
                };
                Ok(if s.trim().is_empty() {
                    Self::Blank
                } else {
                    Self::Text(s)
                })
            }
            Some(b'[') => {
                // Read whole first: the parser's depth limit bounds the recursion below.
                serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|e| Unreadable(e.to_string()))?;
                let items: Vec<&RawValue> =
                    serde_json::from_str(text).map_err(|e| Unreadable(e.to_string()))?;
                let items = items
                    .into_iter()
                    .map(Field::read)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Self::Array(text, items))
            }
            Some(b'{') => {
                // Read once so that unreadable content (a lone surrogate, too deep) is caught.
                serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|e| Unreadable(e.to_string()))?;
                Ok(Self::Object(text))
            }
            _ => {
                if text.parse::<f64>().is_ok_and(f64::is_finite) {
                    Ok(Self::Number(text))
                } else {
                    Err(Unreadable(format!("number out of range: {text}")))
                }
            }
        }
    }

    /// The field as plain text, when it is a scalar.
    fn scalar_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Self::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
            Self::Number(n) => Some((*n).into()),
            Self::Text(s) => Some(s.as_ref().into()),
            _ => None,
        }
    }

    /// The value as a person wrote it, for messages (at most 200 characters).
    pub fn shown(&self) -> String {
        let full = match self {
            Self::Blank => String::new(),
            Self::Array(t, _) | Self::Object(t) => (*t).to_string(),
            other => other.scalar_text().unwrap_or_default().into_owned(),
        };
        if full.chars().count() > 200 {
            format!("{}…", full.chars().take(200).collect::<String>())
        } else {
            full
        }
    }
}

/// Why a value is refused before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// A code in HubSpot's style: `INVALID_BOOLEAN`, `INVALID_NUMBER`, `INVALID_DATE`, …
    pub code: &'static str,
    /// A message a person can act on.
    pub message: String,
}

impl ValueError {
    fn new(code: &'static str, message: String) -> Self {
        Self { code, message }
    }
}

/// The text HubSpot is sent for a non-blank `field` of a property of `kind`.
pub fn convert(
    kind: &PropertyKind,
    field: &Field,
    rules: ValueRules,
) -> Result<CompactString, ValueError> {
    match kind {
        PropertyKind::Bool => boolean(field),
        PropertyKind::Number => number(field),
        PropertyKind::Date => date(field, rules),
        PropertyKind::DateTime => datetime(field),
        PropertyKind::Enumeration {
            multi,
            options,
            external,
        } => enumeration(field, *multi, options, *external),
        PropertyKind::Text => text(field),
    }
}

fn boolean(field: &Field) -> Result<CompactString, ValueError> {
    let refuse = || {
        ValueError::new(
            "INVALID_BOOLEAN",
            format!(
                "{} is not a boolean: use true/false, t/f, yes/no, y/n or 1/0",
                quoted(field)
            ),
        )
    };
    let truth = match field {
        Field::Bool(b) => *b,
        Field::Number("1") => true,
        Field::Number("0") => false,
        Field::Text(s) => {
            let s = s.trim();
            let is = |word: &str| s.eq_ignore_ascii_case(word);
            if ["true", "t", "yes", "y", "1"].into_iter().any(is) {
                true
            } else if ["false", "f", "no", "n", "0"].into_iter().any(is) {
                false
            } else {
                return Err(refuse());
            }
        }
        _ => return Err(refuse()),
    };
    Ok(CompactString::const_new(if truth {
        "true"
    } else {
        "false"
    }))
}

fn number(field: &Field) -> Result<CompactString, ValueError> {
    let written = match field {
        Field::Number(n) => *n,
        Field::Text(s) => s.trim(),
        _ => "",
    };
    decimal_text(written).map(CompactString::from).map_err(|refusal| {
        let why = match refusal {
            NumberRefusal::NotANumber => "is not a number: use digits with at most one decimal point (an exponent is allowed)".to_string(),
            NumberRefusal::TooLong(chars) => format!(
                "would be about {chars} characters written out in plain digits, more than HubSpot's limit of {MAX_TEXT_CHARS}"
            ),
            NumberRefusal::Underflow => {
                "is too small for HubSpot's numbers: a double holds it as 0, and HubSpot would store 0".to_string()
            }
        };
        ValueError::new("INVALID_NUMBER", format!("{} {why}", shown_briefly(field)))
    })
}

/// A field for a message, cut to 100 characters (a number may be a million digits long).
fn shown_briefly(field: &Field) -> String {
    let full = quoted(field);
    if full.chars().count() <= 100 {
        return full;
    }
    let cut: String = full.chars().take(100).collect();
    format!("{cut}… ({} characters)", full.chars().count())
}

/// Why number text is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberRefusal {
    /// Not a decimal number, or beyond `f64`'s range (as JSON parsers refuse it).
    NotANumber,
    /// Written out in plain digits it would be about this many characters, more than
    /// HubSpot's 65,536 (`1e-999999` is a million).
    TooLong(i64),
    /// Not zero, but so small that a double holds it as 0 (`1e-400`): HubSpot would store 0.
    Underflow,
}

/// A decimal number written out in plain digits, without losing any: exponents expanded
/// (`1e3` → `1000`, `1.5E-7` → `0.00000015`), leading zeros and a `+` dropped, the sign of a
/// zero dropped (`-0` → `0`); the digits of the fraction as written (`1.10` stays `1.10`).
/// Refused when `s` is not a number, beyond `f64`'s range, too long written out, or an
/// underflow ([`NumberRefusal`]); the length is judged before anything is expanded.
pub fn decimal_text(s: &str) -> Result<Cow<'_, str>, NumberRefusal> {
    use NumberRefusal::*;
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
        None => return Err(NotANumber),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        return Err(NotANumber);
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) || digits.len() > 6 {
                return Err(NotANumber);
            }
            e.parse().map_err(|_| NotANumber)?
        }
    };
    let digit_count = (int.len() + frac.len()) as i64;
    // Where the decimal point falls in the digits once the exponent is applied.
    let point = int.len() as i64 + exponent;
    // Sign, the digits with the zeros the exponent adds, a point and a leading zero.
    let longest = 3 + digit_count.max(point).max(digit_count - point);
    if longest > MAX_TEXT_CHARS as i64 {
        return Err(TooLong(longest));
    }
    let parsed = s.parse::<f64>().map_err(|_| NotANumber)?;
    if !parsed.is_finite() {
        return Err(NotANumber);
    }
    let is_zero = int.bytes().chain(frac.bytes()).all(|b| b == b'0');
    if parsed == 0.0 && !is_zero {
        return Err(Underflow);
    }
    if exponent == 0
        && !unsigned.contains(['e', 'E'])
        && !s.starts_with('+')
        && (int == "0" || !int.is_empty() && !int.starts_with('0'))
        && !mantissa.ends_with('.')
        && !(negative && is_zero)
    {
        // Already plain: nothing to expand or drop.
        return Ok(Cow::Borrowed(s));
    }
    let digits = format!("{int}{frac}");
    let (whole, fraction) = if point <= 0 {
        (
            String::new(),
            format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        )
    } else if point as usize >= digits.len() {
        let zeros = "0".repeat(point as usize - digits.len());
        (format!("{digits}{zeros}"), String::new())
    } else {
        let (w, f) = digits.split_at(point as usize);
        (w.to_string(), f.to_string())
    };
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    // Without an exponent the fraction is kept as written; with one, the zeros the shift
    // adds at the end carry no information and are not written.
    let fraction = if exponent == 0 {
        fraction.as_str()
    } else {
        fraction.trim_end_matches('0')
    };
    let zero = whole == "0" && fraction.bytes().all(|b| b == b'0');
    let sign = if negative && !zero { "-" } else { "" };
    Ok(Cow::Owned(if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }))
}

fn enumeration(
    field: &Field,
    multi: bool,
    options: &[(String, String)],
    external: bool,
) -> Result<CompactString, ValueError> {
    let not_one = || {
        ValueError::new(
            "INVALID_OPTION",
            format!(
                "{} is not an option: this property takes one value",
                field.shown()
            ),
        )
    };
    if !multi {
        return match field.scalar_text() {
            Some(t) => option_value(options, external, &t).map(CompactString::new),
            None => Err(not_one()),
        };
    }
    // Each item's option value, `;`-separated, written into one string.
    let mut joined = 0;
    let mut join = |out: &mut CompactString, item: &str| -> Result<(), ValueError> {
        let value = option_value(options, external, item)?;
        if joined > 0 {
            out.push(';');
        }
        joined += 1;
        out.push_str(value);
        Ok(())
    };
    let mut out = CompactString::default();
    match field {
        Field::Array(_, items) => {
            for item in items.iter().filter(|i| **i != Field::Blank) {
                let text = item.scalar_text().ok_or_else(|| {
                    ValueError::new(
                        "INVALID_OPTION",
                        format!("{} holds something other than options", field.shown()),
                    )
                })?;
                join(&mut out, text.trim())?;
            }
        }
        other => {
            let t = other.scalar_text().ok_or_else(not_one)?;
            // A leading `;` tells HubSpot to add the options to those already set; it is kept.
            if t.trim_start().starts_with(';') {
                out.push(';');
            }
            for part in t.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                join(&mut out, part)?;
            }
        }
    }
    Ok(out)
}

/// The option value `item` stands for: itself when it is one (or the options are external),
/// else the option it names.
fn option_value<'a>(
    options: &'a [(String, String)],
    external: bool,
    item: &'a str,
) -> Result<&'a str, ValueError> {
    if external || options.iter().any(|(v, _)| v == item) {
        Ok(item)
    } else {
        option_named(options, item)
    }
}

/// The value of the option `item` names by value or label (case aside), or why none does.
fn option_named<'o>(options: &'o [(String, String)], item: &str) -> Result<&'o str, ValueError> {
    let wanted = item.trim();
    options
        .iter()
        .find(|(v, l)| v.eq_ignore_ascii_case(wanted) || l.eq_ignore_ascii_case(wanted))
        .or_else(|| {
            let lower = wanted.to_lowercase();
            options
                .iter()
                .find(|(v, l)| v.to_lowercase() == lower || l.to_lowercase() == lower)
        })
        .map(|(v, _)| v.as_str())
        .ok_or_else(|| {
            let listed: Vec<&str> = options
                .iter()
                .take(OPTIONS_LISTED)
                .map(|(v, _)| v.as_str())
                .collect();
            let more = options.len().saturating_sub(OPTIONS_LISTED);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            ValueError::new(
                "INVALID_OPTION",
                format!(
                    "\"{item}\" is not one of the allowed options (by value or label): {}{more}",
                    listed.join(", ")
                ),
            )
        })
}

fn text(field: &Field) -> Result<CompactString, ValueError> {
    let value = match field {
        Field::Array(t, _) | Field::Object(t) => CompactString::new(t),
        other => CompactString::new(other.scalar_text().unwrap_or_default()),
    };
    // A character takes at least a byte: most values need no count.
    let chars = if value.len() <= MAX_TEXT_CHARS {
        0
    } else {
        value.chars().count()
    };
    if chars > MAX_TEXT_CHARS {
        return Err(ValueError::new(
            "VALUE_TOO_LONG",
            format!("the value is {chars} characters long; HubSpot's limit is {MAX_TEXT_CHARS}"),
        ));
    }
    Ok(value)
}

/// The value quoted for a message (`"t "` shows its white space).
fn quoted(field: &Field) -> String {
    match field {
        Field::Text(_) => format!("{:?}", field.shown()),
        other => other.shown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_string()).unwrap()
    }

    fn convert_json(kind: &PropertyKind, json: &str) -> Result<String, ValueError> {
        let raw = field(json);
        convert(kind, &Field::read(&raw).unwrap(), ValueRules::default()).map(String::from)
    }

    #[test]
    fn numbers_whose_plain_digits_would_explode_or_underflow_are_refused() {
        let number = |text: &str| super::number(&Field::Text(text.into()));
        for huge in [
            "1e-999999",
            "1e70000",
            &format!("0.{}1", "0".repeat(200_000)),
        ] {
            let err = number(huge).unwrap_err();
            assert_eq!(err.code, "INVALID_NUMBER");
            assert!(
                err.message.contains("more than HubSpot's limit"),
                "{}",
                err.message
            );
            assert!(err.message.len() < 400, "the message quotes a bounded part");
        }
        let err = number("1e-400").unwrap_err();
        assert!(
            err.message.contains("HubSpot would store 0"),
            "{}",
            err.message
        );
        assert_eq!(number("1e-300").unwrap().len(), 302);
        assert_eq!(number("0.000").unwrap(), "0.000");
        assert_eq!(number("-1.5e3").unwrap(), "-1500");
    }

    #[test]
    fn number_text_survives_digit_for_digit() {
        let table = [
            ("99999999999999.99", "99999999999999.99"),
            ("12345678901234567.89", "12345678901234567.89"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("1.10", "1.10"),
            ("-0", "0"),
            ("-0.0", "0.0"),
            ("1e3", "1000"),
            ("1.5E-7", "0.00000015"),
            ("-2.50e2", "-250"),
            ("1.25e1", "12.5"),
            ("+7", "7"),
            ("007.50", "7.50"),
            (".5", "0.5"),
            ("1.", "1"),
            ("-3.", "-3"),
            ("42", "42"),
        ];
        for (written, sent) in table {
            assert_eq!(
                decimal_text(written).ok().as_deref(),
                Some(sent),
                "{written}"
            );
        }
        for bad in [
            "", "-", "1.2.3", "1e", "12a", "1e400", "0x10", "1 000", "e5", ".",
        ] {
            assert_eq!(decimal_text(bad).ok(), None, "{bad:?}");
        }
    }

    #[test]
    fn booleans_in_warehouse_spellings() {
        for (json, sent) in [
            ("true", "true"),
            ("\"t\"", "true"),
            ("\" Yes \"", "true"),
            ("\"Y\"", "true"),
            ("1", "true"),
            ("\"F\"", "false"),
            ("\"no\"", "false"),
            ("0", "false"),
            ("false", "false"),
        ] {
            assert_eq!(
                convert_json(&PropertyKind::Bool, json).unwrap(),
                sent,
                "{json}"
            );
        }
        for bad in ["\"maybe\"", "2", "[true]", "{}"] {
            assert_eq!(
                convert_json(&PropertyKind::Bool, bad).unwrap_err().code,
                "INVALID_BOOLEAN"
            );
        }
    }

    #[test]
    fn datetimes_in_the_forms_warehouses_export() {
        let table = [
            ("\"2024-01-01T01:00:00Z\"", "1704070800000"),
            ("\"2024-01-01 01:00:00.123+00\"", "1704070800123"),
            ("\"2024-01-01 06:30:00+0530\"", "1704070800000"),
            ("\"2024-01-01T06:30:00+05:30\"", "1704070800000"),
            ("\"2024-01-01 01:00:00\"", "1704070800000"),
            ("\"2024-01-01T01:00:00.123456789Z\"", "1704070800123"),
            ("\"2024-01-01\"", "1704067200000"),
            ("1704070800", "1704070800000"),
            ("\"1704070800\"", "1704070800000"),
            ("1704070800.5", "1704070800500"),
            ("1704070800123", "1704070800123"),
        ];
        for (json, sent) in table {
            assert_eq!(
                convert_json(&PropertyKind::DateTime, json).unwrap(),
                sent,
                "{json}"
            );
        }
        for bad in [
            "\"next tuesday\"",
            "\"2024-13-01\"",
            "\"2024-01-01T25:00:00Z\"",
            "true",
        ] {
            assert_eq!(
                convert_json(&PropertyKind::DateTime, bad).unwrap_err().code,
                "INVALID_DATETIME",
                "{bad}"
            );
        }
    }

    #[test]
    fn dates_are_days_at_midnight_utc_or_truncated_when_asked() {
        for (json, sent) in [
            ("\"1990-05-17\"", "1990-05-17"),
            ("\"1990-05-17 00:00:00+00\"", "1990-05-17"),
            ("\"1990-05-17T02:00:00+02:00\"", "1990-05-17"),
            ("642902400000", "1990-05-17"),
        ] {
            assert_eq!(
                convert_json(&PropertyKind::Date, json).unwrap(),
                sent,
                "{json}"
            );
        }
        let err = convert_json(&PropertyKind::Date, "\"1990-05-17T09:30:00Z\"").unwrap_err();
        assert_eq!(err.code, "INVALID_DATE");
        assert!(
            err.message
                .starts_with("1990-05-17T09:30:00Z is at 09:30:00.000 UTC, not midnight!"),
            "{}",
            err.message
        );
        let raw = field("\"1990-05-17 23:30:00-05\"");
        let truncated = convert(
            &PropertyKind::Date,
            &Field::read(&raw).unwrap(),
            ValueRules {
                truncate_dates: true,
            },
        );
        assert_eq!(truncated.unwrap(), "1990-05-17", "the date as written");
    }

    #[test]
    fn options_match_by_value_or_label_in_any_case() {
        let options = vec![
            ("BUDGET_HOLDER".to_string(), "Budget Holder".to_string()),
            ("END_USER".to_string(), "End User".to_string()),
        ];
        let single = PropertyKind::Enumeration {
            multi: false,
            options: options.clone(),
            external: false,
        };
        let multi = PropertyKind::Enumeration {
            multi: true,
            options,
            external: false,
        };
        assert_eq!(convert_json(&single, "\"end user\"").unwrap(), "END_USER");
        assert_eq!(
            convert_json(&single, "\"budget_holder\"").unwrap(),
            "BUDGET_HOLDER"
        );
        assert_eq!(
            convert_json(&multi, "[\"End User\", \"BUDGET_HOLDER\"]").unwrap(),
            "END_USER;BUDGET_HOLDER"
        );
        assert_eq!(
            convert_json(&multi, "\"end_user; Budget Holder\"").unwrap(),
            "END_USER;BUDGET_HOLDER"
        );
        assert_eq!(convert_json(&multi, "\";END_USER\"").unwrap(), ";END_USER");
        assert_eq!(
            convert_json(&single, "\"boss\"").unwrap_err().code,
            "INVALID_OPTION"
        );
        let external = PropertyKind::Enumeration {
            multi: false,
            options: Vec::new(),
            external: true,
        };
        assert_eq!(
            convert_json(&external, "\"appointmentscheduled\"").unwrap(),
            "appointmentscheduled"
        );
    }

    #[test]
    fn text_keeps_what_was_written() {
        assert_eq!(convert_json(&PropertyKind::Text, "1.10").unwrap(), "1.10");
        assert_eq!(
            convert_json(&PropertyKind::Text, "{\"a\": 1}").unwrap(),
            "{\"a\": 1}"
        );
        assert_eq!(
            convert_json(&PropertyKind::Text, "\" padded \"").unwrap(),
            " padded "
        );
        let long = format!("\"{}\"", "x".repeat(MAX_TEXT_CHARS + 1));
        assert_eq!(
            convert_json(&PropertyKind::Text, &long).unwrap_err().code,
            "VALUE_TOO_LONG"
        );
    }

    #[test]
    fn unreadable_values_are_named() {
        assert!(Field::read(&field("1e400")).is_err());
        assert!(Field::read(&field("\"\\ud800\"")).is_err());
        assert_eq!(Field::read(&field("\"  \"")).unwrap(), Field::Blank);
    }
}

//! Dates and instants: the forms warehouses write (RFC 3339, a space for `T`, offsets such
//! as `+00`, ` UTC`, epoch seconds or milliseconds), read into HubSpot's epoch milliseconds.

use compact_str::{CompactString, ToCompactString};
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

use super::{
    EPOCH_MILLIS_FROM, Field, MILLIS_PER_DAY, ValueError, ValueRules, decimal_text, quoted,
};

/// A date and time as written: the calendar day and time in their own offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Written {
    date: Date,
    time: Option<Time>,
    offset: UtcOffset,
}

impl Written {
    fn instant(self) -> OffsetDateTime {
        self.date
            .with_time(self.time.unwrap_or(Time::MIDNIGHT))
            .assume_offset(self.offset)
    }
}

fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

/// Reads `YYYY-MM-DD`, optionally followed by `T`, `t` or a space and `HH:MM[:SS[.fraction]]`,
/// then an optional offset: `Z`, `UTC`, `+HH`, `+HHMM`, `+HH:MM` (a space before it allowed).
/// Without an offset the time is UTC.
fn parse_written(s: &str) -> Option<Written> {
    let (year, rest) = digits(s, 4)?;
    let rest = rest.strip_prefix('-')?;
    let (month, rest) = digits(rest, 2)?;
    let rest = rest.strip_prefix('-')?;
    let (day, rest) = digits(rest, 2)?;
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    if rest.is_empty() {
        return Some(Written {
            date,
            time: None,
            offset: UtcOffset::UTC,
        });
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (hour, rest) = digits(rest, 2)?;
    let rest = rest.strip_prefix(':')?;
    let (minute, mut rest) = digits(rest, 2)?;
    let mut second = 0;
    let mut nanos = 0;
    if let Some(r) = rest.strip_prefix(':') {
        let (s2, r) = digits(r, 2)?;
        second = s2;
        rest = r;
        if let Some(r) = rest.strip_prefix(['.', ',']) {
            let len = r.bytes().take_while(u8::is_ascii_digit).count();
            if len == 0 {
                return None;
            }
            let kept = &r[..len.min(9)];
            nanos = kept.parse::<u32>().ok()? * 10u32.pow(9 - kept.len() as u32);
            rest = &r[len..];
        }
    }
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let offset = match rest {
        "" | "Z" | "z" | "UTC" => UtcOffset::UTC,
        _ => {
            let sign: i8 = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, r) = digits(&rest[1..], 2)?;
            let r = r.strip_prefix(':').unwrap_or(r);
            let m = if r.is_empty() {
                0
            } else {
                let (m, r) = digits(r, 2)?;
                if !r.is_empty() {
                    return None;
                }
                m
            };
            UtcOffset::from_hms(
                sign * i8::try_from(h).ok()?,
                sign * i8::try_from(m).ok()?,
                0,
            )
            .ok()?
        }
    };
    Some(Written {
        date,
        time: Some(time),
        offset,
    })
}

/// Epoch milliseconds of an epoch number (seconds below [`EPOCH_MILLIS_FROM`], else
/// milliseconds). Digits below a millisecond are dropped.
fn epoch_millis(written: &str) -> Option<i64> {
    let plain = decimal_text(written).ok()?;
    let (negative, unsigned) = match plain.strip_prefix('-') {
        Some(u) => (true, u),
        None => (false, &*plain),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if int.len() > 20 {
        return None;
    }
    let whole: u128 = int.parse().ok()?;
    let millis = if whole < EPOCH_MILLIS_FROM {
        let ms_digits = format!("{:0<3}", frac.get(..3.min(frac.len()))?);
        whole * 1000 + ms_digits.parse::<u128>().ok()?
    } else {
        whole
    };
    let millis = i64::try_from(millis).ok()?;
    let millis = if negative { -millis } else { millis };
    // Only instants the calendar can show (years -9999..=9999).
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()?;
    Some(millis)
}

fn millis_of(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000_000
}

fn iso_date(d: Date) -> CompactString {
    let (year, month, day) = (d.year(), u8::from(d.month()), d.day());
    if !(0..=9999).contains(&year) {
        return compact_str::format_compact!("{year:04}-{month:02}-{day:02}");
    }
    // The common case without the formatting machinery: four digits, two, two.
    let year = year as u32;
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        '-',
        digit(u32::from(month) / 10),
        digit(u32::from(month)),
        '-',
        digit(u32::from(day) / 10),
        digit(u32::from(day)),
    ]
    .into_iter()
    .collect()
}

fn not_midnight(field: &Field, millis: i128) -> ValueError {
    let within = millis.rem_euclid(MILLIS_PER_DAY);
    ValueError::new(
        "INVALID_DATE",
        format!(
            "{} is at {:02}:{:02}:{:02}.{:03} UTC, not midnight! (a date property holds a day; set truncate_dates: true to keep only the date)",
            field.shown(),
            within / 3_600_000,
            within / 60_000 % 60,
            within / 1000 % 60,
            within % 1000
        ),
    )
}

/// The text of a date or date-time value, with the rejection to give when it is not one.
fn temporal<'a>(
    field: &'a Field,
    code: &'static str,
    expected: &'static str,
) -> (Option<&'a str>, impl Fn() -> ValueError + 'a) {
    let refuse = move || ValueError::new(code, format!("{} is not {expected}", quoted(field)));
    let text = match field {
        Field::Number(n) => Some(*n),
        Field::Text(s) => Some(s.trim()),
        _ => None,
    };
    (text, refuse)
}

pub(super) fn date(field: &Field, rules: ValueRules) -> Result<CompactString, ValueError> {
    let (text, refuse) = temporal(
        field,
        "INVALID_DATE",
        "a date: use YYYY-MM-DD, a timestamp at midnight UTC, or epoch milliseconds at midnight UTC",
    );
    let text = text.ok_or_else(&refuse)?;
    if let Some(w) = parse_written(text) {
        let utc = w.instant().to_offset(UtcOffset::UTC);
        return if utc.time() == Time::MIDNIGHT {
            Ok(iso_date(utc.date()))
        } else if rules.truncate_dates {
            Ok(iso_date(w.date))
        } else {
            Err(not_midnight(field, millis_of(utc)))
        };
    }
    let millis = epoch_millis(text).ok_or_else(&refuse)?;
    let day = i128::from(millis).div_euclid(MILLIS_PER_DAY);
    if i128::from(millis).rem_euclid(MILLIS_PER_DAY) != 0 && !rules.truncate_dates {
        return Err(not_midnight(field, i128::from(millis)));
    }
    let midnight = OffsetDateTime::from_unix_timestamp_nanos(day * MILLIS_PER_DAY * 1_000_000)
        .map_err(|_| refuse())?;
    Ok(iso_date(midnight.date()))
}

pub(super) fn datetime(field: &Field) -> Result<CompactString, ValueError> {
    let (text, refuse) = temporal(
        field,
        "INVALID_DATETIME",
        "a date-time: use RFC 3339 (a space for T and offsets like +00 or +05:30 are fine), a date, or epoch seconds or milliseconds",
    );
    let text = text.ok_or_else(&refuse)?;
    if let Some(w) = parse_written(text) {
        return Ok(millis_of(w.instant()).to_compact_string());
    }
    epoch_millis(text)
        .map(|ms| ms.to_compact_string())
        .ok_or_else(refuse)
}

//! Timestamps in HubSpot's format: ISO-8601 UTC with milliseconds (`2026-06-24T19:51:06.041Z`).

use time::OffsetDateTime;
use time::macros::format_description;

/// Now, formatted as HubSpot formats timestamps.
pub fn now_iso() -> String {
    format(OffsetDateTime::now_utc())
}

/// Now, in milliseconds since the epoch.
pub fn now_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// An epoch-millisecond datetime value as HubSpot echoes it: like Java's `Instant`, without
/// the fraction when it is zero (recorded: `1705312800000` → `2024-01-15T10:00:00Z`).
pub fn iso_from_millis(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| {
            let text = format(t);
            match text.strip_suffix(".000Z") {
                Some(whole) => format!("{whole}Z"),
                None => text,
            }
        })
        .unwrap_or_else(|_| ms.to_string())
}

fn format(t: OffsetDateTime) -> String {
    let f =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&f).unwrap_or_default()
}

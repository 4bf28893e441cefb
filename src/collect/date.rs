//! Post dates, read the way Jekyll reads them.
//!
//! Jekyll's YAML loader (Psych) turns an unquoted `2022-01-12 14:18:25` into a UTC timestamp, but
//! a date-only value, an `HH:MM` value or any quoted string goes through Ruby's `Time.parse` and
//! is local time in the site's zone. An explicit offset is kept as written (`+0800` stays
//! `+08:00`), so feeds can show the time the author wrote; the other forms are shown in the
//! site's zone, as Jekyll shows them.

use std::sync::LazyLock;

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike,
};
use chrono_tz::Tz;
use regex::Regex;

/// A successfully read date, and anything the author should hear about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadDate {
    /// The instant, with the offset it was written with (or the site zone's).
    pub at: DateTime<FixedOffset>,
    /// Set when the result is what Jekyll does but probably not what was meant.
    pub warning: Option<String>,
}

/// Why a date could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// A date that does not exist or that feeds cannot carry (`2022-02-30`, year 0): refused,
    /// where Jekyll would roll it over.
    #[error("{0}")]
    Invalid(String),
    /// Text that neither gazette's forms nor its reading of Ruby's `Time.parse` make a date of:
    /// the caller may fall back on the file name's date.
    #[error("{0}")]
    Unreadable(String),
}

/// What a date value looks like in the front matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// A plain YAML scalar: a full date-time is a YAML timestamp.
    Plain,
    /// A quoted string (or a file name): always read by `Time.parse`.
    Quoted,
}

/// YAML 1.1's timestamp, as Psych matches it (`ScalarScanner::TIME`).
static YAML_TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt]|[ \t]+)(\d{1,2}):(\d\d):(\d\d)(?:\.(\d*))?(?:[ \t]*(Z|[-+]\d{1,2}(?::?\d\d)?))?$",
    )
    .unwrap()
});

/// The forms of `Time.parse` that real sites use: ISO-like dates with `-` or `/`, an optional
/// time with or without seconds, and an optional zone.
static LOOSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d\d)(?::(\d\d)(?:\.(\d*))?)?)?(?:[ \t]*(Z|UTC|GMT|[-+]\d{1,2}(?::?\d\d)?))?$",
    )
    .unwrap()
});

/// Reads a front-matter `date` (or a file name's date) as Jekyll 4.3 does. Fractions of a second
/// are dropped, as Jekyll drops them.
pub fn parse(raw: &str, written: Written, zone: Tz) -> Result<ReadDate, DateError> {
    let mut read = match parse_exact(raw, written, zone)? {
        Some(read) => read,
        None => like_ruby(raw.trim(), zone)?,
    };
    read.at = displayable(read.at.with_nanosecond(0).unwrap_or(read.at));
    // Feeds must be able to write the instant both as written and in UTC.
    for year in [read.at.year(), read.at.naive_utc().year()] {
        if !(1..=9999).contains(&year) {
            return Err(DateError::Invalid(format!(
                "`{}` falls in year {year}, out of range: feeds carry years 0001 to 9999",
                raw.trim()
            )));
        }
    }
    Ok(read)
}

/// Local mean time before standard zones (Shanghai: +08:05:43) has seconds that RFC 3339 and
/// RFC 822 offsets cannot carry: such an instant is shown in UTC rather than rounded.
fn displayable(at: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    if at.offset().local_minus_utc() % 60 != 0 {
        at.with_timezone(&chrono::Utc).fixed_offset()
    } else {
        at
    }
}

/// A date in none of the forms above, read as Ruby's `Time.parse` reads it (Jekyll forgives
/// such dates), with a warning that it is malformed.
fn like_ruby(text: &str, zone: Tz) -> Result<ReadDate, DateError> {
    match super::ruby_date::parse(text, zone) {
        Ok(Some(at)) => Ok(ReadDate {
            at,
            warning: Some(format!(
                "malformed date `{text}`: read as Jekyll reads it (Ruby's `Time.parse`), as {}; \
                 write it as `{}` to say so plainly",
                at.format("%Y-%m-%d %H:%M:%S %z"),
                at.format("%Y-%m-%d %H:%M:%S %z")
            )),
        }),
        Ok(None) => Err(DateError::Unreadable(format!(
            "`{text}` is not a date gazette can read as Jekyll would: write it as \
             `2022-01-12 14:18:25 +0800`, `2022-01-12` or RFC 3339"
        ))),
        Err(invalid) => Err(invalid),
    }
}

/// The forms gazette reads itself; `Ok(None)` for any other text.
/// Only [`DateError::Invalid`] comes out of it.
fn parse_exact(raw: &str, written: Written, zone: Tz) -> Result<Option<ReadDate>, DateError> {
    let text = raw.trim();
    if written == Written::Plain {
        if let Some([y, mo, d, h, mi, sec, zone_text]) = everyday_timestamp(text) {
            return fixed(naive(y, mo, d, h, mi, Some(sec), None)?, zone_text).map(Some);
        }
        if let Some(c) = YAML_TIMESTAMP.captures(text) {
            let naive = naive(&c[1], &c[2], &c[3], &c[4], &c[5], Some(&c[6]), c.get(7))?;
            return match c.get(8).map(|m| m.as_str()) {
                Some(zone_text) => fixed(naive, zone_text).map(Some),
                None => {
                    let at = zone.from_utc_datetime(&naive).fixed_offset();
                    let warning = (at.offset().local_minus_utc() != 0).then(|| {
                        format!(
                            "date `{text}` has no offset, so YAML reads it as UTC (as Jekyll \
                             does): {} in {zone}; add the offset (e.g. `{}`) if you meant local time",
                            at.format("%Y-%m-%d %H:%M:%S %z"),
                            at.offset()
                        )
                    });
                    Ok(Some(ReadDate { at, warning }))
                }
            };
        }
    }
    let Some(c) = LOOSE.captures(text) else {
        if let Ok(at) = DateTime::parse_from_rfc2822(text) {
            if !(1..=9999).contains(&at.year()) {
                return Err(DateError::Invalid(format!(
                    "year {} is out of range: feeds carry years 0001 to 9999",
                    at.year()
                )));
            }
            return Ok(Some(ReadDate { at, warning: None }));
        }
        return Ok(None);
    };
    let (hour, minute) = (
        c.get(4).map_or("0", |m| m.as_str()),
        c.get(5).map_or("0", |m| m.as_str()),
    );
    let naive = naive(
        &c[1],
        &c[2],
        &c[3],
        hour,
        minute,
        c.get(6).map(|m| m.as_str()),
        c.get(7),
    )?;
    if c.get(4).is_none() && c.get(8).is_some() {
        // Ruby's `Time.parse` ignores a zone after a date without a time.
        return Ok(Some(ReadDate {
            at: local(naive, zone),
            warning: Some(format!(
                "the offset in `{text}` is ignored, as Jekyll ignores an offset after a date without a time; add a time (`00:00:00`) to use it"
            )),
        }));
    }
    match c.get(8).map(|m| m.as_str()) {
        Some("Z" | "UTC" | "GMT") => fixed(naive, "Z").map(Some),
        Some(zone_text) => fixed(naive, zone_text).map(Some),
        None => Ok(Some(ReadDate {
            at: local(naive, zone),
            warning: None,
        })),
    }
}

/// `2022-01-12 14:18:25 +0800`, the form nearly every post uses, split into the fields
/// [`YAML_TIMESTAMP`] would capture, without running the regex; `None` for any other form.
fn everyday_timestamp(text: &str) -> Option<[&str; 7]> {
    let b = text.as_bytes();
    let shape = b"dddd-dd-dd dd:dd:dd +dddd";
    let fits = b.len() == shape.len()
        && b.iter().zip(shape).all(|(&c, &s)| match s {
            b'd' => c.is_ascii_digit(),
            b'+' => c == b'+' || c == b'-',
            _ => c == s,
        });
    fits.then(|| {
        [
            &text[0..4],
            &text[5..7],
            &text[8..10],
            &text[11..13],
            &text[14..16],
            &text[17..19],
            &text[20..25],
        ]
    })
}

/// The instant of a local date-time in `zone`, as Ruby's `Time.local` gives it: in a
/// daylight-saving gap the clock is moved forward, and a time that happens twice when the
/// clocks go back is the second one, in standard time (Ruby 3.1: `2020-11-01 01:30` in New York
/// is `-05:00`, `2020-10-25 02:30` in Berlin `+01:00`).
pub fn local(naive: NaiveDateTime, zone: Tz) -> DateTime<FixedOffset> {
    let at = match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(_, t) => t.fixed_offset(),
        LocalResult::None => {
            let later = naive + chrono::Duration::hours(1);
            zone.from_local_datetime(&later)
                .earliest()
                .unwrap_or_else(|| zone.from_utc_datetime(&naive))
                .fixed_offset()
        }
    };
    displayable(at)
}

fn number(text: &str) -> u32 {
    // The patterns only let digits through, at most four of them per field but the fraction.
    text.parse().unwrap_or(u32::MAX)
}

fn naive(
    year: &str,
    month: &str,
    day: &str,
    hour: &str,
    minute: &str,
    second: Option<&str>,
    fraction: Option<regex::Match<'_>>,
) -> Result<NaiveDateTime, DateError> {
    let (y, mo, d) = (number(year), number(month), number(day));
    if y == 0 {
        return Err(DateError::Invalid(
            "year 0 is out of range: feeds carry years 0001 to 9999".into(),
        ));
    }
    if !(1..=12).contains(&mo) {
        return Err(DateError::Invalid(format!(
            "month {mo} is out of range (1 to 12)"
        )));
    }
    let date = NaiveDate::from_ymd_opt(y as i32, mo, d)
        .ok_or_else(|| DateError::Invalid(format!("day {d} does not exist in {y:04}-{mo:02}")))?;
    let (h, mi, s) = (number(hour), number(minute), second.map_or(0, number));
    let nanos = fraction.map_or(0, |f| {
        let digits: String = f
            .as_str()
            .chars()
            .chain("000000000".chars())
            .take(9)
            .collect();
        digits.parse().unwrap_or(0)
    });
    let time = NaiveTime::from_hms_nano_opt(h, mi, s, nanos)
        .ok_or_else(|| DateError::Invalid(format!("time {h:02}:{mi:02}:{s:02} is out of range")))?;
    Ok(date.and_time(time))
}

/// A local date-time with an offset written as `Z`, `+8`, `+08`, `+0800` or `+08:00`.
fn fixed(naive: NaiveDateTime, zone_text: &str) -> Result<ReadDate, DateError> {
    if zone_text == "Z" {
        return Ok(ReadDate {
            at: naive.and_utc().fixed_offset(),
            warning: None,
        });
    }
    let negative = zone_text.starts_with('-');
    let digits: String = zone_text[1..].chars().filter(|c| *c != ':').collect();
    let (hours, minutes) = match digits.len() {
        1 | 2 => (number(&digits), 0),
        3 => (number(&digits[..1]), number(&digits[1..])),
        _ => (number(&digits[..2]), number(&digits[2..])),
    };
    let seconds = (hours * 3600 + minutes * 60) as i32;
    let offset = if negative {
        FixedOffset::west_opt(seconds)
    } else {
        FixedOffset::east_opt(seconds)
    }
    .ok_or_else(|| {
        DateError::Invalid(format!(
            "offset {zone_text} is out of range (it must be under 24 hours)"
        ))
    })?;
    let at = offset.from_local_datetime(&naive).single().ok_or_else(|| {
        DateError::Invalid(format!("{naive} {zone_text} cannot be placed in time"))
    })?;
    let warning = (hours > 14 || (hours == 14 && minutes > 0)).then(|| {
        format!("offset {zone_text} is beyond ±14:00, which no place on Earth uses; it is taken literally, as Jekyll does")
    });
    Ok(ReadDate { at, warning })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    fn at(raw: &str, written: Written) -> String {
        parse(raw, written, SHANGHAI).unwrap().at.to_rfc3339()
    }

    #[test]
    fn explicit_offsets_are_kept_as_written() {
        for raw in [
            "2022-01-12 14:18:25 +0800",
            "2022-01-12 14:18:25 +08:00",
            "2022-01-12T14:18:25+08:00",
            "2022-01-12 14:18:25 +08",
        ] {
            assert_eq!(
                at(raw, Written::Plain),
                "2022-01-12T14:18:25+08:00",
                "{raw}"
            );
            assert_eq!(
                at(raw, Written::Quoted),
                "2022-01-12T14:18:25+08:00",
                "{raw}"
            );
        }
        assert_eq!(
            at("2022-01-12 14:18:25 -0530", Written::Plain),
            "2022-01-12T14:18:25-05:30"
        );
        assert_eq!(
            at("2022-01-12T06:18:25Z", Written::Plain),
            "2022-01-12T06:18:25+00:00"
        );
    }

    #[test]
    fn unquoted_datetime_without_offset_is_utc_and_warned() {
        let d = parse("2022-01-12 14:18:25", Written::Plain, SHANGHAI).unwrap();
        assert_eq!(d.at.to_rfc3339(), "2022-01-12T22:18:25+08:00");
        assert!(d.warning.unwrap().contains("reads it as UTC"));
        // In a UTC site the same value means what it says: no warning.
        let d = parse("2022-01-12 14:18:25", Written::Plain, chrono_tz::UTC).unwrap();
        assert_eq!(d.warning, None);
    }

    #[test]
    fn local_forms_take_the_site_zone() {
        assert_eq!(
            at("2022-01-12 14:18:25", Written::Quoted),
            "2022-01-12T14:18:25+08:00"
        );
        assert_eq!(
            at("2022-01-12", Written::Plain),
            "2022-01-12T00:00:00+08:00"
        );
        assert_eq!(
            at("2022-01-12 14:18", Written::Plain),
            "2022-01-12T14:18:00+08:00"
        );
        assert_eq!(
            at("2022/1/2 9:05", Written::Plain),
            "2022-01-02T09:05:00+08:00"
        );
    }

    #[test]
    fn an_offset_after_a_date_alone_is_ignored_like_ruby() {
        let d = parse("2022-01-12 +1200", Written::Plain, SHANGHAI).unwrap();
        assert_eq!(d.at.to_rfc3339(), "2022-01-12T00:00:00+08:00");
        assert!(d.warning.unwrap().contains("is ignored"));
    }

    #[test]
    fn fractional_seconds_and_rfc2822() {
        assert_eq!(
            at("2022-01-12 14:18:25.5 +0800", Written::Plain),
            "2022-01-12T14:18:25+08:00"
        );
        assert_eq!(
            at("Wed, 12 Jan 2022 14:18:25 +0800", Written::Plain),
            "2022-01-12T14:18:25+08:00"
        );
    }

    #[test]
    fn daylight_saving_gaps_move_forward() {
        let d = parse(
            "2022-03-13 02:30",
            Written::Plain,
            chrono_tz::America::New_York,
        )
        .unwrap();
        assert_eq!(d.at.to_rfc3339(), "2022-03-13T03:30:00-04:00");
    }

    #[test]
    fn offsets_beyond_14_hours_are_literal_with_a_warning() {
        let d = parse("2022-01-12 10:00:00 +16:30", Written::Plain, SHANGHAI).unwrap();
        assert_eq!(d.at.to_rfc3339(), "2022-01-12T10:00:00+16:30");
        assert!(d.warning.unwrap().contains("beyond ±14:00"));
        assert!(
            parse("2022-01-12 10:00:00 +24:00", Written::Plain, SHANGHAI)
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
    }

    /// What Ruby 3.1's `Time.local` gave for each (Jekyll reads local times with it).
    #[test]
    fn times_that_happen_twice_are_the_second_and_gaps_move_forward() {
        let at = |zone: Tz, text: &str| {
            let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
            local(naive, zone).to_rfc3339()
        };
        use chrono_tz::{America, Australia, Europe};
        assert_eq!(
            at(America::New_York, "2020-11-01 01:30"),
            "2020-11-01T01:30:00-05:00"
        );
        assert_eq!(
            at(Europe::Berlin, "2020-10-25 02:30"),
            "2020-10-25T02:30:00+01:00"
        );
        assert_eq!(
            at(Australia::Sydney, "2020-04-05 02:30"),
            "2020-04-05T02:30:00+10:00"
        );
        assert_eq!(
            at(America::New_York, "2020-03-08 02:30"),
            "2020-03-08T03:30:00-04:00"
        );
    }

    #[test]
    fn impossible_dates_are_errors() {
        let err = |raw| {
            parse(raw, Written::Plain, SHANGHAI)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(err("2022-13-45"), "month 13 is out of range (1 to 12)");
        assert_eq!(err("2022-02-30"), "day 30 does not exist in 2022-02");
        assert_eq!(
            err("0000-01-01"),
            "year 0 is out of range: feeds carry years 0001 to 9999"
        );
        assert!(err("10000-01-01").contains("year 10000, out of range"));
        assert!(err("16:30-:00+16:30").contains("is not a date"));
        assert!(err("yesterday").contains("is not a date"));
        assert_eq!(err("2022-01-12 25:00"), "time 25:00:00 is out of range");
    }
}

//! Ruby's `Time.parse`, for the malformed dates Jekyll forgives.
//!
//! Jekyll reads a front-matter `date` that YAML did not already make a timestamp with
//! `Time.parse(text).localtime`. `Time.parse` rests on `Date._parse`, a chain of forgiving
//! pattern matchers (Ruby's `ext/date/date_parse.c`): each takes what it recognises out of the
//! text and leaves the rest to the next, and words it does not know are ignored. So
//! `Fri Sep  3 11:21:31 CEST 2021` is 3 September 2021 11:21:31 in the site's zone (`Time.parse`
//! knows only a few zone names, and CEST is not one of them), `2017-02-10 00:10::00 -03:00` is
//! 00:10 local (the offset is not next to the time) and `11-9-2017` is 11 September.
//!
//! This module reproduces the matchers real sites need — weekday names, times with their zone,
//! `3 Sep 2021`, `Sep 3, 2021`, `y-m-d` in any order Ruby accepts, `12-Jan-2020`, slashes, dots,
//! bare digit strings (`20200508`) — with `Date._parse`'s rules for which number is the year, and
//! `Time.parse`'s rules for zones. What it cannot reproduce (Japanese era dates, ISO week dates,
//! a date without a year, which Ruby completes from the current day) gives `Ok(None)`, and the
//! caller falls back on the file name's date.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;
use regex::Regex;

use super::date::DateError;

/// What `Date._parse` found.
#[derive(Debug, Default, Clone, PartialEq)]
struct Found {
    year: Option<i64>,
    /// The year was written with at most two digits and no sign: `Date._parse` completes it.
    year_short: bool,
    mon: Option<u32>,
    mday: Option<u32>,
    hour: Option<u32>,
    min: Option<u32>,
    sec: Option<u32>,
    zone: Option<String>,
}

const MONTHS: &str = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec";
const ERA: &str = r"c(?:e|\.e\.)|b(?:ce|\.c\.e\.)|a(?:d|\.d\.)|b(?:c|\.c\.)";

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file; the unit tests compile every one of them.
    Regex::new(pattern).expect("a valid pattern")
}

static DISALLOWED: LazyLock<Regex> = LazyLock::new(|| re(r"[^-+',./:@\p{L}\p{N}\[\]]+"));
static DAY: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(sun|mon|tue|wed|thu|fri|sat)[^-/\d\s]*"));
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)(\d+\s*(?:(?::\s*\d+(?:\s*:\s*\d+(?:[,.]\d*)?)?|h(?:\s*\d+m?(?:\s*\d+s?)?)?)",
        r"(?:\s*[ap](?:m\b|\.m\.))?|[ap](?:m\b|\.m\.)))",
        r"(?:\s*((?:gmt|utc?)?[-+]\d+(?:[,.:]\d+(?::\d+)?)?",
        r"|(?-i:[[:alpha:].\s]+)(?:standard|daylight)\stime\b",
        r"|(?-i:[[:alpha:]]+)(?:\sdst)?\b))?"
    ))
});
static TIME_FIELDS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(\d+)h?(?:\s*:?\s*(\d+)m?(?:\s*:?\s*(\d+)(?:[,.](\d+))?s?)?)?(?:\s*([ap])(?:m\b|\.m\.))?",
    )
});
static EU: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)'?\b(\d+)[^-\d\s']*\s*({MONTHS})[^-\d\s']*(?:\s*(?:\s*,\s*)?({ERA})?\s*('?-?\d+(?:(?:st|nd|rd|th)\b)?))?"
    ))
});
static US: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\b({MONTHS})[^-\d\s']*\s*('?\d+)[^-\d\s']*(?:\s*,?\s*({ERA})?\s*('?-?\d+))?"
    ))
});
static ISO: LazyLock<Regex> = LazyLock::new(|| re(r"('?[-+]?\d+)-(\d+)-('?-?\d+)"));
static VMS_DAY_FIRST: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)('?-?\d+)-({MONTHS})[^-/.]*-('?-?\d+)")));
static VMS_MONTH_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\b({MONTHS})[^-/.]*-('?-?\d+)(?:-('?-?\d+))?"
    ))
});
static SLASH: LazyLock<Regex> = LazyLock::new(|| re(r"('?-?\d+)/\s*('?\d+)(?:\D\s*('?-?\d+))?"));
static DOT: LazyLock<Regex> = LazyLock::new(|| re(r"('?-?\d+)\.\s*('?\d+)\.\s*('?-?\d+)"));
static YEAR: LazyLock<Regex> = LazyLock::new(|| re(r"'(\d+)\b"));
static MON: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"(?i)\b({MONTHS})\S*")));
static MDAY: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)(\d+)(st|nd|rd|th)\b"));
static DIGITS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)([-+]?)(\d{2,14})(?:\s*t?\s*(\d{2,6})?(?:[,.](\d*))?)?(?:\s*(z\b|[-+]\d{1,4}\b))?")
});
/// Japanese era dates and ISO week or ordinal dates: recognised, so that they are not misread
/// by a later matcher, but not reproduced.
static UNSUPPORTED: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b[mtshr]\d+\.\d+\.\d+|\d-?w\d\d|\bw\d\d-?\d\b|\b\d{4}-\d{3}\b"));

/// Replaces the first match of `pattern` in `text` by one space (as `Date._parse`'s `subx`
/// does), giving its captures.
fn take(text: &mut String, pattern: &Regex) -> Option<Vec<Option<String>>> {
    let caps = pattern.captures(text)?;
    let whole = caps.get(0)?.range();
    let groups = caps
        .iter()
        .map(|g| g.map(|m| m.as_str().to_string()))
        .collect();
    text.replace_range(whole, " ");
    Some(groups)
}

fn month_number(name: &str) -> u32 {
    let name = name.to_ascii_lowercase();
    MONTHS
        .split('|')
        .position(|m| name.starts_with(m))
        .map_or(0, |i| i as u32 + 1)
}

/// `Date._parse` on `text`.
fn date_parse(text: &str) -> Option<Found> {
    let mut s = DISALLOWED.replace_all(text, " ").into_owned();
    let mut found = Found::default();
    let has_digit = s.bytes().any(|b| b.is_ascii_digit());
    take(&mut s, &DAY);
    if has_digit {
        if let Some(g) = take(&mut s, &TIME) {
            time_fields(g[1].as_deref().unwrap_or_default(), &mut found);
            found.zone = g[2].clone();
        }
    }
    if UNSUPPORTED.is_match(&s) {
        return None;
    }
    if let Some(g) = take(&mut s, &EU) {
        let mon = month_number(g[2].as_deref()?).to_string();
        three(
            &mut found,
            g[4].clone(),
            Some(mon),
            g[1].clone(),
            g[3].is_some(),
        );
    } else if let Some(g) = take(&mut s, &US) {
        let mon = month_number(g[1].as_deref()?).to_string();
        three(
            &mut found,
            g[4].clone(),
            Some(mon),
            g[2].clone(),
            g[3].is_some(),
        );
    } else if let Some(g) = take(&mut s, &ISO) {
        three(&mut found, g[1].clone(), g[2].clone(), g[3].clone(), false);
    } else if let Some(g) = take(&mut s, &VMS_DAY_FIRST) {
        let mon = month_number(g[2].as_deref()?).to_string();
        three(&mut found, g[3].clone(), Some(mon), g[1].clone(), false);
    } else if let Some(g) = take(&mut s, &VMS_MONTH_FIRST) {
        let mon = month_number(g[1].as_deref()?).to_string();
        three(&mut found, g[3].clone(), Some(mon), g[2].clone(), false);
    } else if let Some(g) = take(&mut s, &SLASH) {
        three(&mut found, g[1].clone(), g[2].clone(), g[3].clone(), false);
    } else if let Some(g) = take(&mut s, &DOT) {
        three(&mut found, g[1].clone(), g[2].clone(), g[3].clone(), false);
    } else if let Some(g) = take(&mut s, &YEAR) {
        found.year = g[1].as_deref()?.parse().ok();
    } else if let Some(g) = take(&mut s, &MON) {
        found.mon = Some(month_number(g[1].as_deref()?));
    } else if let Some(g) = take(&mut s, &MDAY) {
        found.mday = g[1].as_deref()?.parse().ok();
    } else if let Some(g) = take(&mut s, &DIGITS) {
        digits(&g, &mut found)?;
    }
    if found.year_short {
        if let Some(y) = found.year.filter(|y| (0..=99).contains(y)) {
            found.year = Some(if y >= 69 { y + 1900 } else { y + 2000 });
        }
    }
    Some(found)
}

/// The hour, minute and second of a time `Date._parse` found.
fn time_fields(time: &str, found: &mut Found) {
    let Some(c) = TIME_FIELDS.captures(time) else {
        return;
    };
    let number = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let mut hour = number(1);
    if let (Some(h), Some(merid)) = (hour, c.get(5)) {
        let pm = merid.as_str().eq_ignore_ascii_case("p");
        hour = Some(h % 12 + if pm { 12 } else { 0 });
    }
    found.hour = hour;
    found.min = number(2);
    found.sec = number(3);
}

/// The leading sign and digits of a field (`'21`, `-3`, `3rd`), and whether anything follows.
fn split_number(field: &str) -> (bool, &str, &str) {
    let field = field.trim_start_matches(|c: char| !c.is_ascii_digit() && c != '-' && c != '+');
    let (signed, rest) = match field.strip_prefix(['-', '+']) {
        Some(rest) => (true, rest),
        None => (false, field),
    };
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (signed, &rest[..end], &rest[end..])
}

/// `Date._parse`'s `s3e`: which of three numbers is the year, the month and the day.
fn three(
    found: &mut Found,
    mut y: Option<String>,
    mut m: Option<String>,
    mut d: Option<String>,
    bc: bool,
) {
    let long_or_quoted = |s: &Option<String>| {
        s.as_deref()
            .is_some_and(|s| s.starts_with('\'') || s.len() > 2)
    };
    if y.is_some() && m.is_some() && d.is_none() {
        (y, m, d) = (None, y, m);
    }
    if y.is_none() && long_or_quoted(&d) {
        (y, d) = (d, None);
    }
    if let Some(year) = &y {
        let (_, digits, trailing) = split_number(year);
        if !digits.is_empty() && !trailing.is_empty() {
            (y, d) = (d, Some(year.clone()));
        }
    }
    if long_or_quoted(&m) {
        (y, m, d) = (m, d, y);
    }
    if long_or_quoted(&d) {
        (y, d) = (d, y);
    }
    if let Some(year) = &y {
        let quoted = year.starts_with('\'');
        let (signed, digits, _) = split_number(year);
        if let Ok(mut value) = digits.parse::<i64>() {
            if year.trim_start_matches('\'').starts_with('-') {
                value = -value;
            }
            if bc {
                value = 1 - value;
            }
            found.year = Some(value);
            found.year_short = !signed && (quoted || digits.len() <= 2);
        }
    }
    if let Some(mon) = &m {
        found.mon = split_number(mon).1.parse().ok();
    }
    if let Some(day) = &d {
        found.mday = split_number(day).1.parse().ok();
    }
}

/// `Date._parse`'s `parse_ddd` for the lengths real dates have.
fn digits(g: &[Option<String>], found: &mut Found) -> Option<()> {
    let s = g[2].as_deref()?;
    let n = |range: std::ops::Range<usize>| s.get(range).and_then(|x| x.parse::<u32>().ok());
    match s.len() {
        2 => found.mday = n(0..2),
        4 => (found.mon, found.mday) = (n(0..2), n(2..4)),
        6 => {
            found.year = n(0..2).map(i64::from);
            found.year_short = g[1].as_deref().is_none_or(str::is_empty);
            (found.mon, found.mday) = (n(2..4), n(4..6));
        }
        8 | 10 | 12 | 14 => {
            found.year = n(0..4).map(i64::from);
            (found.mon, found.mday) = (n(4..6), n(6..8));
            found.hour = n(8..10);
            found.min = n(10..12);
            found.sec = n(12..14);
        }
        _ => return None,
    }
    if let Some(t) = g[3].as_deref() {
        let n = |range: std::ops::Range<usize>| t.get(range).and_then(|x| x.parse::<u32>().ok());
        found.hour = n(0..2);
        found.min = n(2..4);
        found.sec = n(4..6);
    }
    found.zone = g[5].clone();
    Some(())
}

/// `Time.zone_offset`: the few zones `Time.parse` knows, in seconds east of UTC.
fn zone_offset(zone: &str, year: i32, site_zone: Tz) -> Option<i32> {
    static COLON: LazyLock<Regex> = LazyLock::new(|| re(r"^([+-])(\d\d):(\d\d)(?::(\d\d))?$"));
    static PLAIN: LazyLock<Regex> = LazyLock::new(|| re(r"^([+-])(\d\d)(\d\d)(\d\d)?$"));
    static HOURS: LazyLock<Regex> = LazyLock::new(|| re(r"^([+-])(\d\d)$"));
    let zone = zone.to_ascii_uppercase();
    if let Some(c) = COLON.captures(&zone).or_else(|| PLAIN.captures(&zone)) {
        let field = |i: usize| {
            c.get(i)
                .map_or(0, |m| m.as_str().parse::<i32>().unwrap_or(0))
        };
        let value = (field(2) * 60 + field(3)) * 60 + field(4);
        return Some(if &c[1] == "-" { -value } else { value });
    }
    if let Some(c) = HOURS.captures(&zone) {
        let hours: i32 = c[2].parse().ok()?;
        return Some(if &c[1] == "-" { -hours } else { hours } * 3600);
    }
    let hours = match zone.as_str() {
        "UTC" | "Z" | "UT" | "GMT" => Some(0),
        "EST" => Some(-5),
        "EDT" => Some(-4),
        "CST" => Some(-6),
        "CDT" => Some(-5),
        "MST" => Some(-7),
        "MDT" => Some(-6),
        "PST" => Some(-8),
        "PDT" => Some(-7),
        _ if zone.len() == 1 => {
            // Military zones: A to M east (J is not a zone), N to Y west.
            let c = zone.as_bytes()[0];
            match c {
                b'A'..=b'I' => Some(i32::from(c - b'A') + 1),
                b'K'..=b'M' => Some(i32::from(c - b'K') + 10),
                b'N'..=b'Y' => Some(-(i32::from(c - b'N') + 1)),
                _ => None,
            }
        }
        _ => None,
    };
    if let Some(hours) = hours {
        return Some(hours * 3600);
    }
    // The site's own zone by its abbreviation, in January or in July.
    [1, 7].into_iter().find_map(|month| {
        let at = site_zone
            .with_ymd_and_hms(year, month, 1, 0, 0, 0)
            .earliest()?;
        let offset = at.offset();
        (offset.to_string().to_ascii_uppercase() == zone).then(|| offset.fix().local_minus_utc())
    })
}

/// `Time.parse(text)` in `site_zone`: `Ok(None)` when the result would depend on today's date or
/// on a form this module does not reproduce; `Err` when Ruby would roll an impossible date or
/// time over (gazette refuses those instead).
pub fn parse(text: &str, site_zone: Tz) -> Result<Option<DateTime<FixedOffset>>, DateError> {
    let Some(found) = date_parse(text) else {
        return Ok(None);
    };
    // Without a year, `Time.parse` takes the missing leading fields from the current time.
    let Some(year) = found.year else {
        return Ok(None);
    };
    let year = i32::try_from(year)
        .map_err(|_| DateError::Invalid(format!("year {year} is out of range")))?;
    let (mon, mday) = (found.mon.unwrap_or(1), found.mday.unwrap_or(1));
    let (hour, min, sec) = (
        found.hour.unwrap_or(0),
        found.min.unwrap_or(0),
        found.sec.unwrap_or(0),
    );
    if !(1..=12).contains(&mon) {
        return Err(DateError::Invalid(format!(
            "month {mon} is out of range (1 to 12)"
        )));
    }
    let date = NaiveDate::from_ymd_opt(year, mon, mday).ok_or_else(|| {
        DateError::Invalid(format!("day {mday} does not exist in {year:04}-{mon:02}"))
    })?;
    // `Time.local` takes 24:00:00 as the next day's midnight.
    let (date, hour) = if (hour, min, sec) == (24, 0, 0) {
        (date + Duration::days(1), 0)
    } else {
        (date, hour)
    };
    let time = NaiveTime::from_hms_opt(hour, min, sec.min(59)).ok_or_else(|| {
        DateError::Invalid(format!("time {hour:02}:{min:02}:{sec:02} is out of range"))
    })?;
    let naive = date.and_time(time);
    let offset = found
        .zone
        .as_deref()
        .and_then(|zone| zone_offset(zone, year, site_zone))
        .and_then(FixedOffset::east_opt);
    Ok(Some(match offset {
        Some(offset) => match offset.from_local_datetime(&naive).single() {
            Some(at) => at,
            None => return Ok(None),
        },
        None => super::date::local(naive, site_zone),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<String> {
        parse(text, chrono_tz::Asia::Shanghai)
            .unwrap()
            .map(|d| d.to_rfc3339())
    }

    /// Each expectation is what Jekyll 4.3.1 (Ruby 3.1) published for the same `date:` on a site
    /// with `timezone: Asia/Shanghai`.
    #[test]
    fn reads_what_jekyll_reads() {
        let cases = [
            ("Fri Sep  3 11:21:31 CEST 2021", "2021-09-03T11:21:31+08:00"),
            ("2017-02-10 00:10::00 -03:00", "2017-02-10T00:10:00+08:00"),
            ("2021-02-08 16:30-:00+16:30", "2021-02-08T16:30:00+08:00"),
            ("11-9-2017", "2017-09-11T00:00:00+08:00"),
            (
                "2020-05-05 10:00 and some words",
                "2020-05-05T10:00:00+08:00",
            ),
            ("May 6, 2020", "2020-05-06T00:00:00+08:00"),
            (
                "2020-05-07T10:00:00.123+02:00 extra",
                "2020-05-07T10:00:00+02:00",
            ),
            ("20200508", "2020-05-08T00:00:00+08:00"),
        ];
        for (text, expected) in cases {
            assert_eq!(at(text).as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn forms_of_date_parse() {
        let cases = [
            ("3 Sep 2021 14:00 +0900", "2021-09-03T14:00:00+09:00"),
            ("Sat, 4 Sep 2021 09:15:00 GMT", "2021-09-04T09:15:00+00:00"),
            ("12-Jan-2020", "2020-01-12T00:00:00+08:00"),
            ("2019.03.04", "2019-03-04T00:00:00+08:00"),
            ("05/06/2019", "2019-06-05T00:00:00+08:00"),
            ("2019/6/5 3pm", "2019-06-05T15:00:00+08:00"),
            ("January 2020", "2020-01-01T00:00:00+08:00"),
            ("2020-01-02 10:00 EST", "2020-01-02T10:00:00-05:00"),
            ("2020-01-02 10:00 CST", "2020-01-02T10:00:00-06:00"),
            ("2020-01-02 10:00 UTC+8", "2020-01-02T10:00:00+08:00"),
            ("99-1-2", "1999-01-02T00:00:00+08:00"),
            ("2020-01-02 24:00", "2020-01-03T00:00:00+08:00"),
        ];
        for (text, expected) in cases {
            assert_eq!(at(text).as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn what_cannot_be_reproduced_or_is_impossible() {
        for text in ["12:30", "Sep 3", "hello", "", "H31.04.30", "2020-W05-3"] {
            assert_eq!(at(text), None, "{text}");
        }
        for text in ["2022-02-30 x", "2022-13-01 x", "Feb 30, 2021"] {
            assert!(parse(text, chrono_tz::UTC).is_err(), "{text}");
        }
    }
}

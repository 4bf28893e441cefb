//! The period a digest covers: an ISO week (Monday 00:00 to the next Monday 00:00 in the site's
//! zone), or any span of whole days.

use std::fmt;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;

use crate::collect::date::local;

/// A span of whole local days, `[start, end)`, with the name digests and the ledger use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// `2022-W02` for a week, `2022-01-10..2022-01-16` for other spans.
    pub label: String,
    /// The first day.
    pub first: NaiveDate,
    /// The last day (inclusive).
    pub last: NaiveDate,
    /// The first day's 00:00 in the site's zone: the period's first instant.
    pub start: DateTime<FixedOffset>,
    /// The 00:00 after the last day: the first instant after the period.
    pub end: DateTime<FixedOffset>,
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} to {})", self.label, self.first, self.last)
    }
}

/// Why a period cannot be read or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// The last day comes before the first.
    #[error("the period ends ({last}) before it starts ({first})")]
    Backwards {
        /// The first day asked for.
        first: NaiveDate,
        /// The last day asked for.
        last: NaiveDate,
    },
    /// The day after this last day is past the last date chrono can represent.
    #[error("{0} is too far in the future")]
    TooLate(NaiveDate),
    /// The text is not a week written as `2022-W02`.
    #[error("`{0}` is not an ISO week such as 2022-W02")]
    NotAWeek(String),
    /// The year has no such ISO week (a year has 52 or 53).
    #[error("{year} has no week {week}")]
    NoSuchWeek {
        /// The ISO year asked for.
        year: i32,
        /// The week number asked for.
        week: u32,
    },
}

impl Period {
    /// The days `first..=last` in `zone`.
    pub fn days(first: NaiveDate, last: NaiveDate, zone: Tz) -> Result<Period, PeriodError> {
        if last < first {
            return Err(PeriodError::Backwards { first, last });
        }
        let after = last
            .checked_add_days(Days::new(1))
            .ok_or(PeriodError::TooLate(last))?;
        let monday_week = first.weekday() == Weekday::Mon && (last - first).num_days() == 6;
        let label = if monday_week {
            let w = first.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        } else {
            format!("{first}..{last}")
        };
        Ok(Period {
            label,
            first,
            last,
            start: local(first.and_time(chrono::NaiveTime::MIN), zone),
            end: local(after.and_time(chrono::NaiveTime::MIN), zone),
        })
    }

    /// An ISO week such as `2022-W02` (`2022-w2` is accepted too).
    pub fn iso_week(text: &str, zone: Tz) -> Result<Period, PeriodError> {
        let bad = || PeriodError::NotAWeek(text.to_string());
        let (year, week) = text.trim().split_once(['-']).ok_or_else(bad)?;
        let week = week.strip_prefix(['W', 'w']).ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let week: u32 = week.parse().map_err(|_| bad())?;
        let monday = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
            .ok_or(PeriodError::NoSuchWeek { year, week })?;
        Period::days(monday, monday + Days::new(6), zone)
    }

    /// The last complete ISO week before `now` in `zone`.
    pub fn last_complete_week(now: DateTime<Utc>, zone: Tz) -> Period {
        let today = now.with_timezone(&zone).date_naive();
        let this_monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
        let monday = this_monday - Days::new(7);
        Period::days(monday, monday + Days::new(6), zone).expect("a week is a valid period")
    }

    /// Whether an instant falls in the period.
    pub fn contains(&self, at: &DateTime<FixedOffset>) -> bool {
        *at >= self.start && *at < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn iso_weeks_start_monday_midnight_local() {
        let w = Period::iso_week("2022-W02", SHANGHAI).unwrap();
        assert_eq!(w.start.to_rfc3339(), "2022-01-10T00:00:00+08:00");
        assert_eq!(w.end.to_rfc3339(), "2022-01-17T00:00:00+08:00");
        assert_eq!(w.label, "2022-W02");
        // 02:00 +0800 on Monday is Sunday in UTC, but it is this week's.
        let monday_2am = FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2022, 1, 10, 2, 0, 0)
            .unwrap();
        assert!(w.contains(&monday_2am));
        let sunday_late = FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(2022, 1, 16, 16, 0, 0)
            .unwrap();
        assert!(
            !w.contains(&sunday_late),
            "00:00 Monday +0800 starts the next week"
        );
    }

    #[test]
    fn last_complete_week_and_spans() {
        let now = Utc.with_ymd_and_hms(2022, 1, 19, 3, 0, 0).unwrap();
        assert_eq!(Period::last_complete_week(now, SHANGHAI).label, "2022-W02");
        let span = Period::days(
            NaiveDate::from_ymd_opt(2022, 1, 11).unwrap(),
            NaiveDate::from_ymd_opt(2022, 1, 12).unwrap(),
            SHANGHAI,
        )
        .unwrap();
        assert_eq!(span.label, "2022-01-11..2022-01-12");
        assert_eq!(
            Period::iso_week("2022-W54", SHANGHAI).unwrap_err(),
            PeriodError::NoSuchWeek {
                year: 2022,
                week: 54
            }
        );
        assert!(Period::iso_week("last week", SHANGHAI).is_err());
    }
}

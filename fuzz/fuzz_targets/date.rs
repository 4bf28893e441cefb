//! `collect::date::parse` on arbitrary text, read both as a plain YAML scalar and as a quoted
//! string, in zones with and without daylight saving, half-hour offsets and ±14 h.
//!
//! Promises checked (src/collect/date.rs and the README's "Dates"):
//! - nothing panics;
//! - a date that is read has no fraction of a second (Jekyll drops them), an offset under 24 h,
//!   and a year from 0001 to 9999 ("year 0 is out of range: feeds carry years 0001 to 9999";
//!   RSS dates are RFC 2822, which has four-digit years);
//! - the feeds' own formats work on it: `feed::rfc822` (RSS, OPML) and RFC 3339 (Atom);
//! - its offset is whole minutes (what RFC 3339 and RFC 822 can write);
//! - it reads back: its RFC 3339 form, quoted, gives the same instant and the same offset (an
//!   explicit offset is kept as written);
//! - an error has a message.

#![no_main]

use chrono::{Datelike, Timelike};
use chrono_tz::Tz;
use gazette::collect::date::{parse, Written};
use libfuzzer_sys::fuzz_target;

const ZONES: &[Tz] = &[
    chrono_tz::UTC,
    chrono_tz::Asia::Shanghai,
    chrono_tz::America::New_York,
    chrono_tz::Pacific::Kiritimati,
    chrono_tz::Pacific::Pago_Pago,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::America::St_Johns,
    chrono_tz::Europe::Dublin,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    let zone = ZONES[usize::from(selector) % ZONES.len()];
    for written in [Written::Plain, Written::Quoted] {
        match parse(raw, written, zone) {
            Err(message) => assert!(!message.is_empty()),
            Ok(read) => {
                let at = read.at;
                assert_eq!(at.nanosecond(), 0, "{raw:?} kept a fraction of a second");
                assert!(
                    at.offset().local_minus_utc().abs() < 24 * 3600,
                    "{raw:?}: offset {} is not under 24 hours",
                    at.offset()
                );
                assert!(
                    (1..=9999).contains(&at.year()),
                    "{raw:?} ({written:?}, {zone}) was read as {at:?}, outside the years 0001 to 9999 feeds carry"
                );
                // What the RSS (and OPML) and Atom writers call on every post date.
                let rfc2822 = gazette::feed::rfc822(&at);
                let rfc3339 = at.to_rfc3339();
                assert!(!rfc2822.is_empty());
                // RFC 3339 offsets are whole minutes, and so must every offset read be: a zone's
                // local mean time (Asia/Shanghai before 1901: +08:05:43) is shown in UTC.
                assert_eq!(
                    at.offset().local_minus_utc() % 60,
                    0,
                    "{raw:?} ({zone}): offset {} has seconds",
                    at.offset()
                );
                match parse(&rfc3339, Written::Quoted, zone) {
                    Ok(again) => {
                        assert_eq!(again.at, at, "{raw:?} → {rfc3339} does not read back");
                        assert_eq!(
                            again.at.offset(),
                            at.offset(),
                            "{raw:?} → {rfc3339}: the offset changed"
                        );
                    }
                    Err(m) => panic!("{raw:?} → {rfc3339} does not read back: {m}"),
                }
            }
        }
    }
});

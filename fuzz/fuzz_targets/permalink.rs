//! `collect::permalink::expand` with an arbitrary template and arbitrary fields (date,
//! categories, slug, file name, path).
//!
//! Promises checked (src/collect/permalink.rs):
//! - nothing panics;
//! - a path is returned for every template made only of known placeholders; an unknown one is
//!   an error naming it;
//! - the path starts with `/`, has no runs of `/` and no `..` ("`..` cannot climb");
//! - every placeholder value is percent-encoded: with a template of placeholders and `/` only,
//!   the path holds only the characters `URL.escape_path` leaves alone (and `%`);
//! - `slugify` keeps no leading or trailing `-` and no runs of `-`.

#![no_main]

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use gazette::collect::permalink::{expand, slugify, Fields};
use libfuzzer_sys::fuzz_target;

const PLACEHOLDERS: &[&str] = &[
    "year",
    "month",
    "i_month",
    "day",
    "i_day",
    "short_year",
    "hour",
    "minute",
    "second",
    "y_day",
    "short_month",
    "long_month",
    "short_day",
    "long_day",
    "week",
    "w_year",
    "w_day",
    "title",
    "slug",
    "name",
    "categories",
    "slugified_categories",
    "path",
    "output_ext",
    "collection",
];

fn date(days: i32, seconds: u32) -> Option<NaiveDateTime> {
    // Any day chrono can hold, so that dates moved into the site's zone (year 0, 10000) are
    // covered too.
    let day = NaiveDate::from_num_days_from_ce_opt(days)?;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds % 86_400, 0)?;
    Some(day.and_time(time))
}

fn check_path(template: &str, path: &str) {
    assert!(
        path.starts_with('/'),
        "{template:?} → {path:?} does not start with /"
    );
    assert!(
        !path.contains("//"),
        "{template:?} → {path:?} has a run of /"
    );
    assert!(!path.contains(".."), "{template:?} → {path:?} has `..`");
}

fuzz_target!(|input: (
    String,
    Vec<String>,
    String,
    String,
    String,
    i32,
    u32,
    Vec<u8>
)| {
    let (template, categories, slug, name, relative, days, seconds, picks) = input;
    let Some(date) = date(days, seconds) else {
        return;
    };
    let relative = Path::new(&relative);
    let fields = Fields {
        date,
        categories: &categories,
        slug: &slug,
        output_ext: ".html",
        name: &name,
        relative,
    };

    // 1. The arbitrary template.
    match expand(&template, &fields) {
        Ok(path) => check_path(&template, &path),
        Err(m) => assert!(m.contains("which Jekyll does not know"), "{m}"),
    }

    // 2. A template of known placeholders only: always a path, and every value escaped.
    let mut known = String::new();
    for &p in &picks {
        let name = PLACEHOLDERS[usize::from(p) % PLACEHOLDERS.len()];
        known.push_str(if p & 0x80 == 0 { "/:" } else { ":" });
        known.push_str(name);
    }
    match expand(&known, &fields) {
        Ok(path) => {
            check_path(&known, &path);
            assert!(
                path.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c)),
                "{known:?} → {path:?} holds a character escape_path should have encoded"
            );
        }
        Err(m) => panic!("{known:?} uses only known placeholders but failed: {m}"),
    }

    // 3. Slugs.
    for text in categories.iter().chain([&slug, &name]) {
        for (pretty, cased) in [(false, false), (true, true)] {
            let s = slugify(text, pretty, cased);
            assert!(
                !s.starts_with('-') && !s.ends_with('-') && !s.contains("--"),
                "slugify({text:?}, {pretty}, {cased}) = {s:?}"
            );
        }
    }
});

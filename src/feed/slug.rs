//! File names for category and tag feeds: a readable ASCII slug for a name in any script
//! (`中国劳动保障报新闻` → `zhong-guo-lao-dong-bao-zhang-bao-xin-wen`), an explicit slug from the
//! config when given, and deterministic suffixes when two names meet on one slug.
//!
//! A slug is only ever `[a-z0-9-]`, 1 to 80 characters: no name (`../../x`, `/etc`, `a/b`, an
//! empty one) can lead a write outside the output folder.

use std::collections::{BTreeMap, BTreeSet};

const MAX_LEN: usize = 80;

/// A slug of `name` from its transliteration, or `None` when nothing readable is left.
pub fn readable(name: &str) -> Option<String> {
    let ascii = deunicode::deunicode(name);
    let mut slug = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    if slug.len() > MAX_LEN {
        slug.truncate(MAX_LEN);
    }
    let slug = slug.trim_end_matches('-');
    (!slug.is_empty()).then(|| slug.to_string())
}

/// Whether a slug given in the config is safe to use as a file name as it is.
pub fn is_safe(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_LEN
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !slug.starts_with(['-', '_'])
}

/// A short stable code of `name`, for names with nothing readable (FNV-1a, 32 bits).
fn code(name: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// Slugs for a set of names (categories, or tags), unique within the set.
///
/// Names are taken in sorted order; a config slug wins; the first name to claim a slug keeps it
/// and the next ones get `-2`, `-3`, …, so the result depends only on the set of names.
pub fn assign(
    names: &BTreeSet<&str>,
    explicit: &BTreeMap<String, String>,
    fallback: &str,
) -> BTreeMap<String, String> {
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut out = BTreeMap::new();
    // Explicit slugs first, so a derived slug never takes one the user chose.
    for name in names {
        if let Some(slug) = explicit.get(*name).filter(|s| is_safe(s)) {
            if taken.insert(slug.clone()) {
                out.insert(name.to_string(), slug.clone());
            }
        }
    }
    for name in names {
        if out.contains_key(*name) {
            continue;
        }
        let base = readable(name).unwrap_or_else(|| format!("{fallback}-{}", code(name)));
        let mut slug = base.clone();
        let mut n = 2;
        while taken.contains(&slug) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        taken.insert(slug.clone());
        out.insert(name.to_string(), slug);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_slugs_for_any_script() {
        assert_eq!(
            readable("中国劳动保障报新闻").as_deref(),
            Some("zhong-guo-lao-dong-bao-zhang-bao-xin-wen")
        );
        assert_eq!(readable("Café Society").as_deref(), Some("cafe-society"));
        assert_eq!(readable("../../etc").as_deref(), Some("etc"));
        assert_eq!(readable("/"), None);
        assert_eq!(readable("!!!"), None);
        assert_eq!(readable(&"a".repeat(300)).map(|s| s.len()), Some(80));
    }

    #[test]
    fn collisions_get_stable_suffixes_and_config_wins() {
        let names: BTreeSet<&str> = ["News", "news", "NEWS", "/", "报"].into_iter().collect();
        let explicit: BTreeMap<String, String> = [
            ("报".to_string(), "bao-zhi".to_string()),
            ("bad".to_string(), "../x".to_string()),
        ]
        .into();
        let slugs = assign(&names, &explicit, "category");
        assert_eq!(slugs["NEWS"], "news");
        assert_eq!(slugs["News"], "news-2");
        assert_eq!(slugs["news"], "news-3");
        assert_eq!(slugs["报"], "bao-zhi");
        assert!(slugs["/"].starts_with("category-"));
        assert!(slugs.values().all(|s| is_safe(s)));
    }
}

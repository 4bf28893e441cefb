//! File names for category and tag feeds: a readable ASCII slug for a name in any script
//! (`中国劳动保障报新闻` → `zhong-guo-lao-dong-bao-zhang-bao-xin-wen`), an explicit slug from the
//! config when given, the slug a name was published with before, and deterministic suffixes
//! when two names meet on one slug.
//!
//! A slug is only ever `[a-z0-9-_]`, 1 to 80 characters, and never a name Windows reserves
//! (`con`, `nul`, `com1`…): no name (`../../x`, `/etc`, `a/b`, an empty one) can lead a write
//! outside the output folder, and the output folder can be checked out on any system.
//!
//! A feed's URL, once published, does not move: the names each build gave which file are kept
//! in the output folder ([`NAMES`], beside the manifest), and the next build gives every name
//! it finds there the same file again. Only a name that was not published before gets a new
//! slug (the next free one), and a name that could not have the slug its own name makes is
//! reported with the file it got and the name that holds its slug.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{Format, Output, Plan, Scope};
use crate::problem::{Position, Problem};

const MAX_LEN: usize = 80;

/// The file in the output folder that says which category and tag got which file.
pub(crate) const NAMES: &str = ".gazette-names";

/// Whether Windows refuses `name` as a file name: `con`, `prn`, `aux`, `nul`, `com1`…`com9`,
/// `lpt1`…`lpt9`, in any case, with or without an extension (`nul.rss.xml` is refused too).
pub(crate) fn reserved_on_windows(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).to_ascii_lowercase();
    match stem.as_bytes() {
        b"con" | b"prn" | b"aux" | b"nul" => true,
        [a, b, c, digit] => {
            matches!([a, b, c], [b'c', b'o', b'm'] | [b'l', b'p', b't'])
                && (b'1'..=b'9').contains(digit)
        }
        _ => false,
    }
}

/// A slug of `name` from its transliteration, or `None` when nothing readable is left. A slug
/// Windows reserves gets `-1` (`con` → `con-1`).
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
    if slug.is_empty() {
        None
    } else if reserved_on_windows(slug) {
        Some(format!("{slug}-1"))
    } else {
        Some(slug.to_string())
    }
}

/// Whether a slug given in the config (or found in [`NAMES`]) is safe to use as a file name as
/// it is.
pub(crate) fn is_safe(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_LEN
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !slug.starts_with(['-', '_'])
        && !reserved_on_windows(slug)
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

/// The slug `name` has when nothing else claims it: its config slug when that is safe, else its
/// readable slug, else `<fallback>-<code>`.
fn own_slug(name: &str, explicit: &BTreeMap<String, String>, fallback: &str) -> String {
    match explicit.get(name).filter(|s| is_safe(s)) {
        Some(slug) => slug.clone(),
        None => readable(name).unwrap_or_else(|| format!("{fallback}-{}", code(name))),
    }
}

/// Slugs for a set of names (categories, or tags), unique within the set.
///
/// A config slug wins; then every name keeps the slug it was published with (`published`, from
/// the last build's [`NAMES`]); the other names, in sorted order, take their own slug, or when
/// it is taken the first free of `-2`, `-3`, …. On a clean build (nothing published) the
/// result depends only on the set of names.
pub(crate) fn assign(
    names: &BTreeSet<&str>,
    explicit: &BTreeMap<String, String>,
    fallback: &str,
    published: &BTreeMap<String, String>,
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
    // Then the files already published, so that their subscribers keep them.
    for name in names {
        if out.contains_key(*name) || explicit.get(*name).is_some_and(|s| is_safe(s)) {
            continue;
        }
        if let Some(slug) = published.get(*name).filter(|s| is_safe(s)) {
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

/// Which category and tag names got which slug, as [`NAMES`] keeps them.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Published {
    /// Each category's name, as posts write it, to its slug.
    pub categories: BTreeMap<String, String>,
    /// Each tag's name, as posts write it, to its slug.
    pub tags: BTreeMap<String, String>,
}

impl Published {
    /// The names an earlier build wrote into the output folder `out`; none when there is no
    /// such file, or it is not a regular file (a symbolic link is not followed), or it cannot
    /// be read (a clean build's names are deterministic anyway).
    pub fn read(out: &Path) -> Published {
        /// A names file bigger than this is not one gazette wrote.
        const MAX_BYTES: u64 = 64 << 20;
        let path = out.join(NAMES);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() && meta.len() <= MAX_BYTES => {}
            _ => return Published::default(),
        }
        std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// The names of one scope (the site feed has none).
    pub fn of(&self, scope: Scope) -> &BTreeMap<String, String> {
        static NONE: BTreeMap<String, String> = BTreeMap::new();
        match scope {
            Scope::Category => &self.categories,
            Scope::Tag => &self.tags,
            Scope::Site => &NONE,
        }
    }

    /// The names and slugs of `plans`, as the file [`NAMES`] to write beside the feeds.
    pub(crate) fn of_plans(plans: &[Plan<'_>]) -> Published {
        let mut published = Published::default();
        for plan in plans {
            let (Some(name), Some((_, slug))) = (&plan.name, plan.stem.rsplit_once('/')) else {
                continue;
            };
            let names = match plan.scope {
                Scope::Category => &mut published.categories,
                Scope::Tag => &mut published.tags,
                Scope::Site => continue,
            };
            names.insert(name.clone(), slug.to_string());
        }
        published
    }

    /// The file [`NAMES`] (JSON, names sorted, so the same names give the same bytes).
    pub fn output(&self) -> Output {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        Output {
            path: PathBuf::from(NAMES),
            bytes,
        }
    }
}

/// Where the `slugs:` setting is, for messages: `gazette.yml` when it sets `slugs`, else
/// `_config.yml` (or `_config.yaml`); the line of `slugs:` (the file's start when it is not
/// found).
fn slugs_setting(site: &Path) -> (PathBuf, Position) {
    let line_of = |path: &Path| {
        std::fs::read_to_string(path).ok().and_then(|text| {
            text.lines()
                .position(|l| l.trim_start().starts_with("slugs:"))
                .map(|i| Position::new(i + 1, 1))
        })
    };
    let config = crate::config::config_file(site);
    let own = site.join("gazette.yml");
    if let Some(at) = line_of(&own) {
        return (own, at);
    }
    let at = line_of(&config).unwrap_or(Position::START);
    (config, at)
}

/// Warnings about file names: each `slugs:` value that cannot be used (named with the setting),
/// and each category or tag that could not have the slug its name makes because another name
/// holds it (saying which name got which file).
pub fn warnings(
    site: &Path,
    plans: &[Plan<'_>],
    explicit: &BTreeMap<String, String>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let unsafe_slugs: Vec<(&String, &String)> =
        explicit.iter().filter(|(_, slug)| !is_safe(slug)).collect();
    if !unsafe_slugs.is_empty() {
        let (path, at) = slugs_setting(site);
        for (name, slug) in unsafe_slugs {
            let why = if slug.is_empty() {
                "is empty".to_string()
            } else if reserved_on_windows(slug) {
                "is a name Windows reserves".to_string()
            } else {
                format!(
                    "is not a safe file name (1 to {MAX_LEN} of a-z, 0-9, `-`, `_`, not starting with `-` or `_`)"
                )
            };
            problems.push(Problem::warning(
                &path,
                at,
                format!(
                    "`slugs:` gives {name:?} the file name {slug:?}, which {why}: ignored, {name:?} gets a file name of its own"
                ),
            ));
        }
    }
    for scope in [Scope::Category, Scope::Tag] {
        let (kind, fallback) = match scope {
            Scope::Tag => ("tag", "tag"),
            _ => ("category", "category"),
        };
        let of_scope: Vec<&Plan<'_>> = plans.iter().filter(|p| p.scope == scope).collect();
        let holder: BTreeMap<&str, &Plan<'_>> = of_scope
            .iter()
            .filter_map(|p| Some((p.stem.rsplit_once('/')?.1, *p)))
            .collect();
        for plan in &of_scope {
            let (Some(name), Some((_, slug))) = (&plan.name, plan.stem.rsplit_once('/')) else {
                continue;
            };
            let own = own_slug(name, explicit, fallback);
            if own == slug {
                continue;
            }
            let Some(other) = holder.get(own.as_str()) else {
                continue;
            };
            let other_name = other.name.as_deref().unwrap_or_default();
            let file = plan.file(Format::Rss);
            problems.push(Problem::warning(
                &file,
                Position::START,
                format!(
                    "{kind} {name:?} gets {file}: the file name its name makes ({own}) is {kind} {other_name:?}'s ({})",
                    other.file(Format::Rss)
                ),
            ));
        }
    }
    problems
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
        let slugs = assign(&names, &explicit, "category", &BTreeMap::new());
        assert_eq!(slugs["NEWS"], "news");
        assert_eq!(slugs["News"], "news-2");
        assert_eq!(slugs["news"], "news-3");
        assert_eq!(slugs["报"], "bao-zhi");
        assert!(slugs["/"].starts_with("category-"));
        assert!(slugs.values().all(|s| is_safe(s)));
    }

    #[test]
    fn published_names_keep_their_files_and_new_names_take_the_next_free_one() {
        let names: BTreeSet<&str> = ["News", "news", "Sport"].into_iter().collect();
        let published: BTreeMap<String, String> = [
            ("news".to_string(), "news".to_string()),
            ("Sport".to_string(), "sport-2".to_string()),
            // A tampered or older file never gives an unsafe name.
            ("Other".to_string(), "../x".to_string()),
        ]
        .into();
        let slugs = assign(&names, &BTreeMap::new(), "category", &published);
        assert_eq!(slugs["news"], "news");
        assert_eq!(slugs["News"], "news-2");
        assert_eq!(slugs["Sport"], "sport-2");
        // A config slug still wins over a published one.
        let explicit: BTreeMap<String, String> = [("News".to_string(), "news".to_string())].into();
        let slugs = assign(&names, &explicit, "category", &published);
        assert_eq!(slugs["News"], "news");
        assert_eq!(slugs["news"], "news-2");
        let bad: BTreeMap<String, String> = [("news".to_string(), "con".to_string())].into();
        let slugs = assign(&names, &BTreeMap::new(), "category", &bad);
        assert_eq!(slugs["News"], "news");
        assert_eq!(slugs["news"], "news-2");
    }

    #[test]
    fn names_windows_reserves_get_another_slug() {
        for reserved in [
            "con", "CON", "Aux", "nul", "prn", "com1", "COM9", "lpt1", "lpt9",
        ] {
            assert!(reserved_on_windows(reserved), "{reserved}");
            let slug = readable(reserved).unwrap();
            assert_eq!(slug, format!("{}-1", reserved.to_ascii_lowercase()));
            assert!(is_safe(&slug) && !is_safe(&reserved.to_ascii_lowercase()));
        }
        for with_extension in ["nul.txt", "CON.rss.xml", "com1.json"] {
            assert!(reserved_on_windows(with_extension), "{with_extension}");
        }
        for fine in [
            "com",
            "com0",
            "com10",
            "lpt",
            "console",
            "nul-1",
            "auxiliary",
            "con-1",
        ] {
            assert!(!reserved_on_windows(fine), "{fine}");
        }
        let names: BTreeSet<&str> = ["con", "con 1", "Con"].into_iter().collect();
        let slugs = assign(&names, &BTreeMap::new(), "tag", &BTreeMap::new());
        assert!(slugs.values().all(|s| is_safe(s)), "{slugs:?}");
        assert_eq!(slugs["Con"], "con-1");
        assert_eq!(slugs["con"], "con-1-2");
        assert_eq!(slugs["con 1"], "con-1-3");
    }
}

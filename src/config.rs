//! The site's settings: Jekyll's `_config.yml`, plus gazette's own `gazette:` section in it or a
//! `gazette.yml` beside it (the file wins, key by key, over the section).
//!
//! Everything is optional. A setting that is present but wrong (a `url` that is not an absolute
//! http(s) URL, an unknown `timezone`) is an error; an unknown key of gazette's is a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;
use serde_yaml::{Mapping, Value};
use url::Url;

use crate::problem::{Position, Problem};
use crate::yaml::{describe, scalar_string, yaml11_bool};

pub use crate::permalink::style as permalink_style;

/// A person named in the config or in a post: a name, an email, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Author {
    /// The person's name.
    pub name: Option<String>,
    /// Their email address.
    pub email: Option<String>,
    /// A web page about them (Atom's `uri`, JSON Feed's `url`).
    pub uri: Option<String>,
}

impl Author {
    /// Reads `author: Jane`, `author: jane@example.com`, `author: "Jane <jane@example.com>"` or
    /// `author: {name: Jane, email: jane@example.com, uri: …}` (where a `name` written
    /// `Jane <jane@example.com>` gives the email too, unless `email` is set).
    pub(crate) fn from_yaml(value: &Value) -> Option<Author> {
        let author = match value {
            Value::Mapping(m) => {
                let field = |k: &str| {
                    m.get(k)
                        .and_then(scalar_string)
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                };
                let (name, email_in_name) = match field("name") {
                    Some(name) => match split_address(&name) {
                        Some((name, email)) => (name, Some(email)),
                        None => (Some(name), None),
                    },
                    None => (None, None),
                };
                Author {
                    name,
                    email: field("email").or(email_in_name),
                    uri: field("uri").or_else(|| field("url")),
                }
            }
            Value::Tagged(t) => return Author::from_yaml(&t.value),
            other => {
                let text = scalar_string(other)?.trim().to_string();
                if let Some((name, email)) = split_address(&text) {
                    Author {
                        name,
                        email: Some(email),
                        ..Author::default()
                    }
                } else if text.contains('@') && !text.contains(' ') {
                    Author {
                        email: Some(text),
                        ..Author::default()
                    }
                } else {
                    Author {
                        name: (!text.is_empty()).then_some(text),
                        ..Author::default()
                    }
                }
            }
        };
        (author.name.is_some() || author.email.is_some()).then_some(author)
    }
}

/// Splits `Name <address@host>` (the form of an email header) into the name, without quotes
/// (`None` when there is none), and the address; `None` when the text is not of that form.
fn split_address(text: &str) -> Option<(Option<String>, String)> {
    let inner = text.trim().strip_suffix('>')?;
    let open = inner.rfind('<')?;
    let email = inner[open + 1..].trim();
    let (local, host) = email.split_once('@')?;
    if local.is_empty()
        || host.is_empty()
        || email.contains(|c: char| c.is_whitespace() || c == '<')
    {
        return None;
    }
    let name = inner[..open].trim().trim_matches('"').trim();
    Some((
        (!name.is_empty()).then(|| name.to_string()),
        email.to_string(),
    ))
}

/// The default of `max_post_bytes`: 16 MiB, far above any real post.
pub(crate) const DEFAULT_MAX_POST_BYTES: u64 = 16 * 1024 * 1024;

/// gazette's own settings (the `gazette:` section of `_config.yml`, or `gazette.yml`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct GazetteSettings {
    /// Where `gazette build` writes feeds, relative to the site folder.
    pub out: PathBuf,
    /// Whether to write a feed per tag as well as per category.
    pub tag_feeds: bool,
    /// Display names for categories, by the name used in posts.
    pub category_names: BTreeMap<String, String>,
    /// Display names for tags, by the name used in posts.
    pub tag_names: BTreeMap<String, String>,
    /// Explicit file-name slugs for categories and tags, by name.
    pub slugs: BTreeMap<String, String>,
    /// How many items each feed holds (the newest), after drafts, future and unpublished posts
    /// are left out.
    pub items: usize,
    /// The URL path, below the site root, at which the output folder is served.
    pub path: String,
    /// Whether to write the site-wide feed (`feed.rss.xml`, `feed.atom.xml`).
    pub site_feed: bool,
    /// Whether to write a JSON Feed 1.1 beside each RSS and Atom feed.
    pub json_feed: bool,
    /// Whether to write, in Jekyll's destination, the Atom feeds the jekyll-feed plugin would
    /// write (its paths, ids and links), so that a site moving from it keeps every subscriber
    /// (`src/feed/jekyll_feed.rs`).
    pub jekyll_feed: bool,
    /// A WebSub hub to announce in every feed.
    pub hub: Option<String>,
    /// An XSL stylesheet for browsers (`<?xml-stylesheet?>`), as a URL.
    pub stylesheet: Option<String>,
    /// Feeds larger than this many bytes are reported (5 MiB: the smallest cap among common
    /// readers).
    pub max_feed_bytes: u64,
    /// Posts larger than this many bytes are left out with an error, before they are read
    /// (reading and rendering a post takes memory in proportion to its size).
    pub max_post_bytes: u64,
    /// How many categories, and how many tags, one post keeps (the first ones written); more
    /// are dropped with a warning (every term is a feed that lists them all).
    pub max_terms: usize,
    /// Where to keep what was read from each post, relative to the site (empty: no cache).
    pub cache: PathBuf,
    /// Whether `gazette build` refuses to write any feed when a post cannot be read (by default
    /// such a post is left out and reported, as Jekyll does, and every other post is published).
    pub strict: bool,
    /// The `digest:` section, as written: the digest stage reads it into its own settings
    /// ([`SiteConfig::section`]), so that the config knows nothing of mail.
    #[serde(default)]
    pub digest: Value,
}

impl Default for GazetteSettings {
    fn default() -> Self {
        GazetteSettings {
            out: PathBuf::from("_site/feeds"),
            tag_feeds: false,
            category_names: BTreeMap::new(),
            tag_names: BTreeMap::new(),
            slugs: BTreeMap::new(),
            items: 20,
            path: "/feeds".to_string(),
            site_feed: true,
            json_feed: false,
            jekyll_feed: false,
            hub: None,
            stylesheet: None,
            max_feed_bytes: 5 * 1024 * 1024,
            max_post_bytes: DEFAULT_MAX_POST_BYTES,
            max_terms: 100,
            cache: PathBuf::from(".gazette/posts.cache"),
            strict: false,
            digest: Value::Null,
        }
    }
}

/// The site's settings, read and checked.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// `title`; empty when not set.
    pub title: String,
    /// `description`; `None` when not set or blank.
    pub description: Option<String>,
    /// The site's public address (`url`), without `baseurl`; `None` when not configured.
    pub url: Option<Url>,
    /// `baseurl`, normalised to `""` or `/path` without a trailing slash.
    pub baseurl: String,
    /// `timezone`, for dates written without an offset; this machine's zone when not set.
    pub timezone: Tz,
    /// The permalink pattern for posts (a style name already expanded).
    pub permalink: String,
    /// The site's `author`, for posts that name none.
    pub author: Option<Author>,
    /// `lang` (`zh-CN`, say); `None` when not set or blank.
    pub lang: Option<String>,
    /// Jekyll's `excerpt_separator`: where a post's excerpt ends (default: the first blank line).
    pub excerpt_separator: String,
    /// Jekyll's `future`: publish posts dated after now.
    pub future: bool,
    /// Extensions (without the dot) read as Markdown.
    pub markdown_ext: Vec<String>,
    /// gazette's own settings (the `gazette:` section and `gazette.yml`).
    pub gazette: GazetteSettings,
    /// `_config.yml` as it was read, for the stages that read Jekyll's own sections of it
    /// (Liquid's `site`, `kramdown:`, jekyll-feed's `feed:`).
    pub raw: Mapping,
    /// The file the configuration was read from (`_config.yml`, or `_config.yaml` when only that
    /// exists), for problems that point at a setting.
    pub path: PathBuf,
    /// Where each of gazette's settings was written, for the stages that read a section of
    /// their own.
    places: Places,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            title: String::new(),
            description: None,
            url: None,
            baseurl: String::new(),
            timezone: chrono_tz::UTC,
            permalink: permalink_style("date").unwrap().to_string(),
            author: None,
            lang: None,
            excerpt_separator: "\n\n".to_string(),
            future: false,
            markdown_ext: ["markdown", "mkdown", "mkdn", "mkd", "md"]
                .map(String::from)
                .to_vec(),
            gazette: GazetteSettings::default(),
            raw: Mapping::new(),
            path: PathBuf::from("_config.yml"),
            places: Places::default(),
        }
    }
}

/// A config read, with the warnings met on the way.
#[derive(Debug)]
pub struct Loaded {
    /// The settings.
    pub config: SiteConfig,
    /// Warnings and notes about them (an unknown key, no `timezone`…).
    pub problems: Vec<Problem>,
}

/// Reads a YAML file into a mapping; a missing file is an empty mapping.
/// A YAML file read into a mapping (`None` when it does not exist), with its text, and the keys
/// it repeats. With `last_wins` (Jekyll's own `_config.yml`), a repeated key keeps its last value
/// as Jekyll keeps it; otherwise (gazette's own `gazette.yml`) it is an error.
type ReadMapping = Option<(Mapping, String, Vec<String>)>;

fn read_mapping(path: &Path, last_wins: bool) -> Result<ReadMapping, Problem> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(&e.into_bytes()[..at]).into_owned();
            Problem::error(
                path,
                Position::of_offset(&text, at),
                "file is not valid UTF-8",
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Problem::error(
                path,
                Position::START,
                format!("cannot read: {e}"),
            ))
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    let (value, repeated) = if last_wins {
        crate::yaml::last_wins::from_str(&text)
    } else {
        serde_yaml::from_str(&text).map(|v| (v, Vec::new()))
    }
    .map_err(|e| crate::yaml::yaml_file_error(path, &e))?;
    match crate::yaml::untag(value) {
        Value::Mapping(m) => Ok(Some((m, text, repeated))),
        Value::Null => Ok(Some((Mapping::new(), text, repeated))),
        other => Err(Problem::error(
            path,
            Position::START,
            format!(
                "the configuration is {}, but it must be a mapping of settings (`title: …`)",
                describe(&other)
            ),
        )),
    }
}

/// A warning for each key `_config.yml` writes twice in one mapping, naming the lines: the last
/// value is used, as Jekyll uses it.
fn repeated_keys(path: &Path, text: &str, repeated: &[String]) -> Vec<Problem> {
    let mut seen = std::collections::HashSet::new();
    repeated
        .iter()
        .filter(|key| seen.insert(key.as_str()))
        .map(|key| {
            let lines: Vec<usize> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| {
                    l.trim_start()
                        .strip_prefix(key.as_str())
                        .is_some_and(|rest| rest.trim_start().starts_with(':'))
                })
                .map(|(i, _)| i + 1)
                .collect();
            let at = lines.last().map_or(Position::START, |&l| Position::new(l, 1));
            let listed = lines
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" and ");
            Problem::warning(
                path,
                at,
                format!("the key `{key}` appears on lines {listed}: the last value is used, as Jekyll uses it"),
            )
        })
        .collect()
}

/// The site's configuration file, chosen as Jekyll chooses it: `_config.yml`, or
/// `_config.yaml` when only that exists. The one place this choice is made.
pub(crate) fn config_file(site: &Path) -> PathBuf {
    let yml = site.join("_config.yml");
    let yaml = site.join("_config.yaml");
    if !yml.exists() && yaml.exists() {
        yaml
    } else {
        yml
    }
}

/// The position of the first `key:` in the file at `path`, for problems about a setting found
/// after loading (the file's start when it cannot be read or the key found).
pub(crate) fn key_position_in(path: &Path, key: &str) -> Position {
    std::fs::read_to_string(path).map_or(Position::START, |text| key_position(&text, key, 0))
}

/// The line of the first `key:` at any indentation after line `after` (for pointing at settings).
fn key_position(text: &str, key: &str, after: usize) -> Position {
    text.lines()
        .enumerate()
        .skip(after)
        .find(|(_, l)| {
            let t = l.trim_start();
            t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map_or(Position::START, |(i, l)| {
            Position::new(i + 1, l.len() - l.trim_start().len() + 1)
        })
}

/// The section of gazette's settings that `gazette.yml` merges key by key at every level (the
/// others are replaced whole when `gazette.yml` sets them).
const DEEP_MERGED: &str = "digest";

/// `over` merged into `base` key by key: a mapping into a mapping recursively, anything else
/// replacing what was there.
fn merge_deep(base: &mut Mapping, over: Mapping) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Mapping(inner)), Value::Mapping(more)) => merge_deep(inner, more),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Where each of gazette's settings was read: file and place, by dotted path (`items`,
/// `digest.smtp.port`); the later file's entry wins.
#[derive(Debug, Clone, Default)]
struct Sources(BTreeMap<String, (PathBuf, Position)>);

impl Sources {
    /// Notes the keys of `map` (found in `text` of `path` after line `after`) under `prefix`,
    /// and those of the deep-merged section's mappings below them.
    fn note(&mut self, map: &Mapping, prefix: &str, path: &Path, text: &str, after: usize) {
        for (k, v) in map {
            let Some(name) = k.as_str() else { continue };
            let found = key_position(text, name, after);
            // A key not found on a line of its own (a `{flow: mapping}`) points at its parent.
            let position = match self.0.get(prefix) {
                Some((p, parent)) if found == Position::START && p == path => *parent,
                _ => found,
            };
            let full = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            };
            self.0.insert(full.clone(), (path.to_path_buf(), position));
            let deep = full == DEEP_MERGED || full.starts_with(&format!("{DEEP_MERGED}."));
            if let (true, Value::Mapping(inner)) = (deep, v) {
                let below = if position == Position::START {
                    after
                } else {
                    position.line
                };
                self.note(inner, &full, path, text, below);
            }
        }
    }
}

/// `_config.yml` as read: its path, mapping and text (for the places of keys).
struct File<'a> {
    path: &'a Path,
    map: &'a Mapping,
    text: &'a str,
}

impl File<'_> {
    fn at(&self, key: &str) -> Position {
        key_position(self.text, key, 0)
    }

    fn string(&self, key: &str) -> Option<String> {
        self.map.get(key).and_then(scalar_string)
    }

    /// Jekyll's own keys that gazette reads (`title`, `url`, `baseurl`, `author`…).
    fn read_jekyll_keys(&self, config: &mut SiteConfig) -> Result<(), Problem> {
        if let Some(title) = self.string("title") {
            config.title = title;
        }
        config.description = self.string("description").filter(|s| !s.trim().is_empty());
        config.lang = self.string("lang").filter(|s| !s.trim().is_empty());
        if let Some(url) = self.string("url").filter(|s| !s.trim().is_empty()) {
            config.url = Some(parse_site_url(&url).map_err(|m| {
                Problem::error(self.path, self.at("url"), format!("`url: {url}` {m}"))
            })?);
        }
        if let Some(base) = self.string("baseurl") {
            config.baseurl = normalise_baseurl(&base);
        }
        config.author = self.map.get("author").and_then(Author::from_yaml);
        if let Some(sep) = self.string("excerpt_separator") {
            config.excerpt_separator = sep;
        }
        if let Some(future) = self.map.get("future").and_then(yaml11_bool) {
            config.future = future;
        }
        if let Some(exts) = self.string("markdown_ext") {
            config.markdown_ext = exts
                .split(',')
                .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect();
        }
        Ok(())
    }

    /// `timezone`, else this machine's zone (with a note), as Jekyll falls back on it.
    fn timezone(&self, problems: &mut Vec<Problem>) -> Result<Tz, Problem> {
        match self.string("timezone").filter(|s| !s.trim().is_empty()) {
            Some(name) => name.trim().parse::<Tz>().map_err(|_| {
                Problem::error(
                    self.path,
                    self.at("timezone"),
                    format!(
                        "`timezone: {name}` is not an IANA time zone name (such as Asia/Shanghai)"
                    ),
                )
            }),
            None => {
                let (zone, name) = system_zone();
                problems.push(Problem::note(
                    self.path,
                    Position::START,
                    format!(
                        "no `timezone` set: dates without an offset are read in this machine's zone \
                         ({name}), as Jekyll does; set `timezone` so every machine agrees"
                    ),
                ));
                Ok(zone)
            }
        }
    }

    /// `permalink` as a pattern (a style's name replaced by its pattern); `None` when unset. A
    /// pattern Jekyll cannot expand stops Jekyll's whole build: it is an error here, once.
    fn permalink(&self) -> Result<Option<String>, Problem> {
        let Some(p) = self.string("permalink").filter(|s| !s.trim().is_empty()) else {
            return Ok(None);
        };
        let pattern = match permalink_style(p.trim()) {
            Some(style) => style.to_string(),
            None if p.contains('/') || p.contains(':') => p,
            None => {
                return Err(Problem::error(
                    self.path,
                    self.at("permalink"),
                    format!("`permalink: {p}` is neither a style (date, pretty, ordinal, weekdate, none) nor a pattern such as /:year/:title/"),
                ))
            }
        };
        let probe = crate::permalink::Fields {
            date: chrono::NaiveDate::from_ymd_opt(2022, 1, 12)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .expect("a valid date"),
            categories: &[],
            slug: "x",
            output_ext: ".html",
            name: "2022-01-12-x.md",
            relative: Path::new("_posts/2022-01-12-x.md"),
        };
        crate::permalink::expand(&pattern, &probe)
            .map_err(|m| Problem::error(self.path, self.at("permalink"), m.to_string()))?;
        Ok(Some(pattern))
    }

    /// gazette's own section, then `gazette.yml` over it key by key; inside `digest:` key by key
    /// at every level (`digest: smtp: port:` in gazette.yml changes the port alone). Each key's
    /// file and place are kept, for the errors and warnings about it.
    fn gazette_section(&self, site: &Path) -> Result<(Mapping, Places), Problem> {
        let mut ours = match self.map.get("gazette") {
            None | Some(Value::Null) => Mapping::new(),
            Some(Value::Mapping(m)) => m.clone(),
            Some(other) => {
                return Err(Problem::error(
                    self.path,
                    self.at("gazette"),
                    format!(
                        "`gazette` is {}, but it must be a mapping of settings",
                        describe(other)
                    ),
                ))
            }
        };
        let section_line = self.at("gazette").line.saturating_sub(1);
        let mut sources = Sources::default();
        sources.note(&ours, "", self.path, self.text, section_line);
        let own_path = site.join("gazette.yml");
        let mut own_text = String::new();
        if let Some((own, read, _)) = read_mapping(&own_path, false)? {
            sources.note(&own, "", &own_path, &read, 0);
            own_text = read;
            for (k, v) in own {
                match (ours.get_mut(&k), v) {
                    (Some(Value::Mapping(base)), Value::Mapping(over))
                        if k.as_str() == Some(DEEP_MERGED) =>
                    {
                        merge_deep(base, over)
                    }
                    (_, v) => {
                        ours.insert(k, v);
                    }
                }
            }
        }
        let places = Places {
            sources,
            config_path: self.path.to_path_buf(),
            config_text: self.text.to_string(),
            own_text,
            section: self.at("gazette"),
        };
        Ok((ours, places))
    }
}

/// Where each of gazette's settings was written, to point problems at them.
#[derive(Debug, Clone, Default)]
struct Places {
    sources: Sources,
    config_path: PathBuf,
    config_text: String,
    own_text: String,
    /// Where the `gazette:` section starts in the config file.
    section: Position,
}

impl Places {
    /// The file and place of a setting, by its path (`digest.smtp.port`,
    /// `category_order[2]`): its own key's when known, else its closest parent's (and then the
    /// key's first line below that parent, when there is one).
    fn place(&self, key: &str) -> (PathBuf, Position) {
        let segments: Vec<&str> = key
            .split('.')
            .map(|seg| seg.split('[').next().unwrap_or(seg))
            .collect();
        let found = (1..=segments.len()).rev().find_map(|n| {
            self.sources
                .0
                .get(&segments[..n].join("."))
                .map(|(path, position)| (n, path.clone(), *position))
        });
        let Some((n, path, position)) = found else {
            return (self.config_path.clone(), self.section);
        };
        let last = segments.last().copied().unwrap_or_default();
        if n == segments.len() || last.is_empty() {
            return (path, position);
        }
        let file_text = if path == self.config_path {
            &self.config_text
        } else {
            &self.own_text
        };
        let inner = key_position(file_text, last, position.line.saturating_sub(1));
        if inner == Position::START {
            (path, position)
        } else {
            (path, inner)
        }
    }

    /// Reads `value`, the settings below `prefix` (`""` for the whole section, `digest` for
    /// one), into `T`: an error names the file and line of the key that is wrong, and each key
    /// `T` does not know is a warning at its place.
    fn deserialize<T: serde::de::DeserializeOwned>(
        &self,
        value: Value,
        prefix: &str,
    ) -> Result<(T, Vec<Problem>), Problem> {
        let full = |key: &str| match (prefix.is_empty(), key.is_empty()) {
            (true, _) => key.to_string(),
            (false, true) => prefix.to_string(),
            (false, false) => format!("{prefix}.{key}"),
        };
        let mut unknown = Vec::new();
        let mut note_unknown = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
        let ignoring = serde_ignored::Deserializer::new(value, &mut note_unknown);
        let read: T = serde_path_to_error::deserialize(ignoring).map_err(|e| {
            let key = full(&e.path().to_string().replace(".?", "").replace("?.", ""));
            let key = if key == "." { prefix.to_string() } else { key };
            let (path, position) = self.place(&key);
            Problem::error(
                path,
                position,
                format!("gazette setting `{key}`: {}", e.inner()),
            )
        })?;
        let problems = unknown
            .into_iter()
            .map(|key| {
                // serde_ignored writes `?` for the `Some` of an optional section (`smtp.?.x`).
                let key = key
                    .split('.')
                    .filter(|segment| *segment != "?")
                    .collect::<Vec<_>>()
                    .join(".");
                let key = full(&key);
                let (path, position) = self.place(&key);
                Problem::warning(
                    path,
                    position,
                    format!("unknown gazette setting `{key}` is ignored"),
                )
            })
            .collect();
        Ok((read, problems))
    }
}

impl SiteConfig {
    /// Jekyll's destination folder: `destination` in `_config.yml` (relative to the site folder
    /// `site`), else `_site`.
    pub fn destination(&self, site: &Path) -> PathBuf {
        match self
            .raw
            .get("destination")
            .and_then(crate::yaml::scalar_string)
        {
            Some(d) if !d.trim().is_empty() => site.join(d.trim()),
            _ => site.join("_site"),
        }
    }

    /// Reads one section of gazette's settings (`digest`) into the stage's own type, as
    /// mdBook's renderers read their own table: a missing section is `T`'s default; an error
    /// names the file and line of the key that is wrong (in `_config.yml` or `gazette.yml`);
    /// keys `T` does not know are warnings at their place.
    pub fn section<T: serde::de::DeserializeOwned + Default>(
        &self,
        name: &str,
    ) -> Result<(T, Vec<Problem>), Problem> {
        let value = match name {
            "digest" => self.gazette.digest.clone(),
            other => {
                return Err(Problem::error(
                    &self.path,
                    Position::START,
                    format!("gazette has no settings section `{other}`"),
                ))
            }
        };
        if value.is_null() {
            return Ok((T::default(), Vec::new()));
        }
        self.places.deserialize(value, name)
    }

    /// Reads `<site>/_config.yml` and `<site>/gazette.yml` (both optional).
    pub fn load(site: &Path) -> Result<Loaded, Problem> {
        let config_path = config_file(site);
        let (map, text, repeated) = read_mapping(&config_path, true)?.unwrap_or_default();
        let file = File {
            path: &config_path,
            map: &map,
            text: &text,
        };
        let mut problems = repeated_keys(&config_path, &text, &repeated);
        let mut config = SiteConfig::default();
        file.read_jekyll_keys(&mut config)?;
        config.timezone = file.timezone(&mut problems)?;
        config.permalink = file.permalink()?.unwrap_or(config.permalink);
        let (section, places) = file.gazette_section(site)?;
        let (gazette, mut unknown) = places.deserialize(Value::Mapping(section), "")?;
        config.gazette = gazette;
        problems.append(&mut unknown);
        config.places = places;
        config.path = config_path;
        config.raw = map;
        Ok(Loaded { config, problems })
    }

    /// The site's public root (`url` + `baseurl`), ending in `/`, when `url` is set.
    pub(crate) fn site_root(&self) -> Option<Url> {
        let url = self.url.as_ref()?;
        // `url` may have a path of its own (`https://example.org/sub`): keep it.
        let root = format!("{}{}/", url.as_str().trim_end_matches('/'), self.baseurl);
        Url::parse(&root).ok()
    }

    /// The absolute URL of a site path such as `/news/2022/01/12/x.html` (`url` + `baseurl` +
    /// path, normalised like Jekyll's `absolute_url`: host lower-cased, default port dropped,
    /// spaces and non-ASCII percent-encoded), or the path under `baseurl` when there is no `url`.
    pub fn absolute(&self, path: &str) -> String {
        let joined = format!("{}{}", self.baseurl, path);
        match &self.url {
            Some(url) => {
                let mut s = url.as_str().trim_end_matches('/').to_string();
                s.push_str(&joined);
                if is_normal_path(&joined) {
                    // Parsing would give back the same text: skip it (it is most of the cost).
                    return s;
                }
                Url::parse(&s).map(String::from).unwrap_or(s)
            }
            None => Url::parse("http://localhost")
                .and_then(|base| base.join(&joined))
                .map(|u| u[url::Position::BeforePath..].to_string())
                .unwrap_or(joined),
        }
    }
}

/// Whether a URL parser would leave `path` (after an already normal scheme and host) as it is:
/// it starts with `/`, holds only characters a path keeps as they are (percent signs only before
/// two upper-case hex digits), and has no `.` or `..` segment to resolve.
fn is_normal_path(path: &str) -> bool {
    let b = path.as_bytes();
    let plain = |c: u8| c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&c);
    let escapes_ok = b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || b.get(i + 1..i + 3).is_some_and(|h| {
                h.iter()
                    .all(|x| x.is_ascii_digit() || (b'A'..=b'F').contains(x))
                    && !h.eq_ignore_ascii_case(b"2E")
            })
    });
    path.starts_with('/')
        && b.iter().all(|&c| plain(c) || c == b'%')
        && escapes_ok
        && !path.split('/').any(|seg| seg == "." || seg == "..")
}

/// Why `url:` cannot be the site's address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum SiteUrlError {
    #[error("is not a URL: {0}")]
    NotAUrl(#[from] url::ParseError),
    #[error("must be an absolute http:// or https:// address")]
    NotHttp,
}

fn parse_site_url(text: &str) -> Result<Url, SiteUrlError> {
    let url = Url::parse(text.trim())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(SiteUrlError::NotHttp);
    }
    Ok(url)
}

fn normalise_baseurl(text: &str) -> String {
    let trimmed = text.trim().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// This machine's zone, as Jekyll (through Ruby) would use it when `timezone` is unset.
fn system_zone() -> (Tz, String) {
    let name = std::env::var("TZ")
        .ok()
        .map(|t| t.trim_start_matches(':').to_string())
        .filter(|t| t.parse::<Tz>().is_ok())
        .or_else(|| iana_time_zone::get_timezone().ok())
        .unwrap_or_else(|| "UTC".to_string());
    match name.parse::<Tz>() {
        Ok(zone) => (zone, name),
        Err(_) => (chrono_tz::UTC, "UTC".to_string()),
    }
}

/// `digest.serve_url` checked: an `http://` or `https://` URL with a host, no user name,
/// password, query or fragment; given back without a trailing `/`. The error says what is wrong,
/// in words. The digest's links and the build's sign-up form both read it through here.
pub fn plain_service_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text.trim())
        .map_err(|e| format!("digest.serve_url `{text}` is not a URL: {e}"))?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if !plain {
        return Err(format!(
            "digest.serve_url `{text}` must be a plain http:// or https:// address (no user, query or fragment)"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(config: &str) -> Result<Loaded, Problem> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("_config.yml"), config).unwrap();
        SiteConfig::load(dir.path())
    }

    /// Jekyll 4.3 keeps the last value of a key `_config.yml` repeats; gazette does too, and says
    /// so. gazette's own `gazette.yml` stays strict.
    #[test]
    fn a_key_config_repeats_keeps_its_last_value_with_a_warning() {
        let loaded =
            load("title: First\nurl: https://a.example\ntitle: Second\ntimezone: UTC\n").unwrap();
        assert_eq!(loaded.config.title, "Second");
        let warning = loaded
            .problems
            .iter()
            .find(|p| p.message.contains("`title`"))
            .expect("a warning");
        assert!(!warning.is_error());
        assert_eq!(warning.position, Position::new(3, 1));
        assert!(
            warning.message.contains("lines 1 and 3"),
            "{}",
            warning.message
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("_config.yml"), "url: https://a.example\n").unwrap();
        std::fs::write(dir.path().join("gazette.yml"), "items: 3\nitems: 4\n").unwrap();
        assert!(SiteConfig::load(dir.path()).is_err());
    }

    #[test]
    fn authors_written_as_email_headers_give_name_and_email() {
        let author = |yaml: &str| Author::from_yaml(&serde_yaml::from_str(yaml).unwrap());
        let both = |name: &str, email: &str| Author {
            name: Some(name.into()),
            email: Some(email.into()),
            uri: None,
        };
        assert_eq!(
            author(r#""O'Brien <ob@example.com>""#),
            Some(both("O'Brien", "ob@example.com"))
        );
        assert_eq!(
            author(r#"'"Jane Doe" <jane@example.com>'"#),
            Some(both("Jane Doe", "jane@example.com"))
        );
        assert_eq!(
            author("<ob@example.com>").unwrap().email.as_deref(),
            Some("ob@example.com")
        );
        assert_eq!(author("<ob@example.com>").unwrap().name, None);
        assert_eq!(
            author("{name: \"O'Brien <ob@example.com>\", uri: https://example.com/ob}"),
            Some(Author {
                uri: Some("https://example.com/ob".into()),
                ..both("O'Brien", "ob@example.com")
            })
        );
        // An `email` key wins over the address in the name.
        assert_eq!(
            author("{name: \"Ed <old@example.com>\", email: ed@example.com}"),
            Some(both("Ed", "ed@example.com"))
        );
        // Not an address: kept as written.
        assert_eq!(
            author("\"a <b> c\"").unwrap().name.as_deref(),
            Some("a <b> c")
        );
        assert_eq!(author("jane@example.com").unwrap().name, None);
        assert_eq!(author("Jane Doe").unwrap().email, None);
        assert_eq!(author("\"  \""), None);
    }

    #[test]
    fn reads_jekyll_settings() {
        let l = load(
            "title: 财经\nurl: https://finews.example.com/\nbaseurl: /blog/\ntimezone: Asia/Shanghai\npermalink: pretty\nauthor:\n  name: Ed\n  email: ed@example.com\n",
        )
        .unwrap();
        let c = l.config;
        assert_eq!(c.title, "财经");
        assert_eq!(c.baseurl, "/blog");
        assert_eq!(c.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(c.permalink, "/:categories/:year/:month/:day/:title/");
        assert_eq!(
            c.author.as_ref().unwrap().email.as_deref(),
            Some("ed@example.com")
        );
        assert_eq!(
            c.absolute("/a/b.html"),
            "https://finews.example.com/blog/a/b.html"
        );
        assert!(l.problems.is_empty());
    }

    #[test]
    fn paths_taken_as_they_are_are_what_the_url_parser_gives() {
        let base = "https://finews.example.com";
        for path in [
            "/a/b.html",
            "/news/2022/01/12/%E4%B8%AD-x.html",
            "/a/b/",
            "/a/b(1)!$&'*+,;=:@~_.html",
            "/a/%2e%2E/b",
            "/a/%e4/b",
            "/a/%zz",
            "/a/%4",
            "/a/./b",
            "/a/../b",
            "/a/.",
            "/a b",
            "/a?b#c",
            "/a\\b",
            "/中",
            "/a|b^`{}",
            "a/b",
            "//x/y",
        ] {
            let parsed = Url::parse(&format!("{base}{path}")).map(String::from).ok();
            if is_normal_path(path) {
                assert_eq!(parsed, Some(format!("{base}{path}")), "{path}");
            }
        }
        assert!(is_normal_path("/news/2022/01/12/%E4%B8%AD-x.html"));
    }

    #[test]
    fn bad_settings_are_errors_with_places() {
        let e = load("title: x\ntimezone: Mars/Olympus\n").unwrap_err();
        assert_eq!(e.position, Position::new(2, 1));
        assert!(e.message.contains("not an IANA time zone"));
        let e = load("url: /relative\n").unwrap_err();
        assert!(
            e.message.starts_with("`url: /relative` is not a URL"),
            "{}",
            e.message
        );
        let e = load("- a\n- b\n").unwrap_err();
        assert!(e.message.contains("the configuration is a list"));
    }

    #[test]
    fn unknown_gazette_keys_warn_and_gazette_yml_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("_config.yml"),
            "timezone: UTC\ngazette:\n  items: 5\n  tag_feed: true\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("gazette.yml"), "items: 7\n").unwrap();
        let l = SiteConfig::load(dir.path()).unwrap();
        assert_eq!(l.config.gazette.items, 7);
        assert_eq!(l.problems.len(), 1);
        assert_eq!(
            l.problems[0].message,
            "unknown gazette setting `tag_feed` is ignored"
        );
        assert_eq!(l.problems[0].position, Position::new(4, 3));
    }
}

//! Which feeds a site has, which posts each holds, and where each is served: the plan that
//! the feed writers and the digest (which links every group to its category's feed) both read.
//! Feed and digest never import each other; both import this.

pub mod slug;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use url::Url;

use crate::collect::body::plain_text;
use crate::collect::Post;
use crate::config::{Author, SiteConfig};
use crate::escape;
use crate::problem::{Position, Problem};

/// What a feed covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Every post of the site (`feed.*`).
    Site,
    /// One category's posts (`categories/…`).
    Category,
    /// One tag's posts (`tags/…`).
    Tag,
}

/// The formats gazette writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RSS 2.0 (`.rss.xml`).
    Rss,
    /// Atom 1.0 (`.atom.xml`).
    Atom,
    /// JSON Feed 1.1 (`.json`).
    Json,
}

impl Format {
    /// The file name's ending.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss.xml",
            Format::Atom => "atom.xml",
            Format::Json => "json",
        }
    }

    /// The media type, for `<link type>` and `atom:link`.
    pub(crate) fn media_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
        }
    }
}

/// One feed to write: what it covers and its posts, newest first, already limited.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    /// Whether it is the site's feed, a category's or a tag's.
    pub scope: Scope,
    /// The category or tag as written in posts (`None` for the site feed).
    pub name: Option<String>,
    /// The feed's title ("Site — Category").
    pub title: String,
    /// The path of the feed's files without the format's ending, relative to the output folder
    /// (`feed`, `categories/xinhuashe`, `tags/zhong-guo`).
    pub stem: String,
    /// The posts it holds, newest first, at most the `items` setting.
    pub posts: Vec<&'a Post>,
}

impl Plan<'_> {
    /// The file's path relative to the output folder.
    pub fn file(&self, format: Format) -> String {
        format!("{}.{}", self.stem, format.extension())
    }

    /// When the feed last changed: its newest post's date or `last_modified_at`.
    pub fn updated(&self) -> Option<DateTime<FixedOffset>> {
        self.posts.iter().map(|p| updated(p)).max()
    }
}

/// A post's Atom `updated`: `last_modified_at` when set, else its date.
pub fn updated(post: &Post) -> DateTime<FixedOffset> {
    post.last_modified.unwrap_or(post.date)
}

/// What every format needs to know about the site.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The site's configuration.
    pub config: &'a SiteConfig,
    /// The site's public root (`url` + `baseurl` + `/`).
    pub root: Url,
    /// The public URL of the output folder, ending in `/`.
    pub base: Url,
}

impl<'a> Context<'a> {
    /// Checks that the site can have feeds (it needs an absolute `url`).
    pub fn new(config: &'a SiteConfig) -> Result<Self, Problem> {
        let config_path = &config.path;
        let root = config.site_root().ok_or_else(|| {
            Problem::error(
                config_path,
                Position::START,
                "feeds need the site's address: set `url` (e.g. `url: https://example.com`) in _config.yml",
            )
        })?;
        let path = config.gazette.path.trim_matches('/');
        let base = if path.is_empty() {
            root.clone()
        } else {
            root.join(&format!("{path}/")).map_err(|e| {
                Problem::error(
                    config_path,
                    Position::START,
                    format!("gazette `path: {path}` is not a URL path: {e}"),
                )
            })?
        };
        Ok(Context { config, root, base })
    }

    /// A feed file's public URL.
    pub(crate) fn url_of(&self, file: &str) -> String {
        self.base
            .join(file)
            .map(String::from)
            .unwrap_or_else(|_| format!("{}{file}", self.base))
    }

    /// The site's title, or its host when it has none.
    pub fn site_title(&self) -> String {
        site_title(self.config)
    }

    /// The feed-level author: the site's, else the site's title as a name (Atom needs one).
    pub(crate) fn site_author(&self) -> Author {
        self.config.author.clone().unwrap_or_else(|| Author {
            name: Some(self.site_title()),
            ..Author::default()
        })
    }

    /// The site's `lang` as feeds write it ([`language_tag`]); `None` when unset or unusable.
    pub(crate) fn language(&self) -> Option<String> {
        self.config.lang.as_deref().and_then(language_tag)
    }
}

/// A `lang` setting as a language tag for RSS `<language>`, Atom `xml:lang` and JSON Feed:
/// white space trimmed and `_` written `-` (`zh_CN` → `zh-CN`). `None` when the primary subtag
/// is not two or three ASCII letters or another subtag is not one to eight letters and digits
/// (validators refuse those, and readers ignore them).
pub fn language_tag(lang: &str) -> Option<String> {
    let tag = lang.trim().replace('_', "-");
    let mut subtags = tag.split('-');
    let primary = subtags.next()?;
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok =
        subtags.all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()));
    (primary_ok && rest_ok).then_some(tag)
}

/// The site's title as text, or its host when it has none: the name of the site-wide feed and
/// the start of every other feed's title.
pub fn site_title(config: &SiteConfig) -> String {
    let title = escape::xml_safe(&plain_text(&config.title));
    if !title.trim().is_empty() {
        return title;
    }
    config
        .url
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("feed")
        .to_string()
}

/// Decides which feeds to write and which posts each holds.
pub fn plan<'a>(posts: &'a [Post], config: &SiteConfig) -> Vec<Plan<'a>> {
    plan_keeping(posts, config, &slug::Published::default())
}

/// [`plan`], giving every category and tag that was published before the file it had
/// (`published`, read from the output folder by [`slug::Published::read`]), so that a feed's URL
/// never moves because another name appeared.
pub fn plan_keeping<'a>(
    posts: &'a [Post],
    config: &SiteConfig,
    published: &slug::Published,
) -> Vec<Plan<'a>> {
    let settings = &config.gazette;
    let limit = settings.items.max(1);
    let eligible: Vec<&Post> = posts.iter().filter(|p| p.in_feeds && !p.draft).collect();
    let site_title = site_title(config);
    let mut plans = Vec::new();
    if settings.site_feed && !eligible.is_empty() {
        plans.push(Plan {
            scope: Scope::Site,
            name: None,
            title: site_title.clone(),
            stem: "feed".into(),
            posts: eligible.iter().take(limit).copied().collect(),
        });
    }
    let mut groups = |scope: Scope,
                      folder: &str,
                      names_of: fn(&Post) -> &[String],
                      display: &BTreeMap<String, String>| {
        // Hashed while every post is visited (a tree of names costs a string comparison per
        // level for each of them), ordered by name afterwards.
        let mut hashed: rustc_hash::FxHashMap<&str, Vec<&Post>> = Default::default();
        for post in &eligible {
            for name in names_of(post) {
                match hashed.get_mut(name.as_str()) {
                    Some(list) if list.len() >= limit => {}
                    Some(list) => list.push(post),
                    None => {
                        hashed.insert(name.as_str(), vec![post]);
                    }
                }
            }
        }
        let by_name: BTreeMap<&str, Vec<&Post>> = hashed.into_iter().collect();
        let names: BTreeSet<&str> = by_name.keys().copied().collect();
        let fallback = if scope == Scope::Tag {
            "tag"
        } else {
            "category"
        };
        let slugs = slug::assign(&names, &settings.slugs, fallback, published.of(scope));
        for (name, posts) in by_name {
            let shown = display.get(name).map_or(name, String::as_str);
            plans.push(Plan {
                scope,
                name: Some(name.to_string()),
                title: format!("{site_title} — {}", plain_text(shown)),
                stem: format!("{folder}/{}", slugs[name]),
                posts,
            });
        }
    };
    groups(
        Scope::Category,
        "categories",
        |p| &p.categories,
        &settings.category_names,
    );
    if settings.tag_feeds {
        groups(Scope::Tag, "tags", |p| &p.tags, &settings.tag_names);
    }
    plans
}

/// A file to write, relative to the output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Where, relative to the output folder.
    pub path: PathBuf,
    /// The file's whole content.
    pub bytes: Vec<u8>,
}

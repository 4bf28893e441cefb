//! The feed writer: from collected posts, one RSS 2.0 and one Atom 1.0 feed (and optionally a
//! JSON Feed) for the whole site, for every category and, when enabled, for every tag; plus an
//! OPML list of them and an HTML snippet of `<link rel="alternate">` tags.
//!
//! Everything here is pure: [`render`] returns the files' paths and bytes, and only
//! [`write::write_all`] (called by the `build` command) touches the disk. Feed-level times are the
//! newest post's, never the build's, so the same posts give the same bytes.

pub mod atom;
pub mod html;
pub mod json;
pub mod opml;
pub mod rss;
pub mod slug;
pub mod write;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;
use url::Url;

use crate::collect::body::plain_text;
use crate::collect::Post;
use crate::config::{Author, SiteConfig};
use crate::problem::{Position, Problem};

/// What a feed covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Site,
    Category,
    Tag,
}

/// The formats gazette writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rss,
    Atom,
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
    pub fn media_type(self) -> &'static str {
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
    pub scope: Scope,
    /// The category or tag as written in posts (`None` for the site feed).
    pub name: Option<String>,
    /// The feed's title ("Site — Category").
    pub title: String,
    /// The path of the feed's files without the format's ending, relative to the output folder
    /// (`feed`, `categories/xinhuashe`, `tags/zhong-guo`).
    pub stem: String,
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
    pub config: &'a SiteConfig,
    /// The site's public root (`url` + `baseurl` + `/`).
    pub root: Url,
    /// The public URL of the output folder, ending in `/`.
    pub base: Url,
}

impl<'a> Context<'a> {
    /// Checks that the site can have feeds (it needs an absolute `url`).
    pub fn new(config: &'a SiteConfig, config_path: &Path) -> Result<Self, Problem> {
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
    pub fn url_of(&self, file: &str) -> String {
        self.base
            .join(file)
            .map(String::from)
            .unwrap_or_else(|_| format!("{}{file}", self.base))
    }

    /// The site's title, or its host when it has none.
    pub fn site_title(&self) -> String {
        let title = html::xml_safe(&plain_text(&self.config.title));
        if title.trim().is_empty() {
            self.root.host_str().unwrap_or("feed").to_string()
        } else {
            title
        }
    }

    /// The feed-level author: the site's, else the site's title as a name (Atom needs one).
    pub fn site_author(&self) -> Author {
        self.config.author.clone().unwrap_or_else(|| Author {
            name: Some(self.site_title()),
            ..Author::default()
        })
    }
}

/// A post made ready for feeds: plain-text title, safe HTML with absolute URLs.
#[derive(Debug, Clone)]
pub struct Entry {
    pub title: String,
    pub content_html: String,
    pub summary_html: String,
}

/// Decides which feeds to write and which posts each holds.
pub fn plan<'a>(posts: &'a [Post], config: &SiteConfig) -> Vec<Plan<'a>> {
    let settings = &config.gazette;
    let limit = settings.items.max(1);
    let eligible: Vec<&Post> = posts.iter().filter(|p| p.in_feeds && !p.draft).collect();
    let site_title = if config.title.trim().is_empty() {
        config
            .url
            .as_ref()
            .and_then(|u| u.host_str())
            .unwrap_or("feed")
            .to_string()
    } else {
        plain_text(&config.title)
    };
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
        let mut by_name: BTreeMap<&str, Vec<&Post>> = BTreeMap::new();
        for post in &eligible {
            for name in names_of(post) {
                let list = by_name.entry(name.as_str()).or_default();
                if list.len() < limit {
                    list.push(post);
                }
            }
        }
        let names: BTreeSet<&str> = by_name.keys().copied().collect();
        let fallback = if scope == Scope::Tag {
            "tag"
        } else {
            "category"
        };
        let slugs = slug::assign(&names, &settings.slugs, fallback);
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
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// Renders every planned feed in every enabled format, the OPML lists and the link snippet.
/// Bodies are read and rendered here, once per post, and only for posts some feed includes.
pub fn render(
    site: &Path,
    plans: &[Plan<'_>],
    ctx: &Context<'_>,
) -> Result<(Vec<Output>, Vec<Problem>), Problem> {
    let mut wanted: Vec<&Post> = plans.iter().flat_map(|p| p.posts.iter().copied()).collect();
    wanted.sort_by(|a, b| a.source.cmp(&b.source));
    wanted.dedup_by(|a, b| a.source == b.source);
    let entries: HashMap<&Path, Entry> = wanted
        .par_iter()
        .map(|post| entry(site, post).map(|e| (post.source.as_path(), e)))
        .collect::<Result<_, _>>()?;

    let settings = &ctx.config.gazette;
    let mut formats = vec![Format::Rss, Format::Atom];
    if settings.json_feed {
        formats.push(Format::Json);
    }
    let mut outputs: Vec<Output> = plans
        .par_iter()
        .flat_map_iter(|plan| {
            formats
                .iter()
                .map(|&format| {
                    let bytes = match format {
                        Format::Rss => rss::write(plan, &entries, ctx),
                        Format::Atom => atom::write(plan, &entries, ctx),
                        Format::Json => json::write(plan, &entries, ctx),
                    };
                    Output {
                        path: PathBuf::from(plan.file(format)),
                        bytes,
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mut problems = Vec::new();
    for output in &outputs {
        if output.bytes.len() as u64 > settings.max_feed_bytes {
            problems.push(Problem::warning(
                &output.path,
                Position::START,
                format!(
                    "feed is {} bytes, over {} (some readers refuse large feeds): lower `items`",
                    output.bytes.len(),
                    settings.max_feed_bytes
                ),
            ));
        }
    }
    outputs.push(Output {
        path: "feeds.opml".into(),
        bytes: opml::opml(plans, ctx, Format::Rss),
    });
    outputs.push(Output {
        path: "feeds-atom.opml".into(),
        bytes: opml::opml(plans, ctx, Format::Atom),
    });
    outputs.push(Output {
        path: "feeds.html".into(),
        bytes: opml::link_tags(plans, ctx, &formats),
    });
    Ok((outputs, problems))
}

/// Reads and prepares one post for the feeds.
fn entry(site: &Path, post: &Post) -> Result<Entry, Problem> {
    let content = post.content(site)?;
    let base = Url::parse(&post.url).map_err(|e| {
        Problem::error(
            site.join(&post.source),
            Position::START,
            format!("post URL {} is not absolute: {e}", post.url),
        )
    })?;
    let summary = match &post.description {
        Some(d) => d.clone(),
        None => content.excerpt_html,
    };
    Ok(Entry {
        title: html::xml_safe(&plain_text(&post.title)),
        content_html: html::for_feed(&content.html, &base),
        summary_html: html::for_feed(&summary, &base),
    })
}

/// The terms of a post in feeds: categories with their display names, then tags.
pub fn terms<'p>(
    post: &'p Post,
    config: &'p SiteConfig,
) -> impl Iterator<Item = (&'p str, &'p str)> {
    let g = &config.gazette;
    post.categories
        .iter()
        .map(|c| {
            (
                c.as_str(),
                g.category_names.get(c).map_or(c.as_str(), String::as_str),
            )
        })
        .chain(post.tags.iter().map(|t| {
            (
                t.as_str(),
                g.tag_names.get(t).map_or(t.as_str(), String::as_str),
            )
        }))
}

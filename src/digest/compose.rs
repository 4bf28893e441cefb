//! Choosing a digest's posts and turning them into template data, once per variant.
//!
//! Subscribers differ only in their name, address, unsubscribe link and (maybe) categories. The
//! expensive part, rendering and inlining CSS, is done once per set of categories with markers in
//! place of the personal values, which each message then fills in.

use std::collections::BTreeMap;
use std::path::Path;

use crate::collect::body::{plain_text, truncate_chars};
use crate::collect::Post;
use crate::config::SiteConfig;
use crate::feed::{self, Format};
use crate::problem::Problem;

use super::render::{
    Data, FeedsData, Group, PeriodData, PostData, Rendered, Renderer, SiteData, SubscriberData,
};
use super::subscribers::Subscriber;
use super::week::Period;

const NAME: &str = "\u{E000}gazette:name\u{E001}";
const ADDRESS: &str = "\u{E000}gazette:address\u{E001}";
const UNSUBSCRIBE: &str = "\u{E000}gazette:unsubscribe\u{E001}";

/// The posts of one period, grouped by category in the configured order.
#[derive(Debug, Clone)]
pub struct Digest {
    pub period: Period,
    pub groups: Vec<Group>,
    pub post_count: usize,
    site: SiteData,
    feeds: FeedsData,
}

/// Picks the period's posts (drafts never), groups them and prepares their text.
pub fn select(
    site_dir: &Path,
    posts: &[Post],
    period: &Period,
    config: &SiteConfig,
) -> Result<Digest, Problem> {
    let settings = &config.gazette.digest;
    let root = config.site_root().map(String::from).unwrap_or_default();
    let plans = feed::plan(posts, config);
    let ctx = feed::Context::new(config, &site_dir.join("_config.yml"))?;
    let feed_of = |name: &str, format: Format| {
        plans
            .iter()
            .find(|p| p.scope == feed::Scope::Category && p.name.as_deref() == Some(name))
            .map(|p| ctx.url_of(&p.file(format)))
    };
    let chosen: Vec<&Post> = posts
        .iter()
        .filter(|p| !p.draft && period.contains(&p.date))
        .collect();
    // A post appears once, under the first of its categories in display order.
    let rank = |name: &str| {
        settings
            .category_order
            .iter()
            .position(|c| c == name)
            .unwrap_or(usize::MAX)
    };
    let display = |name: &str| {
        config
            .gazette
            .category_names
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    };
    let mut by_group: BTreeMap<(usize, String, String), Vec<PostData>> = BTreeMap::new();
    // Oldest first inside a group reads like a week's story; posts come newest first.
    for post in chosen.iter().rev() {
        let name = post
            .categories
            .iter()
            .min_by_key(|c| (rank(c), display(c)))
            .cloned()
            .unwrap_or_default();
        let content = post.content(site_dir)?;
        let source = post.description.clone().unwrap_or(content.excerpt_html);
        let data = PostData {
            title: plain_text(&post.title),
            url: post.url.clone(),
            date: post.date.to_rfc3339(),
            excerpt: truncate_chars(&plain_text(&source), settings.excerpt_chars),
            categories: post.categories.clone(),
            tags: post.tags.clone(),
        };
        let shown = if name.is_empty() {
            settings.uncategorized.clone()
        } else {
            display(&name)
        };
        by_group
            .entry((rank(&name), shown, name))
            .or_default()
            .push(data);
    }
    let groups = by_group
        .into_iter()
        .map(|((_, display, name), posts)| Group {
            feed_url: feed_of(&name, Format::Rss),
            atom_url: feed_of(&name, Format::Atom),
            name,
            display,
            posts,
        })
        .collect();
    Ok(Digest {
        period: period.clone(),
        groups,
        post_count: chosen.len(),
        site: SiteData {
            title: plain_text(&config.title),
            url: root,
            description: config.description.clone(),
            lang: config.lang.clone(),
        },
        feeds: FeedsData {
            rss: plans
                .iter()
                .find(|p| p.scope == feed::Scope::Site)
                .map(|p| ctx.url_of(&p.file(Format::Rss))),
            atom: plans
                .iter()
                .find(|p| p.scope == feed::Scope::Site)
                .map(|p| ctx.url_of(&p.file(Format::Atom))),
            opml: ctx.url_of("feeds.opml"),
        },
    })
}

impl Digest {
    /// The groups a subscriber gets: all, or those of their categories.
    pub fn groups_for(&self, subscriber: &Subscriber) -> Vec<Group> {
        if subscriber.categories.is_empty() {
            return self.groups.clone();
        }
        self.groups
            .iter()
            .filter_map(|g| {
                if subscriber.categories.contains(&g.name) {
                    return Some(g.clone());
                }
                // A post filed under another group may also carry one of their categories.
                let posts: Vec<PostData> = g
                    .posts
                    .iter()
                    .filter(|p| {
                        p.categories
                            .iter()
                            .any(|c| subscriber.categories.contains(c))
                    })
                    .cloned()
                    .collect();
                (!posts.is_empty()).then(|| Group { posts, ..g.clone() })
            })
            .collect()
    }

    /// Template data for a set of groups, with markers for the personal values.
    fn data(
        &self,
        groups: Vec<Group>,
        has_name: bool,
        has_url: bool,
        mailto: Option<String>,
    ) -> Data {
        let post_count = groups.iter().map(|g| g.posts.len()).sum();
        let last_day = self.period.end - chrono::Duration::days(1);
        Data {
            site: self.site.clone(),
            period: PeriodData {
                label: self.period.label.clone(),
                start: self.period.start.to_rfc3339(),
                end: self.period.end.to_rfc3339(),
                last_day: last_day.to_rfc3339(),
            },
            groups,
            post_count,
            subscriber: SubscriberData {
                name: has_name.then(|| NAME.to_string()),
                address: ADDRESS.to_string(),
            },
            unsubscribe_url: has_url.then(|| UNSUBSCRIBE.to_string()),
            unsubscribe_mailto: mailto,
            feeds: self.feeds.clone(),
        }
    }
}

/// What makes two subscribers' emails differ beyond their personal values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct VariantKey {
    pub categories: Vec<String>,
    pub has_name: bool,
}

/// One variant's rendering (with markers in place of the personal values), shared.
type Variant = std::sync::Arc<Result<Rendered, String>>;

/// Renders variants on demand and personalises them.
pub struct Composer<'a> {
    digest: &'a Digest,
    renderer: &'a Renderer,
    has_url: bool,
    mailto: Option<String>,
    /// Each variant rendered once; `None` for a set of categories without posts.
    cache: std::sync::Mutex<BTreeMap<VariantKey, Option<Variant>>>,
}

impl<'a> Composer<'a> {
    pub fn new(
        digest: &'a Digest,
        renderer: &'a Renderer,
        has_url: bool,
        mailto: Option<String>,
    ) -> Self {
        Composer {
            digest,
            renderer,
            has_url,
            mailto,
            cache: Default::default(),
        }
    }

    /// The email for one subscriber, or `None` when none of their categories has posts.
    pub fn compose(
        &self,
        subscriber: &Subscriber,
        unsubscribe_url: Option<&str>,
    ) -> Option<Result<Rendered, String>> {
        let mut categories = subscriber.categories.clone();
        categories.sort();
        let key = VariantKey {
            categories,
            has_name: subscriber.name.is_some(),
        };
        let cached = self.cache.lock().expect("cache lock").get(&key).cloned();
        let rendered = match cached {
            Some(variant) => variant?,
            None => {
                let groups = self.digest.groups_for(subscriber);
                // Someone who chose categories gets nothing when none has posts (even in a forced
                // empty digest); someone who chose none gets everything there is.
                let nothing = groups.is_empty()
                    && (!subscriber.categories.is_empty() || !self.digest.groups.is_empty());
                let variant = (!nothing).then(|| {
                    let data =
                        self.digest
                            .data(groups, key.has_name, self.has_url, self.mailto.clone());
                    std::sync::Arc::new(self.renderer.render(&data))
                });
                self.cache
                    .lock()
                    .expect("cache lock")
                    .insert(key, variant.clone());
                variant?
            }
        };
        let rendered = match rendered.as_ref() {
            Ok(r) => r,
            Err(e) => return Some(Err(e.clone())),
        };
        let name = subscriber.name.as_deref().unwrap_or_default();
        let address = subscriber.address.to_string();
        let url = unsubscribe_url.unwrap_or_default();
        let fill = |text: &str, escape: bool| {
            let e = |v: &str| {
                if escape {
                    html_escape(v)
                } else {
                    v.to_string()
                }
            };
            text.replace(NAME, &e(name))
                .replace(ADDRESS, &e(&address))
                .replace(UNSUBSCRIBE, &e(url))
        };
        Some(Ok(Rendered {
            subject: super::render::one_line(&fill(&rendered.subject, false)),
            html: fill(&rendered.html, true),
            text: fill(&rendered.text, false),
        }))
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

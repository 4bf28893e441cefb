//! Choosing a digest's posts and turning them into template data, once per variant.
//!
//! Subscribers differ only in their name, address, unsubscribe and preferences links and (maybe)
//! categories. The expensive part, rendering and inlining CSS, is done once per set of categories
//! with markers in place of the personal values, which each message then fills in. The web
//! archive's page is the "everyone" variant rendered with nobody's values at all
//! ([`Composer::archive_page`]).

use std::collections::BTreeMap;
use std::path::Path;

use super::settings::DigestSettings;
use crate::collect::body::{plain_text, truncate_chars};
use crate::collect::Post;
use crate::config::SiteConfig;
use crate::plan::{self, Format};
use crate::problem::Problem;

use super::render::{
    Data, FeedsData, Group, PeriodData, PostData, RenderError, Rendered, Renderer, SiteData,
    SubscriberData,
};
use super::subscribers::Subscriber;
use super::week::Period;

const NAME: &str = "\u{E000}gazette:name\u{E001}";
const ADDRESS: &str = "\u{E000}gazette:address\u{E001}";
const UNSUBSCRIBE: &str = "\u{E000}gazette:unsubscribe\u{E001}";
const PREFERENCES: &str = "\u{E000}gazette:preferences\u{E001}";

/// The posts of one period, grouped by category in the configured order.
#[derive(Debug, Clone)]
pub struct Digest {
    /// The period the posts come from.
    pub period: Period,
    /// The categories with posts, in the order the email shows them.
    pub groups: Vec<Group>,
    /// How many posts the digest holds (each post counts once, whatever its categories).
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
    settings: &DigestSettings,
) -> Result<Digest, Problem> {
    let chosen: Vec<&Post> = posts
        .iter()
        .filter(|p| !p.draft && period.contains(&p.date))
        .collect();
    // Liquid's warnings are the build's to report: the digest shows the same bodies.
    let (renderer, _) = crate::collect::render::Renderer::new(site_dir, config, posts);
    let order = Order { config, settings };
    let mut by_group: BTreeMap<(usize, String, String), Vec<PostData>> = BTreeMap::new();
    // Oldest first inside a group reads like a week's story; posts come newest first.
    for post in chosen.iter().rev() {
        let name = order.group_of(post);
        let data = post_data(site_dir, post, &renderer, settings.excerpt_chars)?;
        let shown = if name.is_empty() {
            settings.uncategorized.clone()
        } else {
            order.display(&name)
        };
        by_group
            .entry((order.rank(&name), shown, name))
            .or_default()
            .push(data);
    }
    let links = FeedLinks::of(site_dir, posts, config)?;
    let groups = by_group
        .into_iter()
        .map(|((_, display, name), posts)| Group {
            feed_url: links.category(&name, Format::Rss),
            atom_url: links.category(&name, Format::Atom),
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
            url: config.site_root().map(String::from).unwrap_or_default(),
            description: config.description.clone(),
            lang: config.lang.clone(),
        },
        feeds: links.site(),
    })
}

/// The order of the digest's groups: `category_order` first, then by display name; a post
/// appears once, under the first of its categories in that order.
struct Order<'a> {
    config: &'a SiteConfig,
    settings: &'a DigestSettings,
}

impl Order<'_> {
    fn rank(&self, name: &str) -> usize {
        self.settings
            .category_order
            .iter()
            .position(|c| c == name)
            .unwrap_or(usize::MAX)
    }

    fn display(&self, name: &str) -> String {
        self.config
            .gazette
            .category_names
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    /// The category a post is shown under (empty when it has none).
    fn group_of(&self, post: &Post) -> String {
        post.categories
            .iter()
            .min_by_key(|c| (self.rank(c), self.display(c)))
            .cloned()
            .unwrap_or_default()
    }
}

/// What the templates see of one post: its title and URL, and its description or excerpt cut to
/// `excerpt_chars`.
fn post_data(
    site_dir: &Path,
    post: &Post,
    renderer: &crate::collect::render::Renderer,
    excerpt_chars: usize,
) -> Result<PostData, Problem> {
    let (content, _) = post.content(site_dir, renderer)?;
    let source = post.description.clone().unwrap_or(content.excerpt_html);
    Ok(PostData {
        title: plain_text(&post.title),
        url: post.url.clone(),
        date: post.date.to_rfc3339(),
        excerpt: truncate_chars(&plain_text(&source), excerpt_chars),
        categories: post.categories.clone(),
        tags: post.tags.clone(),
    })
}

/// The feeds' URLs, as the build named the files: a name that collided keeps the file it was
/// published under (the output folder remembers), so the digest links where the build wrote.
struct FeedLinks<'a> {
    plans: Vec<plan::Plan<'a>>,
    ctx: plan::Context<'a>,
}

impl<'a> FeedLinks<'a> {
    fn of(site_dir: &Path, posts: &'a [Post], config: &'a SiteConfig) -> Result<Self, Problem> {
        let published = plan::slug::Published::read(&site_dir.join(&config.gazette.out));
        Ok(FeedLinks {
            plans: plan::plan_keeping(posts, config, &published),
            ctx: plan::Context::new(config)?,
        })
    }

    fn of_scope(&self, scope: plan::Scope, name: Option<&str>, format: Format) -> Option<String> {
        self.plans
            .iter()
            .find(|p| p.scope == scope && (name.is_none() || p.name.as_deref() == name))
            .map(|p| self.ctx.url_of(&p.file(format)))
    }

    fn category(&self, name: &str, format: Format) -> Option<String> {
        self.of_scope(plan::Scope::Category, Some(name), format)
    }

    fn site(&self) -> FeedsData {
        FeedsData {
            rss: self.of_scope(plan::Scope::Site, None, Format::Rss),
            atom: self.of_scope(plan::Scope::Site, None, Format::Atom),
            opml: self.ctx.url_of("feeds.opml"),
        }
    }
}

impl Digest {
    /// The site, as the templates see it.
    pub fn site(&self) -> &SiteData {
        &self.site
    }

    /// The groups a subscriber gets: all, or those of their categories.
    pub(crate) fn groups_for(&self, subscriber: &Subscriber) -> Vec<Group> {
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
    fn data(&self, groups: Vec<Group>, has_name: bool, composer: &Composer<'_>) -> Data {
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
            unsubscribe_url: composer.has_url.then(|| UNSUBSCRIBE.to_string()),
            unsubscribe_mailto: composer.mailto.clone(),
            feeds: self.feeds.clone(),
            preferences_url: composer.links.preferences.then(|| PREFERENCES.to_string()),
            view_url: composer.links.view_url.clone(),
            subscribe_url: composer.links.subscribe_url.clone(),
            archive: false,
        }
    }
}

/// What makes two subscribers' emails differ beyond their personal values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct VariantKey {
    pub categories: Vec<String>,
    pub has_name: bool,
}

/// One variant's rendering (with markers in place of the personal values), shared.
type Variant = std::sync::Arc<Result<Filled, RenderError>>;

/// A personal value that a marker stands for.
#[derive(Debug, Clone, Copy)]
enum Marker {
    Name,
    Address,
    Unsubscribe,
    Preferences,
}

/// A rendered text cut at its markers, so that one subscriber's copy is made in one pass.
#[derive(Debug)]
struct Template {
    /// Text, then the marker that follows it (none after the last piece).
    pieces: Vec<(String, Option<Marker>)>,
}

impl Template {
    fn new(text: &str) -> Template {
        let mut pieces = Vec::new();
        let mut rest = text;
        loop {
            let next = [
                (NAME, Marker::Name),
                (ADDRESS, Marker::Address),
                (UNSUBSCRIBE, Marker::Unsubscribe),
                (PREFERENCES, Marker::Preferences),
            ]
            .into_iter()
            .filter_map(|(m, kind)| rest.find(m).map(|at| (at, m.len(), kind)))
            .min_by_key(|&(at, _, _)| at);
            match next {
                Some((at, len, kind)) => {
                    pieces.push((rest[..at].to_string(), Some(kind)));
                    rest = &rest[at + len..];
                }
                None => {
                    pieces.push((rest.to_string(), None));
                    return Template { pieces };
                }
            }
        }
    }

    /// The text with each marker replaced by its value (`name`, `address`, `unsubscribe`,
    /// `preferences`).
    fn fill(&self, values: [&str; 4]) -> String {
        let extra: usize = values.iter().map(|v| v.len()).sum::<usize>() * 4;
        let size: usize = self.pieces.iter().map(|(t, _)| t.len()).sum();
        let mut out = String::with_capacity(size + extra);
        for (text, marker) in &self.pieces {
            out.push_str(text);
            match marker {
                Some(Marker::Name) => out.push_str(values[0]),
                Some(Marker::Address) => out.push_str(values[1]),
                Some(Marker::Unsubscribe) => out.push_str(values[2]),
                Some(Marker::Preferences) => out.push_str(values[3]),
                None => {}
            }
        }
        out
    }
}

/// A variant ready to be filled in. The bodies have CRLF line ends already: the mail library
/// would otherwise insert a CR before every LF, moving the rest of a 400 KB body each time.
#[derive(Debug)]
struct Filled {
    subject: Template,
    html: Template,
    text: Template,
}

impl Filled {
    fn new(rendered: Rendered) -> Filled {
        Filled {
            subject: Template::new(&rendered.subject),
            html: Template::new(&crlf(&rendered.html)),
            text: Template::new(&crlf(&rendered.text)),
        }
    }
}

/// `text` with every line ending in CRLF.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut last = 0;
    for at in memchr::memchr_iter(b'\n', text.as_bytes()) {
        out.push_str(&text[last..at]);
        if !out.ends_with('\r') {
            out.push('\r');
        }
        out.push('\n');
        last = at + 1;
    }
    out.push_str(&text[last..]);
    out
}

/// The links every copy of a digest carries besides the unsubscribe link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// Each subscriber gets their own preferences link (`preferences_url`, filled per message).
    pub preferences: bool,
    /// The digest's page in the web archive (`view_url`), the same for everyone.
    pub view_url: Option<String>,
    /// The service's sign-up form (`subscribe_url`), the same for everyone.
    pub subscribe_url: Option<String>,
}

/// One subscriber's own links, filled into their copy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Personal<'u> {
    /// Their unsubscribe link.
    pub unsubscribe_url: Option<&'u str>,
    /// Their preferences link (used only when the composer's [`Links::preferences`] is set).
    pub preferences_url: Option<&'u str>,
}

/// Renders variants on demand and personalises them.
pub struct Composer<'a> {
    digest: &'a Digest,
    renderer: &'a Renderer,
    has_url: bool,
    mailto: Option<String>,
    links: Links,
    /// Each variant rendered once; `None` for a set of categories without posts.
    cache: std::sync::Mutex<BTreeMap<VariantKey, Option<Variant>>>,
}

impl<'a> Composer<'a> {
    /// A composer for `digest` and `renderer`. `has_url` says whether subscribers get an
    /// unsubscribe URL; `mailto` is the unsubscribe address, if any.
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
            links: Links::default(),
            cache: Default::default(),
        }
    }

    /// The same composer, with `links` in every copy (no preferences link and no archive link
    /// without this).
    pub fn with_links(mut self, links: Links) -> Self {
        self.links = links;
        self
    }

    /// The email for one subscriber, or `None` when none of their categories has posts.
    pub fn compose(
        &self,
        subscriber: &Subscriber,
        unsubscribe_url: Option<&str>,
    ) -> Result<Option<Rendered>, RenderError> {
        self.compose_with(
            subscriber,
            Personal {
                unsubscribe_url,
                preferences_url: None,
            },
        )
    }

    /// The web archive's page: every group, as the "everyone" variant, with nobody's name,
    /// address, unsubscribe or preferences link (`archive` is true for the templates, and
    /// `subscribe_url` is there when the service is set up); `None` when the digest has no
    /// posts. Rendered afresh (never from a cached variant, whose markers it must not hold).
    pub fn archive_page(&self) -> Result<Option<Rendered>, RenderError> {
        if self.digest.groups.is_empty() {
            return Ok(None);
        }
        let mut data = self.digest.data(self.digest.groups.clone(), false, self);
        data.subscriber = SubscriberData {
            name: None,
            address: String::new(),
        };
        data.unsubscribe_url = None;
        data.unsubscribe_mailto = None;
        data.preferences_url = None;
        data.view_url = None;
        data.archive = true;
        self.renderer.render(&data).map(Some)
    }

    /// The email for one subscriber with their own links, or `None` when none of their
    /// categories has posts.
    pub fn compose_with(
        &self,
        subscriber: &Subscriber,
        personal: Personal<'_>,
    ) -> Result<Option<Rendered>, RenderError> {
        let mut categories = subscriber.categories.clone();
        categories.sort();
        let key = VariantKey {
            categories,
            has_name: subscriber.name.is_some(),
        };
        let cached = self.cache.lock().expect("cache lock").get(&key).cloned();
        let rendered = match cached {
            Some(None) => return Ok(None),
            Some(Some(variant)) => variant,
            None => {
                let groups = self.digest.groups_for(subscriber);
                // Someone who chose categories gets nothing when none has posts; someone who
                // chose none gets everything there is. Nobody gets an empty digest.
                let nothing = groups.is_empty();
                let variant = (!nothing).then(|| {
                    let data = self.digest.data(groups, key.has_name, self);
                    std::sync::Arc::new(self.renderer.render(&data).map(Filled::new))
                });
                self.cache
                    .lock()
                    .expect("cache lock")
                    .insert(key, variant.clone());
                match variant {
                    None => return Ok(None),
                    Some(variant) => variant,
                }
            }
        };
        let rendered = match rendered.as_ref() {
            Ok(r) => r,
            Err(e) => return Err(e.clone()),
        };
        let name = subscriber.name.as_deref().unwrap_or_default();
        let address = subscriber.address.to_string();
        let url = personal.unsubscribe_url.unwrap_or_default();
        let preferences = personal.preferences_url.unwrap_or_default();
        let plain = [name, address.as_str(), url, preferences];
        let escaped = plain.map(html_escape);
        let escaped = [
            escaped[0].as_str(),
            escaped[1].as_str(),
            escaped[2].as_str(),
            escaped[3].as_str(),
        ];
        Ok(Some(Rendered {
            subject: super::render::one_line(&rendered.subject.fill(plain)),
            html: rendered.html.fill(escaped),
            text: rendered.text.fill(plain),
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

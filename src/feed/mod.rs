//! The feed writer: from collected posts, one RSS 2.0 and one Atom 1.0 feed (and optionally a
//! JSON Feed) for the whole site, for every category and, when enabled, for every tag; plus an
//! OPML list of them and an HTML snippet of `<link rel="alternate">` tags; with `digest:
//! serve_url` set, [`build::build`] adds the service's sign-up form as a snippet
//! ([`subscribe`]).
//!
//! [`render`] writes nothing: it returns the files' paths and bytes. [`build::build`] is what
//! touches the disk: it writes them with [`write::write_all`], keeps the entry cache when one is
//! asked for, and puts jekyll-feed's files in place (`jekyll_feed: true`). Feed-level times are
//! the newest post's, never the build's, so the same posts give the same bytes.

pub mod atom;
pub mod build;
pub mod entry_cache;
pub mod html;
/// jekyll-feed's feeds, at its paths, in its place (`jekyll_feed: true`).
pub mod jekyll_feed;
pub mod json;
pub mod opml;
pub(crate) mod reuse;
pub(crate) mod rss2;
pub mod state;
/// `subscribe.html`, the sign-up form of `gazette serve` for a site's layout.
pub mod subscribe;
pub mod write;
mod xml;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use rayon::prelude::*;
use regex::Regex;
use url::Url;

use crate::collect::body::plain_text;
use crate::collect::render::Renderer;
use crate::collect::Post;
use crate::config::SiteConfig;
use crate::escape;
use crate::problem::{Position, Problem};

// Which feeds exist and where they are served: the plan, which the digest reads too.
pub use crate::plan::{
    language_tag, plan, plan_keeping, site_title, slug, updated, Context, Format, Output, Plan,
    Scope,
};

/// A date as RSS 2.0 and OPML write it (RFC 822, as RFC 2822 spells it). An offset that is not
/// a whole or half hour (`+0545`, `+0845`) is valid RFC 822 but outside the pattern validators
/// check and some readers parse: such dates are written in GMT (`+0000`), the same instant.
pub fn rfc822(date: &DateTime<FixedOffset>) -> String {
    if date.offset().local_minus_utc() % 1800 == 0 {
        date.to_rfc2822()
    } else {
        date.with_timezone(&Utc).to_rfc2822()
    }
}

/// URI schemes taken as they are in a front-matter `id`: those an entry id is written with.
/// An id with another scheme, or none (`NW202202010001`), becomes a tag URI.
const ID_SCHEMES: &[&str] = &["tag", "urn", "http", "https", "info", "ftp", "mailto"];

static SCHEME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z][A-Za-z0-9+.-]*):").expect("a valid pattern"));
static TAG_URI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^tag:([a-z0-9._-]+@)?[a-z0-9.-]+,\d{4}(-\d{2}(-\d{2})?)?:[0-9A-Za-z;/?:@&=+$.\-_!~*'()%,]*(#[0-9A-Za-z;/?:@&=+$.\-_!~*'()%,]*)?$")
        .expect("a valid pattern")
});
static URN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[Uu][Rr][Nn]:[A-Za-z0-9][A-Za-z0-9-]{1,31}:([A-Za-z0-9()+,.:=@;$_!*'-]|%[0-9A-Fa-f]{2})+$")
        .expect("a valid pattern")
});
static URI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z][A-Za-z0-9+.-]*:[0-9A-Za-z;/?:@&=+$.\-_!~*'()%,#]+$")
        .expect("a valid pattern")
});

/// Whether what follows a URL's scheme starts with a host (`//host…`).
fn has_authority(rest: &str) -> bool {
    rest.strip_prefix("//")
        .is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}

/// A front-matter id that can be an entry's id as it is: an absolute URI with one of
/// [`ID_SCHEMES`], in the syntax its scheme requires; returned in canonical spelling (scheme
/// and host in lower case, no default port), as validators want ids.
fn as_uri(id: &str) -> Option<String> {
    let scheme = SCHEME.captures(id)?[1].to_ascii_lowercase();
    if !ID_SCHEMES.contains(&scheme.as_str()) || !URI.is_match(id) {
        return None;
    }
    let canonical = format!("{scheme}{}", &id[scheme.len()..]);
    match scheme.as_str() {
        "tag" => TAG_URI.is_match(&canonical).then_some(canonical),
        "urn" => URN.is_match(&canonical).then_some(canonical),
        "http" | "https" | "ftp" if has_authority(&id[scheme.len() + 1..]) => {
            Url::parse(&canonical)
                .ok()
                .filter(|u| u.host_str().is_some_and(|h| !h.is_empty()))
                .map(String::from)
        }
        "http" | "https" | "ftp" => None,
        _ => Some(canonical),
    }
}

/// A post's id in Atom and JSON Feed, which must be an absolute URI: [`id_uri`] of its
/// front-matter `id`, or its URL when it has none. (RSS keeps the front-matter id as it is, in
/// `<guid isPermaLink="false">`.)
pub(crate) fn entry_id(post: &Post, root: &Url) -> String {
    match post.id.as_deref() {
        Some(id) => id_uri(id, &post.date, root),
        None => post.url.clone(),
    }
}

/// A front-matter id as an absolute URI: itself when it is one ([`as_uri`]); else the tag
/// URI (RFC 4151) `tag:<site host>,<year of the post's date>:<id>`, percent-encoding what a tag
/// URI cannot hold.
pub(crate) fn id_uri(id: &str, date: &DateTime<FixedOffset>, root: &Url) -> String {
    let id = escape::xml_safe(id.trim());
    if let Some(uri) = as_uri(&id) {
        return uri;
    }
    let host: String = root
        .host_str()
        .unwrap_or("localhost")
        .chars()
        .filter(|&c| c != '[' && c != ']')
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut out = format!("tag:{host},{:04}:", date.year());
    for byte in id.bytes() {
        let c = byte as char;
        if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?".contains(c) {
            out.push(c);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A post made ready for feeds: plain-text title, safe HTML with absolute URLs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The post's title as plain text.
    pub title: String,
    /// The body; empty when the post has none (feeds then leave their content element out).
    pub content_html: String,
    /// The front-matter `description` (plain text, escaped), else the excerpt, else the title
    /// (escaped): never empty, so that every entry has some text.
    pub summary_html: String,
}

/// Renders every planned feed in every enabled format, the OPML lists and the link snippet.
/// Bodies are read and rendered here, once per post, and only for posts some feed includes.
pub fn render(
    site: &Path,
    plans: &[Plan<'_>],
    ctx: &Context<'_>,
    renderer: &Renderer,
) -> Result<(Vec<Output>, Vec<Problem>), Problem> {
    render_cached(site, plans, ctx, renderer, None)
}

/// [`render`], reusing the entries kept in the file `entry_cache` (with the settings key the
/// posts were read with, `Collection::settings_key`) for posts that did not change, and keeping
/// this build's entries there for the next one.
///
/// Without the build state's keys (see [`reuse`]), an entry whose body runs Liquid is never
/// kept: what it shows depends on files the post's stamp does not cover (includes, `_data/`,
/// other posts' URLs), so it is rendered every time.
pub(crate) fn render_cached(
    site: &Path,
    plans: &[Plan<'_>],
    ctx: &Context<'_>,
    renderer: &Renderer,
    entry_cache: Option<(&Path, u64)>,
) -> Result<(Vec<Output>, Vec<Problem>), Problem> {
    // Given every post (`liquid_ok`), rendering never stops for want of them.
    match render_keeping_entries(site, plans, (0, true), ctx, renderer, entry_cache, None)? {
        Some(files) => Ok((files.outputs, files.problems)),
        None => Err(Problem::error(
            site,
            Position::START,
            "a post's Liquid could not be rendered",
        )),
    }
}

/// The entries of a build, by post file.
pub(crate) type Entries<'a> = HashMap<&'a Path, Entry>;

/// What [`render_keeping_entries`] made.
pub(crate) struct FeedFiles<'a> {
    /// The files to write.
    pub outputs: Vec<Output>,
    /// The feed files left as the last build wrote them (relative to the output folder).
    pub kept: Vec<PathBuf>,
    /// Each feed file with a key (see [`reuse`]): its path, key, and the warnings its entries
    /// gave, for the build state.
    pub made: Vec<(PathBuf, u64, Vec<Problem>)>,
    /// Warnings.
    pub problems: Vec<Problem>,
    /// The entries rendered or reused, by post file.
    pub entries: Entries<'a>,
    /// Whether some entry's Liquid read what no key covers (the clock, a post's file, a hidden
    /// file): the next build must not replay this one.
    pub volatile: bool,
}

/// [`render_cached`], also giving the entries it rendered or reused, so that jekyll-feed's feeds
/// are written from them rather than rendered again; with `reuse`, feed files that are as the
/// last build left them are neither rendered nor written (see [`reuse`]). `listing`: the key of
/// every post collected as Liquid's `site.posts` lists them; `None` when `renderer` was not
/// given them (a collection of only the posts feeds show), and then `Ok(None)` when a body
/// with Liquid must be rendered.
pub(crate) fn render_keeping_entries<'a>(
    site: &Path,
    plans: &[Plan<'a>],
    listing: (u64, bool),
    ctx: &Context<'_>,
    renderer: &Renderer,
    entry_cache: Option<(&Path, u64)>,
    reuse: Option<&reuse::Reuse<'_>>,
) -> Result<Option<FeedFiles<'a>>, Problem> {
    let (listing, liquid_ok) = listing;
    let cache = entry_cache.map(|(path, key)| entry_cache::EntryCache::load(path, key));
    crate::timing::mark("entry cache load");
    let all_wanted = posts_of(plans);
    // Liquid entries are kept only under a key of what Liquid reads, which needs the build
    // state's key of the site's other files.
    let liquid = match (reuse, entry_cache) {
        (Some(r), Some((_, settings))) if all_wanted.iter().any(|p| p.has_liquid) => {
            Some(reuse::liquid_key(settings, r.inputs.others, listing))
        }
        _ => None,
    };
    let settings = &ctx.config.gazette;
    let mut formats = vec![Format::Rss, Format::Atom];
    if settings.json_feed {
        formats.push(Format::Json);
    }
    crate::timing::mark("liquid key");
    let mut kept = Vec::new();
    let mut made = Vec::new();
    let mut kept_problems = Vec::new();
    let mut kept_sizes = Vec::new();
    let mut rendering: Vec<(Plan<'a>, Vec<Option<u64>>)> = Vec::new();
    for plan in plans {
        let keys: Vec<Option<u64>> = formats
            .iter()
            .map(|&f| {
                let r = reuse?;
                reuse::file_key(r.inputs.feeds, liquid, plan, f, cache.as_ref())
            })
            .collect();
        let files: Vec<PathBuf> = formats
            .iter()
            .map(|&f| PathBuf::from(plan.file(f)))
            .collect();
        let all_kept: Option<Vec<&state::Written>> = reuse.and_then(|r| {
            files
                .iter()
                .zip(&keys)
                .map(|(file, key)| r.keeps(file, *key))
                .collect()
        });
        match all_kept {
            Some(written) => {
                for ((file, key), w) in files.into_iter().zip(keys).zip(written) {
                    kept_problems.extend(w.problems.iter().cloned());
                    kept_sizes.push((file.clone(), w.stamp.size));
                    made.push((file.clone(), key.unwrap_or_default(), w.problems.clone()));
                    kept.push(file);
                }
            }
            None => rendering.push((plan.clone(), keys)),
        }
    }
    crate::timing::mark("feed keys");
    let to_render: Vec<Plan<'a>> = rendering.iter().map(|(p, _)| p.clone()).collect();
    let wanted = posts_of(&to_render);
    // A body with Liquid that must be rendered needs every post: said before rendering anything
    // (the renderer is then made again with them, and everything is rendered once).
    let kept_liquid = |p: &Post| {
        let key = liquid.filter(|_| p.has_liquid);
        key.is_some()
            && cache
                .as_ref()
                .is_some_and(|c| c.has(&p.source, p.stamp, key))
    };
    if !liquid_ok && wanted.iter().any(|p| p.has_liquid && !kept_liquid(p)) {
        return Ok(None);
    }
    let Some(Rendering {
        entries,
        problems: entry_problems,
        unkeyed,
        rendered,
    }) = render_entries(site, &wanted, cache.as_ref(), renderer, liquid, liquid_ok)?
    else {
        return Ok(None);
    };
    crate::timing::mark("entries");
    let mut problems = Vec::new();
    if let (Some(cache), Some((path, _))) = (&cache, entry_cache) {
        let stored = cache.store(
            path,
            &all_wanted,
            &entries,
            &entry_problems,
            (&unkeyed, &rendered),
            liquid,
        );
        if let Err(e) = stored {
            problems.push(Problem::warning(
                path,
                Position::START,
                format!(
                    "cannot write the entry cache (the next build renders every entry again): {e}"
                ),
            ));
        }
    }
    crate::timing::mark("entry cache save");

    // The warnings of every feed's entries, once each, in file order.
    let of_plan = |plan: &Plan<'_>| -> Vec<Problem> {
        plan.posts
            .iter()
            .flat_map(|p| entry_problems.get(p.source.as_path()).into_iter().flatten())
            .cloned()
            .collect()
    };
    for (plan, keys) in &rendering {
        for (&format, key) in formats.iter().zip(keys) {
            if let Some(key) = key {
                made.push((PathBuf::from(plan.file(format)), *key, of_plan(plan)));
            }
        }
    }
    let mut warnings: Vec<Problem> = kept_problems;
    warnings.extend(wanted.iter().flat_map(|p| {
        entry_problems
            .get(p.source.as_path())
            .into_iter()
            .flatten()
            .cloned()
    }));
    warnings.sort_by(|a, b| a.path.cmp(&b.path).then(a.position.cmp(&b.position)));
    warnings.dedup();
    problems.splice(0..0, warnings);

    let mut outputs = write_feeds(&to_render, &entries, ctx, &formats);
    problems.extend(language_warning(ctx));
    let sizes = outputs
        .iter()
        .map(|o| (o.path.clone(), o.bytes.len() as u64))
        .chain(kept_sizes);
    problems.extend(size_warnings(sizes, settings.max_feed_bytes));
    outputs.extend(lists(plans, ctx, &formats));
    problems.extend(slug::warnings(site, plans, &settings.slugs));
    Ok(Some(FeedFiles {
        outputs,
        kept,
        made,
        problems,
        entries,
        volatile: !unkeyed.is_empty(),
    }))
}

/// Every post some feed includes, once each, in path order.
fn posts_of<'a>(plans: &[Plan<'a>]) -> Vec<&'a Post> {
    let mut wanted: Vec<&Post> = plans.iter().flat_map(|p| p.posts.iter().copied()).collect();
    wanted.sort_by(|a, b| a.source.as_os_str().cmp(b.source.as_os_str()));
    wanted.dedup_by(|a, b| a.source.as_os_str() == b.source.as_os_str());
    wanted
}

/// The entries of a build, by post file.
struct Rendering<'a> {
    entries: HashMap<&'a Path, Entry>,
    /// The warnings each entry's rendering gave (Liquid's, nesting), by post file.
    problems: HashMap<&'a Path, Vec<Problem>>,
    /// The posts whose Liquid read a file no key covers: their entries are not kept.
    unkeyed: HashSet<&'a Path>,
    /// The posts rendered in this build (the others' entries came from the cache).
    rendered: HashSet<&'a Path>,
}

/// The entry of every post, from `cache` when its file did not change (and, for a body with
/// Liquid, when it was kept under the Liquid key `liquid`), else rendered (in parallel);
/// `Ok(None)` when a body with Liquid must be rendered and `liquid_ok` is false (the renderer
/// was not given every post).
fn render_entries<'a>(
    site: &Path,
    posts: &[&'a Post],
    cache: Option<&entry_cache::EntryCache>,
    renderer: &Renderer,
    liquid: Option<u64>,
    liquid_ok: bool,
) -> Result<Option<Rendering<'a>>, Problem> {
    let rendered: Option<Vec<(&Path, Entry, Rendered)>> = posts
        .par_iter()
        .map(|post| {
            let key = if post.has_liquid { liquid } else { None };
            let kept = cache
                .filter(|_| !post.has_liquid || key.is_some())
                .and_then(|c| c.get(&post.source, post.stamp, key));
            match kept {
                Some(k) => {
                    let how = Rendered {
                        problems: k.problems,
                        ..Rendered::default()
                    };
                    Ok(Some((post.source.as_path(), k.entry, how)))
                }
                None if post.has_liquid && !liquid_ok => Ok(None),
                None => {
                    entry(site, post, renderer).map(|(e, r)| Some((post.source.as_path(), e, r)))
                }
            }
        })
        .collect::<Result<_, _>>()?;
    let Some(rendered) = rendered else {
        return Ok(None);
    };
    let mut out = Rendering {
        entries: HashMap::with_capacity(rendered.len()),
        problems: HashMap::new(),
        unkeyed: HashSet::new(),
        rendered: HashSet::new(),
    };
    for (path, entry, how) in rendered {
        if how.unkeyed {
            out.unkeyed.insert(path);
        }
        if how.fresh {
            out.rendered.insert(path);
        }
        if !how.problems.is_empty() {
            out.problems.insert(path, how.problems);
        }
        out.entries.insert(path, entry);
    }
    Ok(Some(out))
}

/// Every planned feed in every format of `formats`.
fn write_feeds(
    plans: &[Plan<'_>],
    entries: &HashMap<&Path, Entry>,
    ctx: &Context<'_>,
    formats: &[Format],
) -> Vec<Output> {
    plans
        .par_iter()
        .flat_map_iter(|plan| {
            formats
                .iter()
                .map(|&format| {
                    let bytes = match format {
                        Format::Rss => rss2::write(plan, entries, ctx),
                        Format::Atom => atom::write(plan, entries, ctx),
                        Format::Json => json::write(plan, entries, ctx),
                    };
                    Output {
                        path: PathBuf::from(plan.file(format)),
                        bytes,
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A warning when the site's `lang` is no language tag (the feeds then name none).
fn language_warning(ctx: &Context<'_>) -> Option<Problem> {
    let lang = ctx.config.lang.as_deref()?;
    if ctx.language().is_some() {
        return None;
    }
    let (path, position) = (
        ctx.config.path.clone(),
        crate::config::key_position_in(&ctx.config.path, "lang"),
    );
    Some(Problem::warning(
        path,
        position,
        format!(
            "`lang: {lang}` is not a language tag (like `en`, `zh-CN`): the feeds name no language"
        ),
    ))
}

/// A warning for each feed over `max_feed_bytes`.
fn size_warnings(sizes: impl Iterator<Item = (PathBuf, u64)>, max_feed_bytes: u64) -> Vec<Problem> {
    sizes
        .filter(|(_, size)| *size > max_feed_bytes)
        .map(|(path, size)| {
            Problem::warning(
                path,
                Position::START,
                format!(
                    "feed is {size} bytes, over {max_feed_bytes} (some readers refuse large \
                     feeds): lower `items`"
                ),
            )
        })
        .collect()
}

/// The lists of the feeds: the OPML lists, the link snippet and the published slugs.
fn lists(plans: &[Plan<'_>], ctx: &Context<'_>, formats: &[Format]) -> [Output; 4] {
    [
        Output {
            path: "feeds.opml".into(),
            bytes: opml::opml(plans, ctx, Format::Rss),
        },
        Output {
            path: "feeds-atom.opml".into(),
            bytes: opml::opml(plans, ctx, Format::Atom),
        },
        Output {
            path: "feeds.html".into(),
            bytes: opml::link_tags(plans, ctx, formats),
        },
        slug::Published::of_plans(plans).output(),
    ]
}

/// Media RSS's namespace, for a post's `image` (`media:thumbnail`, `media:content`), as
/// jekyll-feed writes it.
pub(crate) const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";

/// The absolute URL of a post's `image`, as jekyll-feed's `absolute_url` makes it: a URL is
/// kept, `//host/x` takes the site's scheme, and a path (with or without its leading `/`) is
/// below the site's root (`url` + `baseurl`). `None` without one, or when it makes no URL.
pub(crate) fn image_url(post: &Post, root: &Url) -> Option<String> {
    let image = post
        .image
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())?;
    let url = match Url::parse(image) {
        Ok(url) => url,
        Err(_) if image.starts_with("//") => root.join(image).ok()?,
        Err(_) => root.join(image.trim_start_matches('/')).ok()?,
    };
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// A post's `image` as Media RSS elements: `media:thumbnail` and `media:content`, keyed as the
/// feed crates keep extensions (prefix, then name).
pub(crate) fn media_elements(
    image: &str,
) -> std::collections::BTreeMap<String, Vec<atom_syndication::extension::Extension>> {
    use atom_syndication::extension::Extension;
    let element = |name: &str, attrs: &[(&str, &str)]| Extension {
        name: name.into(),
        attrs: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), escape::xml_safe(v)))
            .collect(),
        ..Extension::default()
    };
    let mut media = std::collections::BTreeMap::new();
    media.insert(
        "thumbnail".to_string(),
        vec![element("media:thumbnail", &[("url", image)])],
    );
    media.insert(
        "content".to_string(),
        vec![element(
            "media:content",
            &[("medium", "image"), ("url", image)],
        )],
    );
    media
}

/// What rendering one entry met besides the entry itself.
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    /// The body's Liquid read a file no key covers (so the entry is not kept).
    pub unkeyed: bool,
    /// Rendered in this build (not taken from the entry cache).
    pub fresh: bool,
    /// Warnings about the body's Liquid.
    pub problems: Vec<Problem>,
}

/// Reads and prepares one post for the feeds.
pub(crate) fn entry(
    site: &Path,
    post: &Post,
    renderer: &Renderer,
) -> Result<(Entry, Rendered), Problem> {
    let (content, liquid_problems) = post.content(site, renderer)?;
    let rendered = Rendered {
        unkeyed: content.unkeyed,
        fresh: true,
        problems: liquid_problems,
    };
    let base = Url::parse(&post.url).map_err(|e| {
        Problem::error(
            site.join(&post.source),
            Position::START,
            format!("post URL {} is not absolute: {e}", post.url),
        )
    })?;
    // White space (a vertical tab too) separates words; other controls just go.
    let spaced: String = post
        .title
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let title = plain_text(&escape::xml_safe(&spaced));
    // A description is plain text; the feeds' summaries are HTML.
    let summary = match &post.description {
        Some(d) => escape::attribute(d),
        None => content.excerpt_html,
    };
    let content_html = html::for_feed(&content.html, &base);
    let mut summary_html = html::for_feed(&summary, &base);
    if summary_html.trim().is_empty() {
        summary_html = escape::attribute(&title);
    }
    let entry = Entry {
        content_html: if content_html.trim().is_empty() {
            String::new()
        } else {
            content_html
        },
        summary_html,
        title,
    };
    Ok((entry, rendered))
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
        // A name of nothing but control characters has no text to show.
        .filter(|(term, _)| !term_text(term).is_empty())
}

/// A category or tag name as feeds show it: characters XML forbids dropped, and runs of white
/// space (a tab, a line break) made one space, as XML attributes would read them anyway.
pub fn term_text(name: &str) -> String {
    escape::xml_safe(name)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Building a small site in a temporary folder and rendering its feeds, for the tests of every
/// format.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::BTreeMap;

    use crate::collect::{collect, Options};
    use crate::config::SiteConfig;
    use crate::problem::Problem;

    /// The site's feeds by path (`feed.rss.xml`, `categories/x.atom.xml`, …), and the problems
    /// that rendering reported. `posts` are file names in `_posts` and their text.
    pub(crate) fn render_site(
        config: &str,
        posts: &[(&str, &str)],
    ) -> (BTreeMap<String, String>, Vec<Problem>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("_config.yml"), config).unwrap();
        std::fs::create_dir(dir.path().join("_posts")).unwrap();
        for (name, text) in posts {
            std::fs::write(dir.path().join("_posts").join(name), text).unwrap();
        }
        let config = SiteConfig::load(dir.path()).unwrap().config;
        let collection = collect(dir.path(), &config, &Options::default());
        assert!(!collection.has_errors(), "{:?}", collection.problems);
        let plans = super::plan(&collection.posts, &config);
        let ctx = super::Context::new(&config).unwrap();
        let (renderer, _) =
            crate::collect::render::Renderer::new(dir.path(), &config, &collection.posts);
        let (outputs, problems) = super::render(dir.path(), &plans, &ctx, &renderer).unwrap();
        let files = outputs
            .into_iter()
            .map(|o| {
                (
                    o.path.to_string_lossy().into_owned(),
                    String::from_utf8(o.bytes).unwrap(),
                )
            })
            .collect();
        (files, problems)
    }

    /// A post's file text.
    pub fn post(front: &str, body: &str) -> String {
        format!("---\n{front}\n---\n{body}")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{post, render_site};
    use super::*;

    #[test]
    fn languages_are_normalised_or_left_out_with_a_warning() {
        assert_eq!(language_tag("zh_CN").as_deref(), Some("zh-CN"));
        assert_eq!(language_tag(" en ").as_deref(), Some("en"));
        assert_eq!(language_tag("zh_Hant_TW").as_deref(), Some("zh-Hant-TW"));
        assert_eq!(language_tag("yue").as_deref(), Some("yue"));
        for bad in [
            "english",
            "x",
            "",
            "e1",
            "en-",
            "en US",
            "en-abcdefghi",
            "中文",
        ] {
            assert_eq!(language_tag(bad), None, "{bad}");
        }

        let body = [("2022-01-01-a.md", post("title: A", "a"))];
        let posts: Vec<(&str, &str)> = body.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let (files, problems) = render_site(
            "url: https://example.com\ntimezone: UTC\nlang: zh_CN\ngazette:\n  json_feed: true\n",
            &posts,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert!(files["feed.rss.xml"].contains("<language>zh-CN</language>"));
        assert!(files["feed.atom.xml"].contains(r#"xml:lang="zh-CN""#));
        assert!(files["feed.json"].contains(r#""language": "zh-CN""#));

        let (files, problems) = render_site(
            "url: https://example.com\ntimezone: UTC\nlang: english\n",
            &posts,
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].path.ends_with("_config.yml"));
        assert_eq!(problems[0].position, Position::new(3, 1));
        assert!(
            problems[0]
                .message
                .contains("`lang: english` is not a language tag"),
            "{}",
            problems[0].message
        );
        assert!(!files["feed.rss.xml"].contains("<language>"));
        assert!(!files["feed.atom.xml"].contains("xml:lang"));
    }

    #[test]
    fn offsets_off_the_half_hour_are_written_in_gmt() {
        let date = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        assert_eq!(
            rfc822(&date("2022-03-02T15:45:00+05:45")),
            "Wed, 2 Mar 2022 10:00:00 +0000"
        );
        assert_eq!(
            rfc822(&date("2022-03-02T08:45:00+08:45")),
            "Wed, 2 Mar 2022 00:00:00 +0000"
        );
        assert_eq!(
            rfc822(&date("2022-03-02T10:00:00+08:00")),
            "Wed, 2 Mar 2022 10:00:00 +0800"
        );
        assert_eq!(
            rfc822(&date("2022-03-02T10:00:00+05:30")),
            "Wed, 2 Mar 2022 10:00:00 +0530"
        );
        assert_eq!(
            rfc822(&date("2022-03-02T10:00:00-09:30")),
            "Wed, 2 Mar 2022 10:00:00 -0930"
        );
    }

    #[test]
    fn ids_that_are_not_uris_become_tag_uris() {
        let root = Url::parse("https://Finews.Example.com/blog/").unwrap();
        let date = DateTime::parse_from_rfc3339("2022-02-01T10:00:00+08:00").unwrap();
        let id = |s: &str| id_uri(s, &date, &root);
        assert_eq!(
            id("NW202202010001"),
            "tag:finews.example.com,2022:NW202202010001"
        );
        assert_eq!(
            id("post:12 中 #x %zz"),
            "tag:finews.example.com,2022:post:12%20%E4%B8%AD%20%23x%20%25zz"
        );
        // Kept as written (in canonical spelling).
        for uri in [
            "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
            "urn:isbn:0451450523",
            "tag:finews.example.com,2022:second",
            "https://finews.example.com/ids/4",
        ] {
            assert_eq!(id(uri), uri);
        }
        assert_eq!(
            id("HTTPS://Finews.Example.com:443/x"),
            "https://finews.example.com/x"
        );
        // A URI scheme's syntax not kept: wrapped.
        assert_eq!(id("urn:x"), "tag:finews.example.com,2022:urn:x");
        assert_eq!(
            id("tag:Bad Host,22:x"),
            "tag:finews.example.com,2022:tag:Bad%20Host,22:x"
        );
        assert_eq!(id("http:x"), "tag:finews.example.com,2022:http:x");
        assert_eq!(id("http:///x"), "tag:finews.example.com,2022:http:///x");
    }

    #[test]
    fn descriptions_are_text_and_every_entry_has_some() {
        let posts = [
            (
                "2022-01-01-a.md",
                post("title: A\ndescription: \"AT&T <wins> & more\"", "Body."),
            ),
            (
                "2022-01-02-empty.md",
                post("title: \"Empty & blank\"", "  \n\n"),
            ),
            (
                "2022-01-03-script.md",
                post("title: S", "<script>x()</script>"),
            ),
        ];
        let posts: Vec<(&str, &str)> = posts.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let (files, _) = render_site(
            "url: https://example.com\ntimezone: UTC\ngazette:\n  json_feed: true\n",
            &posts,
        );
        let rss = &files["feed.rss.xml"];
        let atom = &files["feed.atom.xml"];
        assert!(
            rss.contains("<description><![CDATA[AT&amp;T &lt;wins&gt; &amp; more]]></description>"),
            "{rss}"
        );
        assert!(
            atom.contains(
                r#"<summary type="html">AT&amp;amp;T &amp;lt;wins&amp;gt; &amp;amp; more</summary>"#
            ),
            "{atom}"
        );
        // No body: no content element, and the title as the summary.
        assert_eq!(rss.matches("<content:encoded>").count(), 1, "{rss}");
        assert_eq!(atom.matches("<content ").count(), 1, "{atom}");
        assert!(rss.contains("<description><![CDATA[Empty &amp; blank]]></description>"));
        assert!(atom.contains(r#"<summary type="html">Empty &amp;amp; blank</summary>"#));
        assert!(atom.contains(r#"<summary type="html">S</summary>"#));
    }
}

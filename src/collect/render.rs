//! A post's body as Jekyll renders it: Liquid first, then Markdown as kramdown writes it.
//!
//! One [`Renderer`] is made per run, from the site's settings and every post collected (for
//! `{% post_url %}`, `{% link %}` and `site.posts`), and bodies are rendered through it only for
//! the posts a feed or the digest shows.

use std::path::{Component, Path, PathBuf};

use super::liquid::{LiquidSite, PostInfo};
use super::markdown::KramdownOptions;
use super::Post;
use crate::config::SiteConfig;
use crate::problem::{Position, Problem};

/// What rendering a body needs that is the same for every post.
pub struct Renderer {
    liquid: LiquidSite,
    markdown: KramdownOptions,
    /// Folders of the site that builds write into (Jekyll's destination, gazette's output and
    /// cache folders), relative to it: a body whose Liquid reads there is never kept.
    written: Vec<PathBuf>,
}

impl Renderer {
    /// Reads what the site's Liquid can see (`_config.yml`, `_data/`, `_includes/` on demand)
    /// and the `kramdown:` options; problems are warnings about settings gazette cannot follow.
    pub fn new(site: &Path, config: &SiteConfig, posts: &[Post]) -> (Renderer, Vec<Problem>) {
        Renderer::with_listing(site, config, posts.iter().map(PostInfo::of).collect())
    }

    /// [`Renderer::new`] with what Liquid sees of every post (`Collection::listing`).
    pub(crate) fn with_listing(
        site: &Path,
        config: &SiteConfig,
        listing: Vec<PostInfo>,
    ) -> (Renderer, Vec<Problem>) {
        let (liquid, mut problems) = LiquidSite::new(site, config, listing);
        let (markdown, warnings) = KramdownOptions::from_yaml(config.raw.get("kramdown"));
        let at = crate::config::key_position_in(&config.path, "kramdown");
        problems.extend(
            warnings
                .into_iter()
                .map(|w| Problem::warning(&config.path, at, w)),
        );
        // Relative to the site, as Liquid's reads are named.
        let out = site.join(&config.gazette.out);
        let cache = (!config.gazette.cache.as_os_str().is_empty())
            .then(|| site.join(&config.gazette.cache));
        let written = super::inputs::written(site, config, &out, cache.as_deref())
            .into_iter()
            .filter_map(|w| {
                let below: PathBuf = w
                    .strip_prefix(site)
                    .ok()?
                    .components()
                    .filter(|c| !matches!(c, Component::CurDir))
                    .collect();
                (!below.as_os_str().is_empty()).then_some(below)
            })
            .collect();
        (
            Renderer {
                liquid,
                markdown,
                written,
            },
            problems,
        )
    }

    /// The kramdown options in force.
    pub fn markdown(&self) -> &KramdownOptions {
        &self.markdown
    }

    /// Runs a post's Liquid (when its body has any): the text to convert, what went wrong, and
    /// whether Liquid ran. `text` is the whole file; the body starts at `body_start`.
    pub(crate) fn liquid(
        &self,
        post: &Post,
        text: &str,
        body_start: usize,
    ) -> (String, Vec<Problem>, Ran) {
        let body = &text[body_start..];
        if !has_liquid(body) {
            return (body.to_string(), Vec::new(), Ran::No);
        }
        // The front matter is read again only for the few posts whose bodies hold Liquid.
        let front = match super::front_matter::split(text) {
            super::front_matter::Split::Found {
                yaml_start,
                yaml_end,
                ..
            } => super::front_matter::FrontMatter::parse(text, yaml_start, yaml_end)
                .map(|fm| fm.data)
                .unwrap_or_default(),
            _ => Default::default(),
        };
        let line = Position::of_offset(text, body_start).line;
        let (out, problems, reads) = self.liquid.render_reading(post, &front, body, line);
        // A file the site's other inputs do not cover (a post's, a hidden one) makes the entry
        // depend on what no key tracks: it is rendered again every build.
        let keyed = |r: &PathBuf| {
            super::inputs::is_other_input(r) && !self.written.iter().any(|w| r.starts_with(w))
        };
        let ran = if reads.iter().all(keyed) {
            Ran::Keyed
        } else {
            Ran::Unkeyed
        };
        (out, problems, ran)
    }
}

/// Whether a body's Liquid ran, and what the result depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ran {
    /// No Liquid: the result depends on the post's file and the settings alone.
    No,
    /// Liquid ran and read only the site's other inputs (see [`super::inputs`]).
    Keyed,
    /// Liquid ran and read a file no input key covers (another post, a hidden file).
    Unkeyed,
}

/// Whether a body holds any Liquid to run (an output `{{` or a tag `{%`).
pub fn has_liquid(body: &str) -> bool {
    body.contains("{{") || body.contains("{%")
}

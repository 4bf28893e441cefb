//! A whole `gazette build` as one library call: plan the feeds of the collected posts (every
//! category and tag keeping the file it was published with), render them (reusing the entry
//! cache), stage jekyll-feed's files when asked, write everything atomically, and say what was
//! written. The command maps its arguments to a [`Request`] and the [`Built`] to output.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{jekyll_feed, render_keeping_entries, state, subscribe, write, Context};
use crate::collect::render::Renderer;
use crate::collect::Collection;
use crate::config::SiteConfig;
use crate::problem::Problem;

/// What to build.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The site folder.
    pub site: &'a Path,
    /// Where the feeds go.
    pub out: PathBuf,
    /// The entry cache's file (beside the post cache), when caching.
    pub entry_cache: Option<PathBuf>,
    /// What the last build left, to keep the feed files that would come out the same (see
    /// `feed/reuse.rs`); `None` renders and compares every file.
    pub previous: Option<Previous>,
}

/// What the last build left, for [`Request::previous`].
#[derive(Debug, Clone)]
pub struct Previous {
    /// The keys of this build's inputs.
    pub inputs: state::Inputs,
    /// How the last build made each feed file (relative to the output folder); empty when
    /// there was no last build.
    pub written: HashMap<PathBuf, state::Written>,
}

/// Why nothing was written. A failed build changes no file.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The site cannot have feeds as it is (no `url`, a path that is no URL…), or a post could not
    /// be rendered: the problem names the file.
    #[error("{0}")]
    Problem(Problem),
    /// The feeds could not be written (a full disk, an output folder that is a file…).
    #[error("no feed was changed in {}", out.display())]
    Write {
        /// The output folder.
        out: PathBuf,
        /// The file and what the system said.
        #[source]
        source: write::WriteError,
    },
    /// jekyll-feed's files could not be put in place after gazette's were written.
    #[error("jekyll-feed's feeds were not all written")]
    JekyllFeed(#[source] write::WriteError),
    /// The collection holds only the posts feeds show ([`crate::collect::collect_for_feeds`]),
    /// and a body with Liquid must be rendered, which sees every post: build again from a
    /// collection of every post. Nothing was written.
    #[error("a post's Liquid must be rendered with every post collected")]
    NeedsEveryPost,
}

impl From<Problem> for BuildError {
    fn from(problem: Problem) -> Self {
        BuildError::Problem(problem)
    }
}

/// What a build wrote.
#[derive(Debug)]
pub struct Built {
    /// Feeds planned (each in every format).
    pub feeds: usize,
    /// Posts in them.
    pub posts: usize,
    /// Where gazette's feeds went, and what happened to each file there.
    pub out: PathBuf,
    /// What happened to each of gazette's files.
    pub report: write::Report,
    /// Where jekyll-feed's files went, and what happened to them (`jekyll_feed: true`).
    pub jekyll_feed: Option<(PathBuf, write::Report)>,
    /// Warnings met while rendering and writing (a feed over `max_feed_bytes` names the file it
    /// was written to).
    pub problems: Vec<Problem>,
    /// Each feed file with a key (see `feed/reuse.rs`): its path (relative to the output
    /// folder), its key and the warnings its entries gave, for the build state.
    pub made: Vec<(PathBuf, u64, Vec<Problem>)>,
    /// Whether some entry's Liquid read what no key covers (the clock, a post's file, a hidden
    /// file): such a build is never replayed (see [`super::state`]).
    pub volatile: bool,
}

/// Builds every feed of `collection`'s posts into `request.out`.
pub fn build(
    config: &SiteConfig,
    collection: &Collection,
    request: &Request<'_>,
) -> Result<Built, BuildError> {
    let site = request.site;
    let out = &request.out;
    let ctx = Context::new(config)?;
    crate::timing::mark("collected");
    // Every category and tag keeps the file it was published with (see src/plan/slug.rs).
    let published = crate::plan::slug::Published::read(out);
    let plans = crate::plan::plan_keeping(&collection.posts, config, &published);
    // Liquid sees every post. A collection of only the posts feeds show lists them only when a
    // body with Liquid must be rendered (from the post cache's index): first without them.
    let partial = collection.is_partial();
    let listing = if partial {
        Some(Vec::new())
    } else {
        collection.listing()
    };
    let (mut renderer, mut renderer_problems) =
        Renderer::with_listing(site, config, listing.unwrap_or_default());
    let cache = request
        .entry_cache
        .as_deref()
        .map(|path| (path, collection.settings_key));
    // jekyll-feed's feeds are written from this build's entries, so every feed is rendered.
    let reuse = request
        .previous
        .as_ref()
        .filter(|_| !config.gazette.jekyll_feed)
        .map(|p| super::reuse::Reuse {
            inputs: p.inputs,
            written: &p.written,
            out,
        });
    let render = |renderer: &Renderer, whole: bool| {
        render_keeping_entries(
            site,
            &plans,
            (collection.listing_key, whole),
            &ctx,
            renderer,
            cache,
            reuse.as_ref(),
        )
    };
    let files = match render(&renderer, !partial)? {
        Some(files) => files,
        None => {
            let listing = collection.listing().ok_or(BuildError::NeedsEveryPost)?;
            let (whole, problems) = Renderer::with_listing(site, config, listing);
            (renderer, renderer_problems) = (whole, problems);
            render(&renderer, true)?.ok_or(BuildError::NeedsEveryPost)?
        }
    };
    let mut volatile = files.volatile;
    let (mut outputs, mut warnings, entries) = (files.outputs, files.problems, files.entries);
    warnings.append(&mut renderer_problems);
    // The service's sign-up form for the site's layout (`digest: serve_url`), beside
    // feeds.html; recorded in the manifest like every file, so it goes when the setting does.
    let (form, form_warning) = subscribe::snippet(&collection.posts, &ctx);
    if let Some(bytes) = form {
        outputs.push(crate::plan::Output {
            path: subscribe::FILE.into(),
            bytes,
        });
    }
    warnings.extend(form_warning);
    crate::timing::mark("plan + render");
    // jekyll-feed's place (`jekyll_feed: true`): its feeds are staged in Jekyll's destination
    // before gazette's own are written and committed only after, so a failed build changes no
    // file (dropping the staged files removes them). See src/feed/jekyll_feed.rs.
    let staged = if config.gazette.jekyll_feed {
        let posts = &collection.posts;
        Some(jekyll_feed::prepare(
            site, posts, &ctx, &renderer, &entries, out, &outputs,
        )?)
    } else {
        None
    };
    let report =
        write::write_all(out, &outputs, &files.kept).map_err(|source| BuildError::Write {
            out: out.clone(),
            source,
        })?;
    let mut jekyll_problems = Vec::new();
    let jekyll = match staged {
        Some((staged, staged_problems, unkeyed)) => {
            volatile |= unkeyed;
            let written = staged.commit().map_err(BuildError::JekyllFeed)?;
            jekyll_problems = staged_problems;
            Some((jekyll_feed::destination(site, config), written))
        }
        None => None,
    };
    crate::timing::mark("write");
    // Warnings about a feed name it where it was written.
    for w in &mut warnings {
        if outputs.iter().any(|o| o.path == w.path) {
            w.path = out.join(&w.path);
        }
    }
    let mut problems = warnings;
    problems.append(&mut jekyll_problems);
    Ok(Built {
        feeds: plans.len(),
        posts: collection.stats.posts,
        out: out.clone(),
        report,
        jekyll_feed: jekyll,
        problems,
        made: files.made,
        volatile,
    })
}

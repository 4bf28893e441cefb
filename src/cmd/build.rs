//! `gazette build`: write every feed, or nothing at all.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use gazette::feed::{self, write, Context};
use gazette::problem::Problem;

use super::output::{errln, Out};
use super::site::{print_problems, IncludeArgs, SiteArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub site: SiteArgs,
    /// The output folder [default: the config's `out`, else `_site/feeds` in the site folder].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print nothing but problems.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write no feed at all when any post has an error (the default leaves such posts out and
    /// writes the feeds of all the others, as Jekyll publishes all the others); also
    /// `strict: true` in the settings.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let loaded = match args.site.load(&IncludeArgs::default()) {
        Ok(loaded) => loaded,
        Err(problem) => return Ok(fail(&[problem])),
    };
    let collection = &loaded.collection;
    if collection.has_errors() && (args.strict || loaded.config.gazette.strict) {
        return Ok(fail(&collection.problems));
    }
    let ctx = match Context::new(&loaded.config) {
        Ok(ctx) => ctx,
        Err(problem) => return Ok(fail(&[problem])),
    };
    gazette::timing::mark("collected");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.site.site.join(&loaded.config.gazette.out));
    // Every category and tag keeps the file it was published with (see src/feed/slug.rs).
    let published = feed::slug::Published::read(&out);
    let plans = feed::plan_keeping(&collection.posts, &loaded.config, &published);
    // Entries are kept beside the post cache (`.gazette/entries.cache`), and only with it.
    let entry_cache = args
        .site
        .cache_path(&loaded.config)
        .map(|posts| posts.with_file_name("entries.cache"));
    let (renderer, mut render_problems) =
        gazette::collect::render::Renderer::new(&args.site.site, &loaded.config, &collection.posts);
    let rendered = feed::render_cached(
        &args.site.site,
        &plans,
        &ctx,
        &renderer,
        entry_cache
            .as_deref()
            .map(|path| (path, collection.settings_key)),
    );
    let (outputs, mut warnings) = match rendered {
        Ok(rendered) => rendered,
        Err(problem) => return Ok(fail(&[problem])),
    };
    warnings.append(&mut render_problems);
    gazette::timing::mark("plan + render");
    // jekyll-feed's place (`jekyll_feed: true`): its feeds are staged in Jekyll's destination
    // before gazette's own are written and committed only after, so a failed build changes no
    // file (dropping the staged files removes them). See src/feed/jekyll_feed.rs.
    let jekyll = if loaded.config.gazette.jekyll_feed {
        let cache = entry_cache
            .as_deref()
            .map(|path| (path, collection.settings_key));
        let site = &args.site.site;
        let posts = &collection.posts;
        match feed::jekyll_feed::prepare(site, posts, &ctx, &renderer, cache, &out, &outputs) {
            Ok(staged) => Some(staged),
            Err(problem) => return Ok(fail(&[problem])),
        }
    } else {
        None
    };
    let report = write::write_all(&out, &outputs)
        .with_context(|| format!("no feed was changed in {}", out.display()))?;
    let (jekyll_report, jekyll_problems) = match jekyll {
        Some((staged, problems)) => (
            Some(
                staged
                    .commit()
                    .context("jekyll-feed's feeds were not all written")?,
            ),
            problems,
        ),
        None => (None, Vec::new()),
    };
    gazette::timing::mark("write");
    // Warnings about a feed name it where it was written.
    let warnings: Vec<Problem> = warnings
        .into_iter()
        .map(|mut w| {
            if outputs.iter().any(|o| o.path == w.path) {
                w.path = out.join(&w.path);
            }
            w
        })
        .collect();
    print_problems(
        collection
            .problems
            .iter()
            .chain(&warnings)
            .chain(&jekyll_problems),
    );
    if !args.quiet {
        let mut stdout = Out::stdout();
        stdout.line(format_args!(
            "{} feeds from {} posts into {}: {} files written, {} unchanged, {} removed",
            plans.len(),
            collection.posts.len(),
            out.display(),
            report.written.len(),
            report.unchanged.len(),
            report.removed.len()
        ));
        if let Some(r) = &jekyll_report {
            stdout.line(format_args!(
                "jekyll-feed's feeds into {}: {} files written, {} unchanged, {} removed",
                feed::jekyll_feed::destination(&args.site.site, &loaded.config).display(),
                r.written.len(),
                r.unchanged.len(),
                r.removed.len()
            ));
        }
    }
    let left_out = collection.stats.invalid;
    if left_out > 0 {
        // Said even with --quiet: a post that readers will not see is news for the site's owner.
        errln!(
            "gazette: {left_out} post{} left out of every feed: {} (see the errors above; \
             `--strict` refuses to write any feed instead)",
            if left_out == 1 { " was" } else { "s were" },
            if left_out == 1 {
                "it cannot be read"
            } else {
                "they cannot be read"
            },
        );
    }
    drop((plans, outputs, ctx));
    super::site::leave(loaded);
    Ok(ExitCode::SUCCESS)
}

fn fail(problems: &[Problem]) -> ExitCode {
    print_problems(problems);
    let errors = problems.iter().filter(|p| p.is_error()).count();
    errln!("gazette: build failed with {errors} errors; no feed was written or changed");
    ExitCode::FAILURE
}

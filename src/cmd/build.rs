//! `gazette build`: every feed written, or none changed; the work is `feed::build::build`.

use std::path::PathBuf;
use std::process::ExitCode;

use gazette::feed::build::{build, BuildError, Request};
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
    /// Build, then build again whenever a post, an include, a data file or the settings change
    /// (checked every 100 ms), until stopped (Ctrl-C).
    #[arg(long)]
    pub watch: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !args.watch {
        return once(args, false);
    }
    // The output folder is not an input: the builds' own writes must not start another one.
    let skip = args.out.clone().or_else(|| {
        gazette::config::SiteConfig::load(&args.site.site)
            .ok()
            .map(|l| args.site.site.join(&l.config.gazette.out))
    });
    let mut seen = super::watch::fingerprint(&args.site.site, skip.as_deref());
    loop {
        // A failed build is said and the watch goes on: the next save may fix it.
        if let Err(e) = once(args, true) {
            errln!("gazette: {e:#}");
        }
        seen = super::watch::next_change(&args.site.site, skip.as_deref(), seen);
    }
}

/// One build; `watching` keeps what it read to be freed (a one-off run leaves it to the exit).
fn once(args: &Args, watching: bool) -> anyhow::Result<ExitCode> {
    let loaded = match args.site.load(&IncludeArgs::default()) {
        Ok(loaded) => loaded,
        Err(problem) => return Ok(fail(&[problem])),
    };
    let collection = &loaded.collection;
    if collection.has_errors() && (args.strict || loaded.config.gazette.strict) {
        return Ok(fail(&collection.problems));
    }
    let request = Request {
        site: &args.site.site,
        out: args
            .out
            .clone()
            .unwrap_or_else(|| args.site.site.join(&loaded.config.gazette.out)),
        // Entries are kept beside the post cache (`.gazette/entries.cache`), and only with it.
        entry_cache: args
            .site
            .cache_path(&loaded.config)
            .map(|posts| posts.with_file_name("entries.cache")),
    };
    let built = match build(&loaded.config, collection, &request) {
        Ok(built) => built,
        Err(BuildError::Problem(problem)) => return Ok(fail(&[problem])),
        Err(other) => return Err(other.into()),
    };
    print_problems(collection.problems.iter().chain(&built.problems));
    if !args.quiet {
        let mut stdout = Out::stdout();
        let r = &built.report;
        stdout.line(format_args!(
            "{} feeds from {} posts into {}: {} files written, {} unchanged, {} removed",
            built.feeds,
            built.posts,
            built.out.display(),
            r.written.len(),
            r.unchanged.len(),
            r.removed.len()
        ));
        if let Some((dest, r)) = &built.jekyll_feed {
            stdout.line(format_args!(
                "jekyll-feed's feeds into {}: {} files written, {} unchanged, {} removed",
                dest.display(),
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
    drop(built);
    if watching {
        drop(loaded);
    } else {
        super::site::leave(loaded);
    }
    Ok(ExitCode::SUCCESS)
}

fn fail(problems: &[Problem]) -> ExitCode {
    print_problems(problems);
    let errors = problems.iter().filter(|p| p.is_error()).count();
    errln!("gazette: build failed with {errors} errors; no feed was written or changed");
    ExitCode::FAILURE
}

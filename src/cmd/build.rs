//! `gazette build`: every feed written, or none changed; the work is `feed::build::build`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gazette::collect;
use gazette::feed::build::{build, BuildError, Previous, Request};
use gazette::feed::state;
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
    /// (as the system tells of each save), until stopped (Ctrl-C).
    #[arg(long)]
    pub watch: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !args.watch {
        return once(args, false);
    }
    // Where builds write is no input: their own writes must not start another build. That is
    // the output folder, gazette's cache folder and Jekyll's destination (jekyll-feed's feeds
    // go there with `jekyll_feed: true`, and `jekyll serve` writes there).
    let site = &args.site.site;
    let config = gazette::config::SiteConfig::load(site)
        .ok()
        .map(|l| l.config);
    let skip: Vec<PathBuf> = match &config {
        Some(config) => {
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| site.join(&config.gazette.out));
            let cache = args.site.cache_path(config);
            gazette::collect::inputs::written(site, config, &out, cache.as_deref())
        }
        None => args.out.clone().into_iter().collect(),
    };
    // Made before the first build: a save during a build starts another one after it.
    let mut watcher = super::watch::Watcher::new(site, &skip);
    loop {
        // A failed build is said and the watch goes on: the next save may fix it.
        if let Err(e) = once(args, true) {
            errln!("gazette: {e:#}");
        }
        watcher.wait();
    }
}

/// One build; `watching` keeps what it read to be freed (a one-off run leaves it to the exit).
fn once(args: &Args, watching: bool) -> anyhow::Result<ExitCode> {
    let site = &args.site.site;
    let loaded = match args.site.load_config() {
        Ok(loaded) => loaded,
        Err(problem) => return Ok(fail(&[problem])),
    };
    let options = args.site.options(&loaded.config, &IncludeArgs::default());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| site.join(&loaded.config.gazette.out));
    let strict = args.strict || loaded.config.gazette.strict;
    let mut scan = collect::Scan::new(site, &options);
    // The build's state lies beside the post cache (`.gazette/build.state`), and only with it:
    // when nothing changed since the last build, that build's report is said again and nothing
    // is read, rendered or written (see src/feed/state.rs).
    let state = options.cache.as_ref().map(|posts| {
        let job = state::Job {
            site,
            out: &out,
            strict,
        };
        let inputs = state::inputs(&job, &loaded.config, &mut scan, posts);
        let path = state::path_beside(posts);
        let last = state::State::load(&path);
        (path, inputs, last)
    });
    if let Some((_, inputs, Some(last))) = &state {
        if let Some(replay) = last.replay(inputs.all, options.now) {
            let nothing = |files: &[PathBuf]| Said {
                written: 0,
                unchanged: files.len(),
                removed: 0,
            };
            say(
                args,
                &Summary {
                    feeds: replay.feeds,
                    posts: replay.posts,
                    out: &out,
                    ours: nothing(&replay.files),
                    jekyll_feed: replay
                        .jekyll_feed
                        .as_ref()
                        .map(|(dest, files)| (dest.as_path(), nothing(files))),
                    problems: &replay.problems,
                    left_out: replay.left_out,
                },
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    // jekyll-feed's feeds are planned from every post: they are collected whole.
    let for_feeds = !loaded.config.gazette.jekyll_feed;
    let loaded = args.site.collect(loaded, &options, scan, for_feeds);
    let collection = &loaded.collection;
    if collection.has_errors() && strict {
        return Ok(fail(&collection.problems));
    }
    let request = Request {
        site,
        out,
        // Entries are kept beside the post cache (`.gazette/entries.cache`), and only with it.
        entry_cache: options
            .cache
            .as_ref()
            .map(|posts| gazette::collect::cache::beside(posts)[2].clone()),
        // The feed files that would come out as the last build wrote them are kept.
        previous: state.as_ref().map(|(_, inputs, last)| Previous {
            inputs: *inputs,
            written: last.as_ref().map(state::State::written).unwrap_or_default(),
        }),
    };
    let mut built = build(&loaded.config, collection, &request);
    let mut loaded = loaded;
    if matches!(built, Err(BuildError::NeedsEveryPost)) {
        // A body with Liquid to render sees every post: collect them all and build again.
        let config = match args.site.load_config() {
            Ok(config) => config,
            Err(problem) => return Ok(fail(&[problem])),
        };
        let scan = collect::Scan::new(site, &options);
        loaded = args.site.collect(config, &options, scan, false);
        built = build(&loaded.config, &loaded.collection, &request);
    }
    let collection = &loaded.collection;
    let built = match built {
        Ok(built) => built,
        Err(BuildError::Problem(problem)) => return Ok(fail(&[problem])),
        Err(other) => return Err(other.into()),
    };
    let problems: Vec<Problem> = collection
        .problems
        .iter()
        .chain(&built.problems)
        .cloned()
        .collect();
    let said = |r: &gazette::feed::write::Report| Said {
        written: r.written.len(),
        unchanged: r.unchanged.len(),
        removed: r.removed.len(),
    };
    say(
        args,
        &Summary {
            feeds: built.feeds,
            posts: built.posts,
            out: &built.out,
            ours: said(&built.report),
            jekyll_feed: built
                .jekyll_feed
                .as_ref()
                .map(|(dest, r)| (dest.as_path(), said(r))),
            problems: &problems,
            left_out: collection.stats.invalid,
        },
    );
    if let Some((path, inputs, _)) = &state {
        // Not recorded, the next build is a full one, which is all that is lost: no warning.
        let _ = state::record(path, inputs.all, collection, &built, &problems);
    }
    drop(built);
    if watching {
        drop(loaded);
    } else {
        super::site::leave(loaded);
    }
    Ok(ExitCode::SUCCESS)
}

/// What a build did to the files of one folder.
struct Said {
    written: usize,
    unchanged: usize,
    removed: usize,
}

/// What a build says.
struct Summary<'a> {
    feeds: usize,
    posts: usize,
    out: &'a Path,
    ours: Said,
    jekyll_feed: Option<(&'a Path, Said)>,
    problems: &'a [Problem],
    left_out: usize,
}

fn say(args: &Args, summary: &Summary<'_>) {
    print_problems(summary.problems);
    if !args.quiet {
        let mut stdout = Out::stdout();
        let r = &summary.ours;
        stdout.line(format_args!(
            "{} feeds from {} posts into {}: {} files written, {} unchanged, {} removed",
            summary.feeds,
            summary.posts,
            summary.out.display(),
            r.written,
            r.unchanged,
            r.removed
        ));
        if let Some((dest, r)) = &summary.jekyll_feed {
            stdout.line(format_args!(
                "jekyll-feed's feeds into {}: {} files written, {} unchanged, {} removed",
                dest.display(),
                r.written,
                r.unchanged,
                r.removed
            ));
        }
    }
    let left_out = summary.left_out;
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
}

fn fail(problems: &[Problem]) -> ExitCode {
    print_problems(problems);
    let errors = problems.iter().filter(|p| p.is_error()).count();
    errln!("gazette: build failed with {errors} errors; no feed was written or changed");
    ExitCode::FAILURE
}

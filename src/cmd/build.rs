//! `gazette build`: write every feed, or nothing at all.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use gazette::feed::{self, write, Context};
use gazette::problem::Problem;

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
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let loaded = match args.site.load(&IncludeArgs::default()) {
        Ok(loaded) => loaded,
        Err(problem) => return Ok(fail(&[problem])),
    };
    let collection = &loaded.collection;
    if collection.has_errors() {
        return Ok(fail(&collection.problems));
    }
    let config_path = args.site.site.join("_config.yml");
    let ctx = match Context::new(&loaded.config, &config_path) {
        Ok(ctx) => ctx,
        Err(problem) => return Ok(fail(&[problem])),
    };
    gazette::timing::mark("collected");
    let plans = feed::plan(&collection.posts, &loaded.config);
    // Entries are kept beside the post cache (`.gazette/entries.cache`), and only with it.
    let entry_cache = args
        .site
        .cache_path(&loaded.config)
        .map(|posts| posts.with_file_name("entries.cache"));
    let rendered = feed::render_cached(
        &args.site.site,
        &plans,
        &ctx,
        entry_cache
            .as_deref()
            .map(|path| (path, collection.settings_key)),
    );
    let (outputs, warnings) = match rendered {
        Ok(rendered) => rendered,
        Err(problem) => return Ok(fail(&[problem])),
    };
    gazette::timing::mark("plan + render");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.site.site.join(&loaded.config.gazette.out));
    let report = write::write_all(&out, &outputs)
        .with_context(|| format!("no feed was changed in {}", out.display()))?;
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
    print_problems(collection.problems.iter().chain(&warnings));
    if !args.quiet {
        println!(
            "{} feeds from {} posts into {}: {} files written, {} unchanged, {} removed",
            plans.len(),
            collection.posts.len(),
            out.display(),
            report.written.len(),
            report.unchanged.len(),
            report.removed.len()
        );
    }
    drop((plans, outputs, ctx));
    super::site::leave(loaded);
    Ok(ExitCode::SUCCESS)
}

fn fail(problems: &[Problem]) -> ExitCode {
    print_problems(problems);
    let errors = problems.iter().filter(|p| p.is_error()).count();
    eprintln!("gazette: build failed with {errors} errors; no feed was written or changed");
    ExitCode::FAILURE
}

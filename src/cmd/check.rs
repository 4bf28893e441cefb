//! `gazette check`: read the site, print a summary and every problem.

use std::io::Write;
use std::process::ExitCode;

use gazette::collect::Collection;
use serde_json::json;

use super::check_json::{post_json, problem_json, Site};
use super::output::{self, Out};
use super::site::{print_problems, IncludeArgs, SiteArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub site: SiteArgs,
    #[command(flatten)]
    pub include: IncludeArgs,
    /// Print one JSON object per line (each post, each problem, then the summary).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let (collection, fatal) = match args.site.load(&args.include) {
        Ok(loaded) => (loaded.collection, false),
        Err(problem) => (
            Collection {
                problems: vec![problem],
                ..Collection::default()
            },
            true,
        ),
    };
    let mut out = Out::buffered();
    if args.json {
        let site = Site::new(&args.site.site);
        for post in &collection.posts {
            if !output::is_open() {
                break;
            }
            out.line(format_args!("{}", post_json(post)));
        }
        for problem in &collection.problems {
            if !output::is_open() {
                break;
            }
            out.line(format_args!("{}", problem_json(problem, &site)));
        }
        out.line(format_args!(
            "{}",
            json!({"type": "summary", "stats": collection.stats})
        ));
    } else {
        print_problems(&collection.problems);
        if !fatal {
            write_summary(&mut out, &collection);
        }
    }
    out.flush();
    let code = if collection.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    super::site::leave(collection);
    Ok(code)
}

fn write_summary(out: &mut Out<impl Write>, c: &Collection) {
    let s = &c.stats;
    let errors = c.problems.iter().filter(|p| p.is_error()).count();
    let warnings = c.problems.len() - errors;
    out.line(format_args!(
        "{}{}; left out: {}, {} unpublished, {} in the future, {} invalid, {}",
        count(s.posts, "post", "posts"),
        if s.drafts > 0 {
            format!(" (of which {})", count(s.drafts, "draft", "drafts"))
        } else {
            String::new()
        },
        count(s.drafts_skipped, "draft", "drafts"),
        s.unpublished,
        s.future,
        s.invalid,
        count(s.ignored, "ignored file", "ignored files"),
    ));
    let width = s
        .categories
        .keys()
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0);
    for (name, count) in &s.categories {
        let pad = width - name.chars().count();
        out.line(format_args!("  {name}{:pad$}  {count}", ""));
    }
    out.line(format_args!(
        "{}, {}",
        count(errors, "error", "errors"),
        count(warnings, "warning or note", "warnings and notes")
    ));
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

//! `gazette check`: read the site, print a summary and every problem.

use std::io::{self, Write};
use std::process::ExitCode;

use gazette::collect::{Collection, Post};
use gazette::problem::Problem;
use serde_json::json;

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
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if args.json {
        for post in &collection.posts {
            writeln!(out, "{}", post_json(post))?;
        }
        for problem in &collection.problems {
            writeln!(out, "{}", problem_json(problem))?;
        }
        writeln!(
            out,
            "{}",
            json!({"type": "summary", "stats": collection.stats})
        )?;
    } else {
        out.flush()?;
        print_problems(&collection.problems);
        if !fatal {
            write_summary(&mut out, &collection)?;
        }
    }
    out.flush()?;
    let code = if collection.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    super::site::leave(collection);
    Ok(code)
}

fn post_json(post: &Post) -> serde_json::Value {
    json!({
        "type": "post",
        "path": post.source,
        "date": post.date.to_rfc3339(),
        "title": post.title,
        "categories": post.categories,
        "tags": post.tags,
        "slug": post.slug,
        "url": post.url,
        "excerpt": post.excerpt.kind(),
        "draft": post.draft,
    })
}

fn problem_json(problem: &Problem) -> serde_json::Value {
    json!({
        "type": "problem",
        "path": problem.path.strip_prefix(".").unwrap_or(&problem.path),
        "line": problem.position.line,
        "column": problem.position.column,
        "severity": problem.severity,
        "message": problem.message,
    })
}

fn write_summary(out: &mut impl Write, c: &Collection) -> io::Result<()> {
    let s = &c.stats;
    let errors = c.problems.iter().filter(|p| p.is_error()).count();
    let warnings = c.problems.len() - errors;
    writeln!(
        out,
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
    )?;
    let width = s
        .categories
        .keys()
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0);
    for (name, count) in &s.categories {
        let pad = width - name.chars().count();
        writeln!(out, "  {name}{:pad$}  {count}", "")?;
    }
    writeln!(
        out,
        "{}, {}",
        count(errors, "error", "errors"),
        count(warnings, "warning or note", "warnings and notes")
    )
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

//! `gazette check`: read the site, print a summary and every problem.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gazette::collect::{Collection, Post};
use gazette::problem::Problem;
use serde_json::{json, Map, Value};

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

/// The site folder, as given and as the system resolves it, to write every path relative to it.
struct Site<'a> {
    given: &'a Path,
    resolved: Option<PathBuf>,
}

impl<'a> Site<'a> {
    fn new(given: &'a Path) -> Self {
        Site {
            given,
            resolved: given.canonicalize().ok(),
        }
    }

    /// `path` relative to the site folder, as a post's `path` is (Jekyll's `relative_path`);
    /// a path outside the site stays as it was given.
    fn relative<'p>(&self, path: &'p Path) -> &'p Path {
        // The collector names files below the site as given (`./blog/` may come back as
        // `blog/…`), a link's target as the system resolves it.
        let given = gazette::collect::shown(self.given);
        let inside = [Some(self.given), Some(given), self.resolved.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|site| path.strip_prefix(site).ok());
        match inside {
            Some(rest) if rest.as_os_str().is_empty() => Path::new("."),
            Some(rest) => rest,
            None => gazette::collect::shown(path),
        }
    }
}

/// Puts `path` into a JSON object as `"path"`. JSON text cannot hold bytes that are not UTF-8,
/// which a Unix file name can: such a name is written with U+FFFD in their place, and its exact
/// bytes follow as `"path_bytes"`, an array of numbers (`bytes(o["path_bytes"])` in Python).
fn put_path(object: &mut Map<String, Value>, path: &Path) {
    let name = path.as_os_str();
    match name.to_str() {
        Some(text) => {
            object.insert("path".into(), Value::from(text));
        }
        None => {
            object.insert("path".into(), Value::from(name.to_string_lossy()));
            object.insert(
                "path_bytes".into(),
                Value::from(name.as_encoded_bytes().to_vec()),
            );
        }
    }
}

fn post_json(post: &Post) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), json!("post"));
    put_path(&mut object, &post.source);
    let rest = json!({
        "date": post.date.to_rfc3339(),
        "title": post.title,
        "categories": post.categories,
        "tags": post.tags,
        "slug": post.slug,
        "url": post.url,
        "excerpt": post.excerpt.kind(),
        "draft": post.draft,
    });
    if let Value::Object(rest) = rest {
        object.extend(rest);
    }
    Value::Object(object)
}

fn problem_json(problem: &Problem, site: &Site) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), json!("problem"));
    put_path(&mut object, site.relative(&problem.path));
    let rest = json!({
        "line": problem.position.line,
        "column": problem.position.column,
        "severity": problem.severity,
        "message": problem.message,
    });
    if let Value::Object(rest) = rest {
        object.extend(rest);
    }
    Value::Object(object)
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

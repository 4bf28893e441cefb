//! The records of `gazette check --json`: one JSON object per post and per problem, paths
//! relative to the site folder.

use std::path::{Path, PathBuf};

use gazette::collect::Post;
use gazette::problem::Problem;
use serde_json::{json, Map, Value};

/// The site folder, as given and as the system resolves it, to write every path relative to it.
pub struct Site<'a> {
    given: &'a Path,
    resolved: Option<PathBuf>,
}

impl<'a> Site<'a> {
    pub fn new(given: &'a Path) -> Self {
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

pub fn post_json(post: &Post) -> Value {
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

pub fn problem_json(problem: &Problem, site: &Site) -> Value {
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

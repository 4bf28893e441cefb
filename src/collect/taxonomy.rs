//! Categories and tags, merged from the folders and the front matter as Jekyll 4.3 merges them
//! (`Document#merge_categories!`, `#populate_categories`, `#populate_tags`).
//!
//! - Folder categories (`news/_posts/…`) come first.
//! - `categories` as a string is split on white space (commas are not separators); as a list it
//!   is taken item by item. `category` (singular) is added as written, never split.
//! - For tags, `tag` (singular) wins over `tags`; a string `tags` is split on white space.
//! - A number as `tags` gives no tags at all; a number as `categories` breaks the post in Jekyll
//!   (it is published with the build's date and no title), so it is an error here.
//! - Duplicates are removed keeping the first; case is kept.

use std::collections::HashSet;
use std::path::Path;

use serde_yaml::Value;

use super::front_matter::{describe, ruby_inspect, scalar_string, FrontMatter};
use crate::problem::Problem;

/// Items of a list value as strings (lists inside lists flattened), `null`s dropped; a mapping
/// becomes Ruby's text of it, as in Jekyll (`{"a"=>1}`), and is named in `odd`.
fn list_items(items: &[Value], out: &mut Vec<String>, odd: &mut Vec<String>) {
    for item in items {
        match item {
            Value::Sequence(inner) => list_items(inner, out, odd),
            Value::Tagged(t) => list_items(std::slice::from_ref(&t.value), out, odd),
            Value::Mapping(_) => {
                let text = ruby_inspect(item);
                odd.push(text.clone());
                out.push(text);
            }
            other => out.extend(scalar_string(other)),
        }
    }
}

/// Names in order, each kept once: a set beside the list, so that thousands of names cost
/// thousands of steps.
#[derive(Default)]
struct Unique {
    names: Vec<String>,
    seen: HashSet<String>,
}

impl Unique {
    fn push_all(&mut self, items: impl IntoIterator<Item = String>) {
        for item in items {
            if !self.seen.contains(&item) {
                self.seen.insert(item.clone());
                self.names.push(item);
            }
        }
    }
}

/// Warns about values of `key` that are mappings (Jekyll shows Ruby's text of them) and about
/// YAML tags on it (Jekyll ignores them).
fn check_shapes(
    odd: &[String],
    key: &str,
    fm: &FrontMatter<'_>,
    path: &Path,
    problems: &mut Vec<Problem>,
) {
    if let Some(first) = odd.first() {
        let more = match odd.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        problems.push(Problem::warning(
            path,
            fm.position_of(key),
            format!(
                "a value of `{key}` is a mapping, not a name: Jekyll names it with Ruby's text of it, `{first}`{more}, and so does gazette; write the name as a string"
            ),
        ));
    }
    check_tags(key, fm, path, problems);
}

/// Warns about the YAML tags written on `key` (`!!python/object:x`), which Jekyll ignores.
pub(crate) fn check_tags(
    key: &str,
    fm: &FrontMatter<'_>,
    path: &Path,
    problems: &mut Vec<Problem>,
) {
    let tag = fm.written_tag(key).or_else(|| {
        fm.yaml_tags()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, t)| t.as_str())
    });
    // YAML's own tags (`!!str 2022`) and the non-specific `!` mean what they say in Jekyll too.
    let core = |t: &str| {
        matches!(
            t,
            "!" | "!!str"
                | "!!int"
                | "!!float"
                | "!!bool"
                | "!!null"
                | "!!seq"
                | "!!map"
                | "!!timestamp"
                | "!!binary"
        )
    };
    if let Some(tag) = tag.filter(|t| !core(t)) {
        problems.push(Problem::warning(
            path,
            fm.position_of(key),
            format!(
                "`{key}` carries the YAML tag `{tag}`, which Jekyll ignores (it reads the value as if untagged), and so does gazette; remove the tag"
            ),
        ));
    }
}

/// Keeps the first `max` names; warns, naming the post's key, when more were written.
fn cap(
    names: &mut Vec<String>,
    max: usize,
    what: &str,
    key: &str,
    fm: &FrontMatter<'_>,
    path: &Path,
    problems: &mut Vec<Problem>,
) {
    if names.len() > max {
        problems.push(Problem::warning(
            path,
            fm.position_of(key),
            format!(
                "this post has {} {what}, over `max_terms` ({max}): the first {max} are kept and {} are dropped (each one is a feed listing them all); raise `max_terms` in gazette's settings to keep more",
                names.len(),
                names.len() - max
            ),
        ));
        names.truncate(max);
    }
}

/// Warns about names that Jekyll keeps but that are probably typos (`news,` from `news, x`).
fn check_names(
    names: &[String],
    key: &str,
    fm: &FrontMatter<'_>,
    path: &Path,
    problems: &mut Vec<Problem>,
) {
    let mut at = None;
    for name in names {
        if name.ends_with(',') || name.starts_with(',') {
            problems.push(Problem::warning(
                path,
                *at.get_or_insert_with(|| fm.position_of(key)),
                format!(
                    "{key} `{name}` has a comma: Jekyll splits `{key}` on spaces, not commas; write a list (`{key}: [a, b]`) or `a b`"
                ),
            ));
        }
    }
}

/// The post's categories: folders first, then `categories`, then `category`; at most
/// `max_terms` of them.
pub fn categories(
    fm: &FrontMatter<'_>,
    folders: &[String],
    max_terms: usize,
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Vec<String>, Problem> {
    let mut out = Unique::default();
    out.push_all(folders.iter().cloned());
    let mut odd = Vec::new();
    match fm.get("categories") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => out.push_all(s.split_ascii_whitespace().map(String::from)),
        Some(Value::Sequence(items)) => {
            let mut names = Vec::new();
            list_items(items, &mut names, &mut odd);
            out.push_all(names);
        }
        Some(other) => {
            return Err(Problem::error(
                path,
                fm.position_of("categories"),
                format!(
                    "`categories` is {}: Jekyll cannot read this post (it would publish it with the build's date and no title); write it as a string (`categories: \"{}\"`) or a list",
                    describe(other),
                    scalar_string(other).unwrap_or_default()
                ),
            ))
        }
    }
    check_shapes(&odd, "categories", fm, path, problems);
    let mut odd = Vec::new();
    match fm.get("category") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(items)) => {
            let mut names = Vec::new();
            list_items(items, &mut names, &mut odd);
            out.push_all(names);
        }
        Some(other) => {
            let mut names = Vec::new();
            list_items(std::slice::from_ref(other), &mut names, &mut odd);
            out.push_all(names);
        }
    }
    check_shapes(&odd, "category", fm, path, problems);
    let mut out = out.names;
    if out.iter().any(|c| c.trim().is_empty()) {
        problems.push(Problem::warning(
            path,
            fm.position_of("categories"),
            "an empty category is ignored",
        ));
        out.retain(|c| !c.trim().is_empty());
    }
    cap(
        &mut out,
        max_terms,
        "categories",
        "categories",
        fm,
        path,
        problems,
    );
    check_names(&out, "categories", fm, path, problems);
    Ok(out)
}

/// The post's tags: `tag` if present, else `tags`; at most `max_terms` of them.
pub fn tags(
    fm: &FrontMatter<'_>,
    max_terms: usize,
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    let mut out = Unique::default();
    let (key, value) = match fm.get("tag") {
        Some(v) if !v.is_null() => ("tag", v),
        _ => match fm.get("tags") {
            Some(v) => ("tags", v),
            None => return Vec::new(),
        },
    };
    let mut odd = Vec::new();
    match value {
        Value::Null => {}
        Value::Sequence(items) => {
            let mut names = Vec::new();
            list_items(items, &mut names, &mut odd);
            out.push_all(names);
        }
        Value::String(s) if key == "tags" => {
            out.push_all(s.split_ascii_whitespace().map(String::from))
        }
        Value::String(s) => out.push_all([s.clone()]),
        other if key == "tag" => {
            let mut names = Vec::new();
            list_items(std::slice::from_ref(other), &mut names, &mut odd);
            out.push_all(names);
        }
        other => {
            problems.push(Problem::warning(
                path,
                fm.position_of(key),
                format!(
                    "`tags` is {}, which Jekyll ignores: this post has no tags; quote it (`tags: \"{}\"`) or make it a list",
                    describe(other),
                    scalar_string(other).unwrap_or_default()
                ),
            ));
        }
    }
    check_shapes(&odd, key, fm, path, problems);
    let mut out = out.names;
    out.retain(|t| !t.trim().is_empty());
    cap(&mut out, max_terms, "tags", key, fm, path, problems);
    check_names(&out, key, fm, path, problems);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        yaml: &str,
        folders: &[&str],
    ) -> (Result<Vec<String>, Problem>, Vec<String>, Vec<String>) {
        let text = format!("---\n{yaml}---\n");
        let fm = FrontMatter::parse(&text, 4, text.len() - 4).unwrap();
        let folders: Vec<String> = folders.iter().map(|s| s.to_string()).collect();
        let mut problems = Vec::new();
        let c = categories(&fm, &folders, 100, Path::new("p.md"), &mut problems);
        let t = tags(&fm, 100, Path::new("p.md"), &mut problems);
        (c, t, problems.into_iter().map(|p| p.message).collect())
    }

    #[test]
    fn strings_split_on_spaces_lists_item_by_item() {
        let (c, t, p) = read("categories: Foo bar  Foo\ntags: 中国 新闻\n", &[]);
        assert_eq!(c.unwrap(), ["Foo", "bar"]);
        assert_eq!(t, ["中国", "新闻"]);
        assert!(p.is_empty());
        let (c, t, _) = read("categories: [a b, 12, null]\ntags: [x, x, 3.5]\n", &[]);
        assert_eq!(c.unwrap(), ["a b", "12"]);
        assert_eq!(t, ["x", "3.5"]);
    }

    #[test]
    fn folders_first_then_categories_then_category() {
        let (c, _, _) = read("categories: [p, q]\ncategory: Single Word\n", &["Blog"]);
        assert_eq!(c.unwrap(), ["Blog", "p", "q", "Single Word"]);
        let (c, _, _) = read("categories: blog\n", &["Blog"]);
        assert_eq!(c.unwrap(), ["Blog", "blog"]);
    }

    #[test]
    fn many_names_are_kept_once_and_capped() {
        let names: Vec<String> = (0..50_000).map(|i| format!("t{}", i % 25_000)).collect();
        let (c, t, p) = read(
            &format!(
                "categories: {}\ntags: [{}]\n",
                names.join(" "),
                names.join(", ")
            ),
            &[],
        );
        assert_eq!(c.unwrap().len(), 100);
        assert_eq!(t.len(), 100);
        assert_eq!(t[99], "t99");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("this post has 25000 categories, over `max_terms` (100)"));
    }

    #[test]
    fn singular_tag_wins_and_is_not_split() {
        let (_, t, _) = read("tag: hello world\ntags: a b c\n", &[]);
        assert_eq!(t, ["hello world"]);
    }

    #[test]
    fn jekyll_surprises_are_followed_and_warned() {
        let (c, _, p) = read("categories: news, foundation\n", &[]);
        assert_eq!(c.unwrap(), ["news,", "foundation"]);
        assert!(p[0].contains("`news,` has a comma"), "{p:?}");
        let (_, t, p) = read("tags: 996\n", &[]);
        assert!(t.is_empty());
        assert!(
            p[0].starts_with("`tags` is the number 996, which Jekyll ignores"),
            "{p:?}"
        );
        let (c, _, _) = read("categories: 2022\n", &[]);
        let e = c.unwrap_err();
        assert!(e
            .message
            .starts_with("`categories` is the number 2022: Jekyll cannot read this post"));
        assert_eq!(e.position.line, 2);
    }
}

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

use std::path::Path;

use serde_yaml::Value;

use super::front_matter::{describe, scalar_string, FrontMatter};
use crate::problem::Problem;

/// Items of a list value as strings (lists inside lists flattened), `null`s dropped.
fn list_items(items: &[Value], out: &mut Vec<String>) {
    for item in items {
        match item {
            Value::Sequence(inner) => list_items(inner, out),
            Value::Tagged(t) => list_items(std::slice::from_ref(&t.value), out),
            other => out.extend(scalar_string(other)),
        }
    }
}

fn push_unique(out: &mut Vec<String>, items: impl IntoIterator<Item = String>) {
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
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
    for name in names {
        if name.ends_with(',') || name.starts_with(',') {
            problems.push(Problem::warning(
                path,
                fm.position_of(key),
                format!(
                    "{key} `{name}` has a comma: Jekyll splits `{key}` on spaces, not commas; write a list (`{key}: [a, b]`) or `a b`"
                ),
            ));
        }
    }
}

/// The post's categories: folders first, then `categories`, then `category`.
pub fn categories(
    fm: &FrontMatter<'_>,
    folders: &[String],
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Vec<String>, Problem> {
    let mut out: Vec<String> = Vec::new();
    push_unique(&mut out, folders.iter().cloned());
    match fm.get("categories") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => push_unique(&mut out, s.split_ascii_whitespace().map(String::from)),
        Some(Value::Sequence(items)) => {
            let mut names = Vec::new();
            list_items(items, &mut names);
            push_unique(&mut out, names);
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
    match fm.get("category") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(items)) => {
            let mut names = Vec::new();
            list_items(items, &mut names);
            push_unique(&mut out, names);
        }
        Some(other) => push_unique(&mut out, scalar_string(other)),
    }
    if out.iter().any(|c| c.trim().is_empty()) {
        problems.push(Problem::warning(
            path,
            fm.position_of("categories"),
            "an empty category is ignored",
        ));
        out.retain(|c| !c.trim().is_empty());
    }
    check_names(&out, "categories", fm, path, problems);
    Ok(out)
}

/// The post's tags: `tag` if present, else `tags`.
pub fn tags(fm: &FrontMatter<'_>, path: &Path, problems: &mut Vec<Problem>) -> Vec<String> {
    let mut out = Vec::new();
    let (key, value) = match fm.get("tag") {
        Some(v) if !v.is_null() => ("tag", v),
        _ => match fm.get("tags") {
            Some(v) => ("tags", v),
            None => return out,
        },
    };
    match value {
        Value::Null => {}
        Value::Sequence(items) => {
            let mut names = Vec::new();
            list_items(items, &mut names);
            push_unique(&mut out, names);
        }
        Value::String(s) if key == "tags" => {
            push_unique(&mut out, s.split_ascii_whitespace().map(String::from))
        }
        Value::String(s) => push_unique(&mut out, [s.clone()]),
        other if key == "tag" => push_unique(&mut out, scalar_string(other)),
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
    out.retain(|t| !t.trim().is_empty());
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
        let c = categories(&fm, &folders, Path::new("p.md"), &mut problems);
        let t = tags(&fm, Path::new("p.md"), &mut problems);
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

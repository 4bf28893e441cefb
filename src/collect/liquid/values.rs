//! Liquid values: YAML and JSON converted, `site.data` read from `_data/`, and the `site` and
//! `page` objects.

use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use liquid_core::model::{DisplayCow, KStringCow, ObjectView, State, Value, ValueView};
use liquid_core::Object;

use super::PostInfo;
use crate::collect::Post;
use crate::problem::{Position, Problem};

/// A YAML value as Liquid sees it.
pub(crate) fn from_yaml(value: &serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => Value::Nil,
        Y::Bool(b) => Value::scalar(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::scalar(i)
            } else {
                Value::scalar(n.as_f64().unwrap_or(0.0))
            }
        }
        Y::String(s) => Value::scalar(s.clone()),
        Y::Sequence(items) => Value::Array(items.iter().map(from_yaml).collect()),
        Y::Mapping(map) => Value::Object(from_mapping(map)),
        Y::Tagged(tagged) => from_yaml(&tagged.value),
    }
}

/// A YAML mapping as a Liquid object (keys as strings).
pub(crate) fn from_mapping(map: &serde_yaml::Mapping) -> Object {
    let mut object = Object::new();
    for (k, v) in map {
        let key = match k {
            serde_yaml::Value::String(s) => s.clone(),
            other => crate::collect::front_matter::scalar_string(other).unwrap_or_default(),
        };
        object.insert(key.into(), from_yaml(v));
    }
    object
}

/// A JSON value as Liquid sees it.
pub(crate) fn from_json(value: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match value {
        J::Null => Value::Nil,
        J::Bool(b) => Value::scalar(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::scalar(i)
            } else {
                Value::scalar(n.as_f64().unwrap_or(0.0))
            }
        }
        J::String(s) => Value::scalar(s.clone()),
        J::Array(items) => Value::Array(items.iter().map(from_json).collect()),
        J::Object(map) => {
            let mut object = Object::new();
            for (k, v) in map {
                object.insert(k.clone().into(), from_json(v));
            }
            Value::Object(object)
        }
    }
}

/// A date as a Liquid date value, in the offset it has.
pub(crate) fn date_value(date: &DateTime<FixedOffset>) -> Value {
    let text = date.format("%Y-%m-%d %H:%M:%S%.f %z").to_string();
    match liquid_core::model::DateTime::from_str(&text) {
        Some(d) => Value::scalar(d),
        None => Value::scalar(text),
    }
}

/// `site.data`: every YAML, JSON, CSV and TSV file of the data folder, by name without extension,
/// folders as nested objects.
pub(crate) fn read_data(site: &Path, data_dir: &Path, problems: &mut Vec<Problem>) -> Object {
    read_data_folder(&site.join(data_dir), problems, 0)
}

fn read_data_folder(folder: &Path, problems: &mut Vec<Problem>, depth: usize) -> Object {
    let mut object = Object::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return object;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') || name.starts_with('_') || name.ends_with('~') {
            continue;
        }
        if path.is_dir() {
            if depth < 16 {
                let nested = read_data_folder(&path, problems, depth + 1);
                object.insert(data_key(name).into(), Value::Object(nested));
            }
            continue;
        }
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) => (stem, ext.to_ascii_lowercase()),
            None => continue,
        };
        let value = match ext.as_str() {
            "yml" | "yaml" => std::fs::read_to_string(&path)
                .map_err(DataError::Read)
                .and_then(|t| {
                    // Psych keeps a repeated key's last value: so does Jekyll's `site.data`.
                    crate::yaml::last_wins::from_str(&t)
                        .map(|(value, _)| value)
                        .map_err(DataError::Yaml)
                })
                .map(|v| from_yaml(&v)),
            "json" => std::fs::read_to_string(&path)
                .map_err(DataError::Read)
                .and_then(|t| {
                    serde_json::from_str::<serde_json::Value>(&t).map_err(DataError::Json)
                })
                .map(|v| from_json(&v)),
            "csv" => read_table(&path, b','),
            "tsv" => read_table(&path, b'\t'),
            _ => continue,
        };
        match value {
            Ok(value) => {
                object.insert(data_key(stem).into(), value);
            }
            Err(e) => problems.push(Problem::warning(
                &path,
                Position::START,
                format!("cannot read this data file, `site.data` goes without it: {e}"),
            )),
        }
    }
    object
}

/// Why a data file is left out of `site.data`; shown as the cause's own message.
#[derive(Debug, thiserror::Error)]
enum DataError {
    #[error("{0}")]
    Read(#[source] std::io::Error),
    #[error("{0}")]
    Yaml(#[source] serde_yaml::Error),
    #[error("{0}")]
    Json(#[source] serde_json::Error),
    #[error("{0}")]
    Table(#[source] csv::Error),
}

/// A CSV or TSV file as Jekyll reads it: an array of objects keyed by the header row.
fn read_table(path: &Path, delimiter: u8) -> Result<Value, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_path(path)
        .map_err(DataError::Table)?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(DataError::Table)?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(DataError::Table)?;
        let mut row = Object::new();
        for (i, header) in headers.iter().enumerate() {
            let value = record
                .get(i)
                .map_or(Value::Nil, |v| Value::scalar(v.to_string()));
            row.insert(header.clone().into(), value);
        }
        rows.push(Value::Object(row));
    }
    Ok(Value::Array(rows))
}

/// Jekyll's `sanitize_filename` for data keys: only word characters, spaces and `-`, spaces as
/// `_`.
fn data_key(name: &str) -> String {
    let kept: String = name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-' || c.is_whitespace())
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join("_")
}

/// `site`: the configuration, `data` and `time`, with `posts`, `categories` and `tags` built the
/// first time a body asks for them.
pub(crate) struct SiteObject {
    base: Object,
    pub(crate) posts: OnceLock<Value>,
    categories: OnceLock<Value>,
    tags: OnceLock<Value>,
    /// Every post, newest first.
    pub(crate) infos: Vec<PostInfo>,
}

impl std::fmt::Debug for SiteObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("site")
    }
}

const LAZY: [&str; 3] = ["posts", "categories", "tags"];

impl SiteObject {
    pub(crate) fn new(
        config: &serde_yaml::Mapping,
        data: Object,
        timezone: Tz,
        infos: Vec<PostInfo>,
    ) -> SiteObject {
        let mut base = from_mapping(config);
        base.insert("data".into(), Value::Object(data));
        let now = Utc::now().with_timezone(&timezone).fixed_offset();
        base.insert("time".into(), date_value(&now));
        for key in LAZY {
            base.remove(key);
        }
        SiteObject {
            base,
            posts: OnceLock::new(),
            categories: OnceLock::new(),
            tags: OnceLock::new(),
            infos,
        }
    }

    fn posts(&self) -> &Value {
        self.posts
            .get_or_init(|| Value::Array(self.infos.iter().map(post_object).collect()))
    }

    /// `site.categories` or `site.tags`: each name with its posts, newest first.
    fn grouped(&self, tags: bool) -> &Value {
        let cell = if tags { &self.tags } else { &self.categories };
        cell.get_or_init(|| {
            let posts = self.posts().as_array();
            let mut object = Object::new();
            for (i, info) in self.infos.iter().enumerate() {
                let names = if tags { &info.tags } else { &info.categories };
                let Some(post) = posts.and_then(|p| p.get(i as i64)) else {
                    continue;
                };
                for name in names {
                    let entry = object
                        .entry(liquid_core::model::KString::from(name.clone()))
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = entry {
                        list.push(post.to_value());
                    }
                }
            }
            Value::Object(object)
        })
    }

    fn lazy(&self, key: &str) -> Option<&Value> {
        match key {
            "posts" => Some(self.posts()),
            "categories" => Some(self.grouped(false)),
            "tags" => Some(self.grouped(true)),
            _ => None,
        }
    }
}

/// A post as `site.posts` shows it.
fn post_object(info: &PostInfo) -> Value {
    let mut post = Object::new();
    post.insert("title".into(), Value::scalar(info.title.clone()));
    post.insert("url".into(), Value::scalar(info.url.clone()));
    post.insert("date".into(), date_value(&info.date));
    post.insert("categories".into(), strings(&info.categories));
    post.insert("tags".into(), strings(&info.tags));
    post.insert("slug".into(), Value::scalar(info.slug.clone()));
    post.insert("id".into(), Value::scalar(post_id(&info.url, &info.slug)));
    post.insert("path".into(), Value::scalar(info.source.clone()));
    post.insert("relative_path".into(), Value::scalar(info.source.clone()));
    post.insert("collection".into(), Value::scalar("posts"));
    post.insert("draft".into(), Value::scalar(info.draft));
    Value::Object(post)
}

fn strings(list: &[String]) -> Value {
    Value::Array(list.iter().map(|s| Value::scalar(s.clone())).collect())
}

/// Jekyll's `id` of a post: the folder of its URL and its slug.
pub(crate) fn post_id(url: &str, slug: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let folder = match trimmed.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &trimmed[..i],
    };
    if folder.ends_with('/') {
        format!("{folder}{slug}")
    } else {
        format!("{folder}/{slug}")
    }
}

/// `page` for a post: its front matter and the fields Jekyll sets.
pub(crate) fn page(post: &Post, front_matter: &serde_yaml::Mapping) -> Value {
    let mut page = from_mapping(front_matter);
    let source = post.source.to_string_lossy().replace('\\', "/");
    page.insert("title".into(), Value::scalar(post.title.clone()));
    page.insert("date".into(), date_value(&post.date));
    page.insert("url".into(), Value::scalar(post.path.clone()));
    page.insert("id".into(), Value::scalar(post_id(&post.path, &post.slug)));
    page.insert("categories".into(), strings(&post.categories));
    page.insert("tags".into(), strings(&post.tags));
    page.insert("slug".into(), Value::scalar(post.slug.clone()));
    page.insert("path".into(), Value::scalar(source.clone()));
    page.insert("relative_path".into(), Value::scalar(source));
    page.insert("collection".into(), Value::scalar("posts"));
    page.insert("draft".into(), Value::scalar(post.draft));
    if let Some(ext) = post.source.extension().and_then(|e| e.to_str()) {
        page.insert("ext".into(), Value::scalar(format!(".{ext}")));
    }
    Value::Object(page)
}

impl ValueView for SiteObject {
    fn as_debug(&self) -> &dyn std::fmt::Debug {
        self
    }
    fn render(&self) -> DisplayCow<'_> {
        DisplayCow::Owned(Box::new(self.to_value().render().to_string()))
    }
    fn source(&self) -> DisplayCow<'_> {
        DisplayCow::Owned(Box::new(self.to_value().source().to_string()))
    }
    fn type_name(&self) -> &'static str {
        "object"
    }
    fn query_state(&self, state: State) -> bool {
        match state {
            State::Truthy => true,
            State::DefaultValue | State::Empty | State::Blank => false,
        }
    }
    fn to_kstr(&self) -> KStringCow<'_> {
        KStringCow::from_string(self.render().to_string())
    }
    fn to_value(&self) -> Value {
        let mut object = self.base.clone();
        for key in LAZY {
            if let Some(v) = self.lazy(key) {
                object.insert(key.into(), v.clone());
            }
        }
        Value::Object(object)
    }
    fn as_object(&self) -> Option<&dyn ObjectView> {
        Some(self)
    }
}

impl ObjectView for SiteObject {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        (self.base.len() + LAZY.len()) as i64
    }
    fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = KStringCow<'k>> + 'k> {
        Box::new(
            self.base
                .keys()
                .map(|k| KStringCow::from_ref(k.as_str()))
                .chain(LAZY.iter().map(|k| KStringCow::from_static(k))),
        )
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        Box::new(self.iter().map(|(_, v)| v))
    }
    fn iter<'k>(&'k self) -> Box<dyn Iterator<Item = (KStringCow<'k>, &'k dyn ValueView)> + 'k> {
        // Every value, `site.time` too.
        super::read_clock();
        Box::new(
            self.base
                .iter()
                .map(|(k, v)| (KStringCow::from_ref(k.as_str()), v as &dyn ValueView))
                .chain(LAZY.iter().filter_map(|k| {
                    self.lazy(k)
                        .map(|v| (KStringCow::from_static(k), v as &dyn ValueView))
                })),
        )
    }
    fn contains_key(&self, index: &str) -> bool {
        LAZY.contains(&index) || self.base.contains_key(index)
    }
    fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
        if index == "time" {
            super::read_clock();
        }
        match self.lazy(index) {
            Some(v) => Some(v as &dyn ValueView),
            None => self.base.get(index).map(|v| v as &dyn ValueView),
        }
    }
}

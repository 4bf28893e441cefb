//! Liquid in post bodies, run as Jekyll 4.3 runs it, before Markdown.
//!
//! [`LiquidSite`] holds what every post's Liquid sees alike (the `site` object, the parsed
//! includes, the Liquid language with Jekyll's tags and filters); [`LiquidSite::render`] runs one
//! body. Nothing here hides a post: a tag or filter only a plugin provides, a missing include or
//! any Liquid error is a warning naming the file, line and tag, and renders as nothing.
//!
//! The `liquid` crate refuses what it does not know and is strict about undefined variables,
//! where Jekyll's Liquid is lax; [`scan`] cuts a body into pieces the crate can parse one by one,
//! and rendering goes through [`Lax`], which gives `nil` for anything undefined.

mod filters;
mod scan;
mod tags;
mod values;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use liquid_core::model::{KStringRef, ScalarCow, Value, ValueCow, ValueView};
use liquid_core::runtime::{PartialStore, Registers, RuntimeBuilder};
use liquid_core::{Language, Runtime};

use crate::collect::Post;
use crate::config::SiteConfig;
use crate::problem::{Position, Problem};

/// Everything a post's Liquid can see that is the same for every post: built once per run.
pub(crate) struct LiquidSite {
    shared: Arc<Shared>,
}

/// What a post needs to know of another post (for `post_url`, `link` and `site.posts`).
#[derive(Debug, Clone)]
pub struct PostInfo {
    /// The file relative to the site, with `/` separators.
    pub source: String,
    /// The post's title.
    pub title: String,
    /// Its date.
    pub date: DateTime<FixedOffset>,
    /// Its categories.
    pub categories: Vec<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its slug.
    pub slug: String,
    /// Jekyll's `url`: the path below the site root.
    pub url: String,
    /// Whether it is a draft.
    pub draft: bool,
}

impl PostInfo {
    /// What other posts' Liquid sees of `post`.
    pub fn of(post: &Post) -> PostInfo {
        PostInfo {
            source: post.source.to_string_lossy().replace('\\', "/"),
            title: post.title.clone(),
            date: post.date,
            categories: post.categories.clone(),
            tags: post.tags.clone(),
            slug: post.slug.clone(),
            url: post.path.clone(),
            draft: post.draft,
        }
    }

    /// A hash of everything here, so that a change to any post Liquid can see changes the
    /// key of the list of them ([`crate::collect::Collection::listing_key`]).
    pub fn key(&self) -> u64 {
        info_key(
            &self.source,
            &self.title,
            self.date,
            (&self.categories, &self.tags),
            (&self.slug, &self.url, self.draft),
        )
    }

    /// [`PostInfo::of`]`(post).key()`, without copying the post's strings.
    pub fn key_of(post: &Post) -> u64 {
        info_key(
            &post.source.to_string_lossy().replace('\\', "/"),
            &post.title,
            post.date,
            (&post.categories, &post.tags),
            (&post.slug, &post.path, post.draft),
        )
    }
}

fn info_key(
    source: &str,
    title: &str,
    date: DateTime<FixedOffset>,
    (categories, tags): (&[String], &[String]),
    (slug, url, draft): (&str, &str, bool),
) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    (source, title, date, categories, tags).hash(&mut h);
    (slug, url, draft).hash(&mut h);
    h.finish()
}

/// The key of a list of posts as Liquid sees them, from each one's [`PostInfo::key`], in order.
pub fn listing_key(keys: impl Iterator<Item = u64>) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    for key in keys {
        h.write_u64(key);
    }
    h.finish()
}

/// The run's state, reached by tags and filters through [`State`] while a body renders.
pub(crate) struct Shared {
    pub site_dir: PathBuf,
    /// `data_dir`, as configured: every body with Liquid may read what `site.data` holds.
    pub data_dir: PathBuf,
    /// `includes_dir`, relative to the site.
    pub includes_dir: PathBuf,
    /// `baseurl` without a trailing `/` (Jekyll's `sanitized_baseurl`).
    pub baseurl: String,
    /// `url` as configured, or empty.
    pub url: String,
    pub timezone: Tz,
    pub language: Arc<Language>,
    pub filter_names: HashSet<String>,
    pub site: values::SiteObject,
    pub jekyll: Value,
    /// Parsed includes by path relative to the site; `None` for a file that cannot be read.
    includes: Mutex<HashMap<PathBuf, Option<Arc<Include>>>>,
}

/// A parsed include, with the warnings its parsing gave (reported with the first post using it).
pub(crate) struct Include {
    pub compiled: Compiled,
    problems: Mutex<Vec<Problem>>,
}

/// A source cut and parsed: text and Liquid pieces.
pub(crate) struct Compiled {
    /// The file, for problems.
    pub path: PathBuf,
    parts: Vec<Part>,
}

enum Part {
    Text(String),
    Liquid {
        template: liquid_core::runtime::Template,
        position: Position,
        label: String,
    },
}

/// The state of one body's rendering, for the tags and filters that need it.
pub(crate) struct State {
    pub shared: Arc<Shared>,
    pub problems: Vec<Problem>,
    /// The files being rendered, innermost last.
    pub files: Vec<PathBuf>,
    /// The folder of the post, relative to the site (for `include_relative`).
    pub post_dir: PathBuf,
    /// How deep includes are nested.
    pub depth: usize,
    /// Every file of the site the body's Liquid read (includes, pages), relative to the site.
    pub reads: Vec<PathBuf>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Runs `f` on the state of the rendering under way on this thread.
pub(crate) fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.with(|s| s.borrow_mut().as_mut().map(f))
}

/// The run's shared state, while a body renders.
pub(crate) fn shared() -> Option<Arc<Shared>> {
    with_state(|s| s.shared.clone())
}

/// What a body that reads the time of the build (`site.time`, `"now" | date`) records among its
/// reads: no key covers the clock, so its entry is never kept and its build never replayed.
pub(crate) const CLOCK: &str = ".clock";

/// Notes that the body being rendered read the time of the build.
pub(crate) fn read_clock() {
    with_state(|s| s.reads.push(PathBuf::from(CLOCK)));
}

/// A warning about the file being rendered.
pub(crate) fn warn(position: Position, message: String) {
    with_state(|s| {
        let path = s.files.last().cloned().unwrap_or_default();
        s.problems.push(Problem::warning(path, position, message));
    });
}

impl LiquidSite {
    /// `site`: the site folder; `config`: the site's configuration; `posts`: every post collected,
    /// for `{% post_url %}`, `{% link %}` and `site.posts`.
    pub fn new(
        site: &Path,
        config: &SiteConfig,
        mut infos: Vec<PostInfo>,
    ) -> (LiquidSite, Vec<Problem>) {
        let mut problems = Vec::new();
        let raw = &config.raw;
        let text = |key: &str| {
            raw.get(key)
                .and_then(crate::collect::front_matter::scalar_string)
        };
        let baseurl = text("baseurl").unwrap_or_default();
        let baseurl = baseurl.strip_suffix('/').unwrap_or(&baseurl).to_string();
        let url = text("url").unwrap_or_default();
        let includes_dir =
            PathBuf::from(text("includes_dir").unwrap_or_else(|| "_includes".into()));
        let data_dir = text("data_dir").unwrap_or_else(|| "_data".into());
        let data = values::read_data(site, Path::new(&data_dir), &mut problems);
        // Newest first, as `site.posts`; ties by path, last first.
        infos.sort_by(|a, b| b.date.cmp(&a.date).then(b.source.cmp(&a.source)));
        let language = Arc::new(language());
        let filter_names = language
            .filters
            .plugin_names()
            .map(str::to_string)
            .collect();
        let environment = std::env::var("JEKYLL_ENV").unwrap_or_else(|_| "development".into());
        let mut jekyll = liquid_core::Object::new();
        jekyll.insert("version".into(), Value::scalar("4.3.1"));
        jekyll.insert("environment".into(), Value::scalar(environment));
        let site_object = values::SiteObject::new(raw, data, config.timezone, infos);
        let shared = Shared {
            site_dir: site.to_path_buf(),
            data_dir: PathBuf::from(&data_dir),
            includes_dir,
            baseurl,
            url,
            timezone: config.timezone,
            language,
            filter_names,
            site: site_object,
            jekyll: Value::Object(jekyll),
            includes: Mutex::new(HashMap::new()),
        };
        (
            LiquidSite {
                shared: Arc::new(shared),
            },
            problems,
        )
    }

    #[cfg(test)]
    /// Runs the Liquid of one post's body. `front_matter`: the post's front matter (for
    /// `page.*`); `body_line`: the 1-based line of the file where the body starts.
    pub fn render(
        &self,
        post: &Post,
        front_matter: &serde_yaml::Mapping,
        body: &str,
        body_line: usize,
    ) -> (String, Vec<Problem>) {
        let (out, problems, _) = self.render_reading(post, front_matter, body, body_line);
        (out, problems)
    }

    /// [`LiquidSite::render`], also giving every file of the site that the Liquid read
    /// (includes, `include_relative`, the pages `{% link %}` names), relative to the site.
    pub fn render_reading(
        &self,
        post: &Post,
        front_matter: &serde_yaml::Mapping,
        body: &str,
        body_line: usize,
    ) -> (String, Vec<Problem>, Vec<PathBuf>) {
        if !body.contains("{{") && !body.contains("{%") {
            return (body.to_string(), Vec::new(), Vec::new());
        }
        if front_matter
            .get("render_with_liquid")
            .is_some_and(|v| crate::collect::front_matter::yaml11_bool(v) == Some(false))
        {
            return (body.to_string(), Vec::new(), Vec::new());
        }
        let path = self.shared.site_dir.join(&post.source);
        let (compiled, mut problems) = compile(&self.shared, body, &path, body_line);
        let page = values::page(post, front_matter);
        let mut globals: HashMap<KStringRef<'_>, &dyn ValueView> = HashMap::new();
        globals.insert("site".into(), &self.shared.site);
        globals.insert("page".into(), &page);
        globals.insert("jekyll".into(), &self.shared.jekyll);
        let state = State {
            shared: self.shared.clone(),
            problems: Vec::new(),
            files: vec![path],
            post_dir: post
                .source
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            depth: 0,
            reads: Vec::new(),
        };
        let previous = STATE.with(|s| s.replace(Some(state)));
        let runtime = RuntimeBuilder::new().set_globals(&globals).build();
        let runtime = Lax(runtime);
        let mut out = Vec::with_capacity(body.len() + body.len() / 4);
        render_compiled(&compiled, &runtime, &mut out);
        let state = STATE.with(|s| s.replace(previous));
        // `site.data` was read when the site was: every body with Liquid may show it.
        let mut reads = vec![self.shared.data_dir.clone()];
        if let Some(mut state) = state {
            problems.append(&mut state.problems);
            reads.append(&mut state.reads);
        }
        problems.sort_by(|a, b| a.path.cmp(&b.path).then(a.position.cmp(&b.position)));
        (String::from_utf8_lossy(&out).into_owned(), problems, reads)
    }
}

/// The Liquid language of Jekyll 4.3 as gazette runs it.
fn language() -> Language {
    use liquid_lib::{jekyll, stdlib};
    let mut lang = Language::empty();
    macro_rules! tag {
        ($($t:expr),*) => {$({
            let t: Box<dyn liquid_core::ParseTag> = Box::new($t);
            let name = t.reflection().tag().to_string();
            lang.tags.register(name, t);
        })*};
    }
    macro_rules! block {
        ($($t:expr),*) => {$({
            let t: Box<dyn liquid_core::ParseBlock> = Box::new($t);
            let name = t.reflection().start_tag().to_string();
            lang.blocks.register(name, t);
        })*};
    }
    macro_rules! filter {
        ($($t:expr),*) => {$({
            let t: Box<dyn liquid_core::ParseFilter> = Box::new($t);
            let name = t.reflection().name().to_string();
            lang.filters.register(name, t);
        })*};
    }
    tag!(
        stdlib::AssignTag,
        stdlib::BreakTag,
        stdlib::ContinueTag,
        stdlib::CycleTag,
        stdlib::IncrementTag,
        stdlib::DecrementTag
    );
    block!(
        stdlib::IfBlock,
        stdlib::UnlessBlock,
        stdlib::IfChangedBlock,
        stdlib::TableRowBlock,
        stdlib::CommentBlock,
        stdlib::CaptureBlock,
        stdlib::CaseBlock,
        stdlib::RawBlock
    );
    filter!(
        stdlib::Abs,
        stdlib::Append,
        stdlib::AtLeast,
        stdlib::AtMost,
        stdlib::Capitalize,
        stdlib::Ceil,
        stdlib::Compact,
        stdlib::Concat,
        stdlib::Default,
        stdlib::DividedBy,
        stdlib::Downcase,
        stdlib::Escape,
        stdlib::EscapeOnce,
        stdlib::First,
        stdlib::Floor,
        stdlib::Join,
        stdlib::Last,
        stdlib::Lstrip,
        stdlib::Minus,
        stdlib::Modulo,
        stdlib::NewlineToBr,
        stdlib::Plus,
        stdlib::Prepend,
        stdlib::Remove,
        stdlib::RemoveFirst,
        stdlib::Replace,
        stdlib::ReplaceFirst,
        stdlib::Reverse,
        stdlib::Round,
        stdlib::Rstrip,
        stdlib::Size,
        stdlib::Slice,
        stdlib::SortNatural,
        stdlib::Split,
        stdlib::Strip,
        stdlib::StripHtml,
        stdlib::StripNewlines,
        stdlib::Times,
        stdlib::Truncate,
        stdlib::TruncateWords,
        stdlib::Uniq,
        stdlib::Upcase,
        stdlib::UrlDecode,
        stdlib::UrlEncode,
        jekyll::Push,
        jekyll::Pop,
        jekyll::Shift,
        jekyll::Unshift,
        jekyll::ArrayToSentenceString,
        jekyll::Slugify
    );
    tags::register(&mut lang);
    filters::register(&mut lang);
    lang
}

/// Cuts and parses `source` (of the file `path`, starting on line `first_line`).
pub(crate) fn compile(
    shared: &Shared,
    source: &str,
    path: &Path,
    first_line: usize,
) -> (Compiled, Vec<Problem>) {
    let lines = scan::Lines::new(source, first_line);
    let names = scan::Names {
        filters: &shared.filter_names,
        lines: &lines,
    };
    let (pieces, notes) = scan::cut(source, &names);
    let mut problems: Vec<Problem> = notes
        .into_iter()
        .map(|n| Problem::warning(path, lines.position(n.offset), n.message))
        .collect();
    let mut parts = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match piece {
            scan::Piece::Text(text) => parts.push(Part::Text(text)),
            scan::Piece::Liquid {
                source: liquid,
                offset,
                label,
            } => {
                let position = lines.position(offset);
                let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    liquid_core::parser::parse(&liquid, &shared.language)
                }));
                match parsed {
                    Ok(Ok(elements)) => parts.push(Part::Liquid {
                        template: liquid_core::runtime::Template::new(elements),
                        position,
                        label,
                    }),
                    Ok(Err(e)) => {
                        let (message, at) = error_text(&e);
                        let position = at.map_or(position, |(line, column)| {
                            if line <= 1 {
                                Position::new(position.line, position.column + column - 1)
                            } else {
                                Position::new(position.line + line - 1, column)
                            }
                        });
                        problems.push(Problem::warning(
                            path,
                            position,
                            format!(
                                "Liquid syntax error in {label}: {message}: it renders as nothing"
                            ),
                        ));
                    }
                    Err(_) => problems.push(Problem::warning(
                        path,
                        position,
                        format!("Liquid cannot parse {label}: it renders as nothing"),
                    )),
                }
            }
        }
    }
    (
        Compiled {
            path: path.to_path_buf(),
            parts,
        },
        problems,
    )
}

/// Renders the pieces of `compiled` into `out`; a piece that fails is a warning and nothing.
pub(crate) fn render_compiled(compiled: &Compiled, runtime: &dyn Runtime, out: &mut Vec<u8>) {
    for part in &compiled.parts {
        match part {
            Part::Text(text) => out.extend_from_slice(text.as_bytes()),
            Part::Liquid {
                template,
                position,
                label,
            } => {
                let mut buffer = Vec::new();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    liquid_core::Renderable::render_to(template, &mut buffer, runtime)
                }));
                match result {
                    Ok(Ok(())) => out.extend_from_slice(&buffer),
                    Ok(Err(e)) => {
                        let (message, _) = error_text(&e);
                        with_state(|s| {
                            s.problems.push(Problem::warning(
                                &compiled.path,
                                *position,
                                format!(
                                    "Liquid error in {label}: {message}: it renders as nothing"
                                ),
                            ))
                        });
                    }
                    Err(_) => {
                        with_state(|s| {
                            s.problems.push(Problem::warning(
                                &compiled.path,
                                *position,
                                format!("Liquid failed in {label}: it renders as nothing"),
                            ))
                        });
                    }
                }
                // A `break` or `continue` outside a loop ends nothing beyond its piece.
                runtime
                    .registers()
                    .get_mut::<liquid_core::runtime::InterruptRegister>()
                    .reset();
            }
        }
    }
}

/// A liquid error as one line, and the line and column (within the parsed piece) pest gave.
fn error_text(e: &liquid_core::Error) -> (String, Option<(usize, usize)>) {
    let text = e.to_string();
    let mut at = None;
    let mut message = None;
    let mut details = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t
            .strip_prefix("liquid: ")
            .map(str::trim)
            .and_then(|r| r.strip_prefix("-->"))
            .or_else(|| t.strip_prefix("-->"))
        {
            let mut numbers = rest.trim().split(':').map(|n| n.trim().parse::<usize>());
            if let (Some(Ok(l)), Some(Ok(c))) = (numbers.next(), numbers.next()) {
                at = Some((l, c.max(1)));
            }
        } else if let Some(m) = t.strip_prefix("= ") {
            message = Some(m.to_string());
        } else if let Some(m) = t.strip_prefix("liquid: ") {
            message.get_or_insert_with(|| m.to_string());
        } else if t.contains('=') && !t.starts_with('|') && !t.contains("available") {
            details.push(t.to_string());
        }
    }
    let mut message = message.unwrap_or_else(|| "error".to_string());
    while message.ends_with('.') {
        message.pop();
    }
    if !details.is_empty() {
        message.push_str(&format!(" ({})", details.join(", ")));
    }
    (message, at)
}

impl Shared {
    /// The parsed include at `relative` (a path relative to the site), parsed on first use.
    pub(crate) fn include(&self, relative: &Path) -> Option<Arc<Include>> {
        with_state(|s| s.reads.push(relative.to_path_buf()));
        if let Ok(cache) = self.includes.lock() {
            if let Some(found) = cache.get(relative) {
                return found.clone();
            }
        }
        let path = self.site_dir.join(relative);
        // Jekyll includes a file whole: a front matter in it is text like the rest.
        let parsed = std::fs::read_to_string(&path).ok().map(|text| {
            let (compiled, problems) = compile(self, &text, &path, 1);
            Arc::new(Include {
                compiled,
                problems: Mutex::new(problems),
            })
        });
        if let Ok(mut cache) = self.includes.lock() {
            cache.insert(relative.to_path_buf(), parsed.clone());
        }
        parsed
    }
}

impl Include {
    /// The warnings of parsing, given once per run.
    pub(crate) fn take_problems(&self) -> Vec<Problem> {
        self.problems
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }
}

/// A runtime in which anything undefined is `nil`, as in Jekyll's lax Liquid.
pub(crate) struct Lax<R>(pub R);

impl<R: Runtime> Runtime for Lax<R> {
    fn partials(&self) -> &dyn PartialStore {
        self.0.partials()
    }
    fn name(&self) -> Option<KStringRef<'_>> {
        self.0.name()
    }
    fn roots(&self) -> std::collections::BTreeSet<liquid_core::model::KStringCow<'_>> {
        self.0.roots()
    }
    fn try_get(&self, path: &[ScalarCow<'_>]) -> Option<ValueCow<'_>> {
        self.0.try_get(path)
    }
    fn get(&self, path: &[ScalarCow<'_>]) -> liquid_core::Result<ValueCow<'_>> {
        Ok(self.0.try_get(path).unwrap_or(ValueCow::Owned(Value::Nil)))
    }
    fn set_global(&self, name: liquid_core::model::KString, val: Value) -> Option<Value> {
        self.0.set_global(name, val)
    }
    fn set_index(&self, name: liquid_core::model::KString, val: Value) -> Option<Value> {
        self.0.set_index(name, val)
    }
    fn get_index<'a>(&'a self, name: &str) -> Option<ValueCow<'a>> {
        self.0.get_index(name)
    }
    fn registers(&self) -> &Registers {
        self.0.registers()
    }
}

/// Writes `bytes`, as liquid's renderables do.
pub(crate) fn write_out(writer: &mut dyn Write, bytes: &[u8]) -> liquid_core::Result<()> {
    writer
        .write_all(bytes)
        .map_err(|e| liquid_core::Error::with_msg(format!("cannot write: {e}")))
}

#[cfg(test)]
mod tests;

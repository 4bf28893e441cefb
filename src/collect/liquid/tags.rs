//! Jekyll's tags (`include`, `include_relative`, `post_url`, `link`, `highlight`), gazette's
//! `gazette_text` (what `{% raw %}` held), and `for` run in a lax scope.
//!
//! [`super::scan`] hands Jekyll's tags their markup as a hex string (with the tag's position), so
//! that markup the `liquid` crate cannot tokenize (`{% include {{ x }} a="b" %}`) reaches them
//! whole.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use liquid_core::model::{KString, KStringRef, Object, ObjectView, Scalar, Value, ValueView};
use liquid_core::parser::{BlockElement, TryMatchToken};
use liquid_core::runtime::{Interrupt, InterruptRegister, StackFrame};
use liquid_core::{
    BlockReflection, Error, Expression, Language, ParseBlock, ParseTag, Renderable, Result,
    Runtime, TagBlock, TagReflection, TagTokenIter, Template,
};
use regex::Regex;

use super::{scan, shared, warn, with_state, write_out, Lax};
use crate::collect::front_matter::{self, FrontMatter, Split};
use crate::problem::Position;

pub(crate) fn register(lang: &mut Language) {
    for (name, kind) in [
        ("include", Kind::Include),
        ("include_relative", Kind::IncludeRelative),
        ("post_url", Kind::PostUrl),
        ("link", Kind::Link),
        ("gazette_text", Kind::Text),
    ] {
        lang.tags
            .register(name.to_string(), Box::new(JekyllTag { name, kind }));
    }
    lang.blocks
        .register("highlight".to_string(), Box::new(HighlightBlock));
    lang.blocks.register("for".to_string(), Box::new(LaxFor));
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Include,
    IncludeRelative,
    PostUrl,
    Link,
    Text,
}

#[derive(Clone, Debug)]
struct JekyllTag {
    name: &'static str,
    kind: Kind,
}

impl TagReflection for JekyllTag {
    fn tag(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "Jekyll's tag"
    }
}

/// The markup and position [`scan`] encoded into the tag's one string argument.
fn encoded(arguments: &mut TagTokenIter<'_>) -> Result<(Position, String)> {
    let token = arguments.expect_next("markup expected")?;
    let literal = match token.expect_literal() {
        TryMatchToken::Matches(v) => v,
        TryMatchToken::Fails(t) => return t.raise_error().into_err(),
    };
    arguments.expect_nothing()?;
    scan::decode(&literal.to_kstr()).ok_or_else(|| Error::with_msg("bad markup"))
}

impl ParseTag for JekyllTag {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let (position, markup) = encoded(&mut arguments)?;
        Ok(match self.kind {
            Kind::Text => Box::new(TextNode(markup)),
            Kind::Include | Kind::IncludeRelative => Box::new(IncludeNode::parse(
                markup,
                position,
                self.kind == Kind::IncludeRelative,
                options,
            )),
            Kind::PostUrl => Box::new(PostUrlNode { markup, position }),
            Kind::Link => Box::new(LinkNode {
                file: variable_markup(&markup, options),
                markup,
                position,
            }),
        })
    }
    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

/// What `{% raw %}` held, written as it is.
#[derive(Debug)]
struct TextNode(String);

impl Renderable for TextNode {
    fn render_to(&self, writer: &mut dyn Write, _runtime: &dyn Runtime) -> Result<()> {
        write_out(writer, self.0.as_bytes())
    }
}

/// Markup holding `{{ … }}`, parsed as a template to render at run time.
fn variable_markup(markup: &str, options: &Language) -> Option<Template> {
    if !markup.contains("{{") {
        return None;
    }
    liquid_core::parser::parse(markup, options)
        .ok()
        .map(Template::new)
}

fn render_template(template: &Template, runtime: &dyn Runtime) -> Result<String> {
    let mut out = Vec::new();
    template.render_to(&mut out, runtime)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// An include parameter's value: a quoted string or a variable's name.
#[derive(Debug)]
enum Param {
    Text(String),
    Variable(String),
}

struct IncludeNode {
    markup: String,
    position: Position,
    relative: bool,
    file: String,
    file_template: Option<Template>,
    params: Option<Vec<(String, Param)>>,
    /// A syntax error, reported when rendered.
    error: Option<String>,
}

impl fmt::Debug for IncludeNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{% include {} %}}", self.markup)
    }
}

/// Jekyll's `VALID_SYNTAX` for include parameters.
static PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"([\w-]+)\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|'([^'\\]*(?:\\.[^'\\]*)*)'|([\w.-]+))"#,
    )
    .expect("a valid pattern")
});
/// Jekyll's `VARIABLE_SYNTAX` for an include's file name.
static VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)^(?P<variable>[^{]*(\{\{\s*[\w\-.]+\s*(\|.*)?\}\}[^\s{}]*)+)(?P<params>.*)$")
        .expect("a valid pattern")
});
static FULL_PARAMS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^\s*(?:(?:[\w-]+)\s*=\s*(?:"(?:[^"\\]*(?:\\.[^"\\]*)*)"|'(?:[^'\\]*(?:\\.[^'\\]*)*)'|(?:[\w.-]+))\s*)*$"#,
    )
    .expect("a valid pattern")
});

impl IncludeNode {
    fn parse(markup: String, position: Position, relative: bool, options: &Language) -> Self {
        let trimmed = markup.trim();
        let (file, params) = match VARIABLE.captures(trimmed) {
            Some(c) => (
                c.name("variable")
                    .map_or("", |m| m.as_str())
                    .trim()
                    .to_string(),
                c.name("params")
                    .map_or("", |m| m.as_str())
                    .trim()
                    .to_string(),
            ),
            None => {
                let mut parts = trimmed.splitn(2, char::is_whitespace);
                let file = parts.next().unwrap_or("").to_string();
                (file, parts.next().unwrap_or("").trim().to_string())
            }
        };
        let mut error = None;
        if file.is_empty() {
            error = Some("no file name".to_string());
        }
        let params = if params.is_empty() {
            None
        } else if !FULL_PARAMS.is_match(&params) {
            error = Some(format!(
                "invalid parameters `{params}` (Jekyll takes key=\"value\", key='value' or key=variable)"
            ));
            None
        } else {
            Some(
                PARAM
                    .captures_iter(&params)
                    .map(|c| {
                        let key = c[1].to_string();
                        let value = if let Some(v) = c.get(2) {
                            Param::Text(v.as_str().replace("\\\"", "\""))
                        } else if let Some(v) = c.get(3) {
                            Param::Text(v.as_str().replace("\\'", "'"))
                        } else {
                            Param::Variable(c.get(4).map_or("", |m| m.as_str()).to_string())
                        };
                        (key, value)
                    })
                    .collect(),
            )
        };
        let file_template = variable_markup(&file, options);
        IncludeNode {
            markup,
            position,
            relative,
            file,
            file_template,
            params,
            error,
        }
    }

    fn tag(&self) -> &'static str {
        if self.relative {
            "include_relative"
        } else {
            "include"
        }
    }
}

/// A value by a dotted name (`page.title`), `nil` when undefined; a literal (`1`, `true`) as
/// itself, since Liquid evaluates the name as an expression.
fn lookup(runtime: &dyn Runtime, name: &str) -> Value {
    match name {
        "true" => return Value::scalar(true),
        "false" => return Value::scalar(false),
        "nil" | "null" => return Value::Nil,
        _ => {}
    }
    if let Ok(i) = name.parse::<i64>() {
        return Value::scalar(i);
    }
    if name.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        if let Ok(f) = name.parse::<f64>() {
            return Value::scalar(f);
        }
    }
    let path: Vec<liquid_core::model::ScalarCow<'_>> = name
        .split('.')
        .map(|p| liquid_core::model::ScalarCow::new(p.to_string()))
        .collect();
    runtime
        .try_get(&path)
        .map(|v| v.into_owned())
        .unwrap_or(Value::Nil)
}

/// Jekyll's check of an included file's name.
fn valid_file_name(name: &str) -> bool {
    let bad_sequence = name
        .as_bytes()
        .windows(2)
        .any(|w| matches!(w[0], b'.' | b'/') && matches!(w[1], b'.' | b'/'));
    !bad_sequence
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "_/.-()+~#@".contains(c))
}

const MAX_DEPTH: usize = 32;

impl Renderable for IncludeNode {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let tag = self.tag();
        if let Some(error) = &self.error {
            warn(
                self.position,
                format!(
                    "`{{% {tag} {} %}}`: {error}: it renders as nothing",
                    self.markup
                ),
            );
            return Ok(());
        }
        let Some(shared) = shared() else {
            return Ok(());
        };
        let file = match &self.file_template {
            Some(t) => render_template(t, runtime)?.trim().to_string(),
            None => self.file.clone(),
        };
        if !valid_file_name(&file) {
            warn(
                self.position,
                format!(
                    "`{{% {tag} {} %}}`: the file name `{file}` has characters or sequences \
                     Jekyll refuses: it renders as nothing",
                    self.markup
                ),
            );
            return Ok(());
        }
        let folder = if self.relative {
            with_state(|s| s.post_dir.clone()).unwrap_or_default()
        } else {
            shared.includes_dir.clone()
        };
        let relative = folder.join(&file);
        let escapes = relative
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::RootDir));
        let found = if escapes {
            None
        } else {
            shared.include(&relative)
        };
        let Some(include) = found else {
            warn(
                self.position,
                format!(
                    "`{{% {tag} {} %}}`: no file {}: it renders as nothing",
                    self.markup,
                    relative.display()
                ),
            );
            return Ok(());
        };
        let depth = with_state(|s| s.depth).unwrap_or(0);
        if depth >= MAX_DEPTH {
            warn(
                self.position,
                format!(
                    "`{{% {tag} {} %}}`: includes nested more than {MAX_DEPTH} deep (an include \
                     that includes itself?): it renders as nothing",
                    self.markup
                ),
            );
            return Ok(());
        }
        let mut problems = include.take_problems();
        with_state(|s| {
            s.problems.append(&mut problems);
            s.depth += 1;
            s.files.push(include.compiled.path.clone());
        });
        let mut frame: HashMap<KStringRef<'_>, &dyn ValueView> = HashMap::new();
        let params = self.params.as_ref().map(|params| {
            let mut object = Object::new();
            for (key, value) in params {
                let value = match value {
                    Param::Text(t) => Value::scalar(t.clone()),
                    Param::Variable(name) => lookup(runtime, name),
                };
                object.insert(KString::from_ref(key), value);
            }
            object
        });
        if let Some(params) = &params {
            frame.insert("include".into(), params);
        }
        let scope = Lax(StackFrame::new(runtime, &frame));
        let mut out = Vec::new();
        super::render_compiled(&include.compiled, &scope, &mut out);
        with_state(|s| {
            s.depth = s.depth.saturating_sub(1);
            s.files.pop();
        });
        write_out(writer, &out)
    }
}

struct PostUrlNode {
    markup: String,
    position: Position,
}

impl fmt::Debug for PostUrlNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{% post_url {} %}}", self.markup)
    }
}

static POST_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^((?:.+/)*)(\d+-\d+-\d+)-(.*)$").expect("a valid pattern"));

/// The path of a file without its extension.
fn without_extension(path: &str) -> &str {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[name_start..].rfind('.') {
        Some(dot) if dot > 0 => &path[..name_start + dot],
        _ => path,
    }
}

impl Renderable for PostUrlNode {
    fn render_to(&self, writer: &mut dyn Write, _runtime: &dyn Runtime) -> Result<()> {
        let Some(shared) = shared() else {
            return Ok(());
        };
        let name = self.markup.trim().trim_start_matches('/');
        let Some(c) = POST_NAME.captures(name) else {
            warn(
                self.position,
                format!(
                    "`{{% post_url {} %}}`: `{name}` has no date and title: it renders as nothing",
                    self.markup
                ),
            );
            return Ok(());
        };
        let (folder, date, slug) = (&c[1], &c[2], &c[3]);
        let wanted = [
            format!("_posts/{folder}{date}-{slug}"),
            format!("{folder}_posts/{date}-{slug}"),
        ];
        let posts = &shared.site.infos;
        let found = posts
            .iter()
            .find(|p| wanted.iter().any(|w| without_extension(&p.source) == w))
            .or_else(|| {
                // Jekyll's older matching, still accepted with a deprecation message: the date
                // and the slug, wherever the file is.
                posts.iter().find(|p| {
                    p.slug == slug && p.date.format("%Y-%m-%d").to_string() == normalise_date(date)
                })
            });
        match found {
            Some(post) => {
                let url = relative_url(&shared.baseurl, &post.url);
                write_out(writer, url.as_bytes())
            }
            None => {
                warn(
                    self.position,
                    format!(
                        "`{{% post_url {} %}}`: no post {name}: it renders as nothing",
                        self.markup
                    ),
                );
                Ok(())
            }
        }
    }
}

/// `2010-7-1` as `2010-07-01`.
fn normalise_date(date: &str) -> String {
    let parts: Vec<&str> = date.split('-').collect();
    match parts.as_slice() {
        [y, m, d] => format!("{y}-{:0>2}-{:0>2}", m, d),
        _ => date.to_string(),
    }
}

/// Jekyll's `relative_url` of a path: the base URL, then the path with a leading `/`.
pub(crate) fn relative_url(baseurl: &str, path: &str) -> String {
    let mut out = String::new();
    if !baseurl.is_empty() && !baseurl.starts_with('/') {
        out.push('/');
    }
    out.push_str(baseurl);
    if !path.is_empty() && !path.starts_with('/') {
        out.push('/');
    }
    out.push_str(path);
    out
}

struct LinkNode {
    markup: String,
    position: Position,
    file: Option<Template>,
}

impl fmt::Debug for LinkNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{% link {} %}}", self.markup)
    }
}

impl Renderable for LinkNode {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let Some(shared) = shared() else {
            return Ok(());
        };
        let target = match &self.file {
            Some(t) => render_template(t, runtime)?,
            None => self.markup.clone(),
        };
        let target = target.trim().trim_start_matches('/');
        if let Some(post) = shared.site.infos.iter().find(|p| p.source == target) {
            let url = relative_url(&shared.baseurl, &post.url);
            return write_out(writer, url.as_bytes());
        }
        match page_url(&shared.site_dir, target) {
            Some(url) => write_out(writer, relative_url(&shared.baseurl, &url).as_bytes()),
            None => {
                warn(
                    self.position,
                    format!(
                        "`{{% link {} %}}`: no post or file {target}: it renders as nothing",
                        self.markup
                    ),
                );
                Ok(())
            }
        }
    }
}

/// The URL Jekyll gives a page or static file of the site: its `permalink`, or its path with
/// `.html` for Markdown and HTML pages (`index.html` as its folder).
fn page_url(site: &Path, target: &str) -> Option<String> {
    let relative = PathBuf::from(target);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let path = site.join(&relative);
    super::with_state(|s| s.reads.push(relative.clone()));
    let text = std::fs::read(&path).ok()?;
    let text = String::from_utf8_lossy(&text);
    // Split and read as a post's front matter is (trailing blanks, `...`, repeated keys).
    match front_matter::split(&text) {
        Split::None { .. } => return Some(format!("/{target}")),
        Split::Found {
            yaml_start,
            yaml_end,
            ..
        } => {
            let permalink = FrontMatter::parse(&text, yaml_start, yaml_end)
                .ok()
                .and_then(|fm| fm.get("permalink").and_then(front_matter::scalar_string));
            if let Some(permalink) = permalink {
                return Some(permalink);
            }
        }
        Split::Unclosed => {}
    }
    let stem = without_extension(target);
    if stem == "index" || stem.ends_with("/index") {
        return Some(format!("/{}", &stem[..stem.len() - "index".len()]));
    }
    Some(format!("/{stem}.html"))
}

/// `{% highlight lang [linenos] %}…{% endhighlight %}`, written as Jekyll writes it with Rouge,
/// without Rouge's colour spans.
#[derive(Clone, Debug)]
struct HighlightBlock;

impl BlockReflection for HighlightBlock {
    fn start_tag(&self) -> &str {
        "highlight"
    }
    fn end_tag(&self) -> &str {
        "endhighlight"
    }
    fn description(&self) -> &str {
        "Jekyll's code block"
    }
}

/// Jekyll's `SYNTAX` for the highlight tag's markup.
static HIGHLIGHT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^([a-zA-Z0-9.+#_-]+)((\s+\w+(=(\w+|"([0-9]+\s)*[0-9]+"))?)*)$"#)
        .expect("a valid pattern")
});

impl ParseBlock for HighlightBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut block: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let (_, markup) = encoded(&mut arguments)?;
        let body = block.parse_all(options)?;
        block.assert_empty();
        let markup = markup.trim().to_string();
        let captures = HIGHLIGHT
            .captures(&markup)
            .ok_or_else(|| Error::with_msg(format!("Syntax error in tag 'highlight' while parsing the following markup: {markup}. Valid syntax: highlight <lang> [linenos]")))?;
        let lang = captures[1].to_lowercase();
        let linenos = captures.get(2).is_some_and(|m| {
            m.as_str()
                .split_whitespace()
                .any(|o| o == "linenos" || o.starts_with("linenos="))
        });
        Ok(Box::new(Highlight {
            lang,
            linenos,
            body: Template::new(body),
        }))
    }
    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

#[derive(Debug)]
struct Highlight {
    lang: String,
    linenos: bool,
    body: Template,
}

impl Renderable for Highlight {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let code = render_template(&self.body, runtime)?;
        let code = code.trim_matches(|c| c == '\n' || c == '\r');
        let lang = crate::escape::attribute(&self.lang);
        let mut out = format!(
            "<figure class=\"highlight\"><pre><code class=\"language-{lang}\" data-lang=\"{lang}\">"
        );
        if self.linenos {
            let lines = code.lines().count().max(1);
            out.push_str("<table class=\"rouge-table\"><tbody><tr><td class=\"gutter gl\"><pre class=\"lineno\">");
            for n in 1..=lines {
                out.push_str(&format!("{n}\n"));
            }
            out.push_str("</pre></td><td class=\"code\"><pre>");
            out.push_str(&crate::escape::text(code));
            out.push_str("\n</pre></td></tr></tbody></table>");
        } else {
            out.push_str(&crate::escape::text(code));
        }
        out.push_str("</code></pre></figure>");
        write_out(writer, out.as_bytes())
    }
}

/// `for`, with its body rendered in a lax scope: `{{ post.missing }}` is nothing, not an error.
#[derive(Clone, Debug)]
struct LaxFor;

impl BlockReflection for LaxFor {
    fn start_tag(&self) -> &str {
        "for"
    }
    fn end_tag(&self) -> &str {
        "endfor"
    }
    fn description(&self) -> &str {
        "Liquid's for loop"
    }
}

#[derive(Debug)]
enum Range {
    Array(Expression),
    Counted(Expression, Expression),
}

#[derive(Debug)]
struct For {
    var_name: KString,
    range: Range,
    item: Template,
    otherwise: Option<Template>,
    limit: Option<Expression>,
    offset: Option<Expression>,
    reversed: bool,
}

fn attribute(arguments: &mut TagTokenIter<'_>) -> Result<Expression> {
    arguments
        .expect_next("\":\" expected.")?
        .expect_str(":")
        .into_result_custom_msg("\":\" expected.")?;
    arguments
        .expect_next("Value expected.")?
        .expect_value()
        .into_result()
}

impl ParseBlock for LaxFor {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut tokens: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let var_name = arguments
            .expect_next("Identifier expected.")?
            .expect_identifier()
            .into_result()?;
        arguments
            .expect_next("\"in\" expected.")?
            .expect_str("in")
            .into_result_custom_msg("\"in\" expected.")?;
        let range = arguments.expect_next("Array or range expected.")?;
        let range = match range.expect_value() {
            TryMatchToken::Matches(array) => Range::Array(array),
            TryMatchToken::Fails(range) => match range.expect_range() {
                TryMatchToken::Matches((start, stop)) => Range::Counted(start, stop),
                TryMatchToken::Fails(range) => return range.raise_error().into_err(),
            },
        };
        let (mut limit, mut offset, mut reversed) = (None, None, false);
        while let Some(token) = arguments.next() {
            match token.as_str() {
                "limit" => limit = Some(attribute(&mut arguments)?),
                "offset" => offset = Some(attribute(&mut arguments)?),
                "reversed" => reversed = true,
                _ => {
                    return token
                        .raise_custom_error("\"limit\", \"offset\" or \"reversed\" expected.")
                        .into_err()
                }
            }
        }
        let mut item = Vec::new();
        let mut otherwise = None;
        while let Some(element) = tokens.next()? {
            match element {
                BlockElement::Tag(mut tag) if tag.name() == "else" => {
                    tag.tokens().expect_nothing()?;
                    otherwise = Some(Template::new(tokens.parse_all(options)?));
                    break;
                }
                element => item.push(element.parse(&mut tokens, options)?),
            }
        }
        tokens.assert_empty();
        Ok(Box::new(For {
            var_name: KString::from_ref(var_name),
            range,
            item: Template::new(item),
            otherwise,
            limit,
            offset,
            reversed,
        }))
    }
    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

/// A whole number from a value, as Liquid's `to_i` takes it.
fn whole(value: &dyn ValueView) -> Option<i64> {
    let scalar = value.as_scalar()?;
    scalar
        .to_integer()
        .or_else(|| scalar.to_float().map(|f| f as i64))
        .or_else(|| scalar.to_kstr().trim().parse().ok())
}

#[derive(Debug, liquid_core::ValueView, liquid_core::ObjectView)]
struct Forloop<'p> {
    length: i64,
    parentloop: Option<&'p dyn ValueView>,
    index0: i64,
    index: i64,
    rindex0: i64,
    rindex: i64,
    first: bool,
    last: bool,
}

impl Renderable for For {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let items: Vec<liquid_core::ValueCow<'_>> = match &self.range {
            Range::Array(expression) => {
                let value = expression.evaluate(runtime)?;
                match value {
                    liquid_core::ValueCow::Owned(v) => match v {
                        Value::Array(a) => {
                            a.into_iter().map(liquid_core::ValueCow::Owned).collect()
                        }
                        Value::Object(o) => super::filters::sorted(&o)
                            .into_iter()
                            .map(|(k, v)| {
                                liquid_core::ValueCow::Owned(Value::Array(vec![
                                    Value::scalar(k.to_string()),
                                    v.clone(),
                                ]))
                            })
                            .collect(),
                        Value::Nil | Value::State(_) => Vec::new(),
                        other => vec![liquid_core::ValueCow::Owned(other)],
                    },
                    liquid_core::ValueCow::Borrowed(v) => {
                        if let Some(a) = v.as_array() {
                            a.values().map(liquid_core::ValueCow::Borrowed).collect()
                        } else if let Some(o) = v.as_object() {
                            let mut entries: Vec<_> = o.iter().collect();
                            entries.sort_by(|a, b| a.0.cmp(&b.0));
                            entries
                                .into_iter()
                                .map(|(k, v)| {
                                    liquid_core::ValueCow::Owned(Value::Array(vec![
                                        Value::scalar(k.into_owned()),
                                        v.to_value(),
                                    ]))
                                })
                                .collect()
                        } else if v.is_nil() || v.is_state() {
                            Vec::new()
                        } else {
                            vec![liquid_core::ValueCow::Borrowed(v)]
                        }
                    }
                }
            }
            Range::Counted(start, stop) => {
                let start = whole(start.evaluate(runtime)?.as_view()).unwrap_or(0);
                let stop = whole(stop.evaluate(runtime)?.as_view()).unwrap_or(0);
                if stop.saturating_sub(start) > 1_000_000 {
                    return Err(Error::with_msg("range of more than a million numbers"));
                }
                (start..=stop)
                    .map(|n| liquid_core::ValueCow::Owned(Value::scalar(n)))
                    .collect()
            }
        };
        let number = |e: &Option<Expression>| -> Result<Option<i64>> {
            match e {
                Some(e) => Ok(whole(e.evaluate(runtime)?.as_view())),
                None => Ok(None),
            }
        };
        let offset = number(&self.offset)?.unwrap_or(0).max(0) as usize;
        let limit = number(&self.limit)?.map(|l| l.max(0) as usize);
        let mut items: Vec<_> = items.into_iter().skip(offset).collect();
        if let Some(limit) = limit {
            items.truncate(limit);
        }
        if self.reversed {
            items.reverse();
        }
        if items.is_empty() {
            if let Some(t) = &self.otherwise {
                t.render_to(writer, runtime)?;
            }
            return Ok(());
        }
        let parentloop = runtime.try_get(&[Scalar::new("forloop")]);
        let parentloop = parentloop.as_ref().map(|v| v.as_view());
        let len = items.len() as i64;
        for (i, item) in items.iter().enumerate() {
            let i = i as i64;
            let forloop = Forloop {
                length: len,
                parentloop,
                index0: i,
                index: i + 1,
                rindex0: len - i - 1,
                rindex: len - i,
                first: i == 0,
                last: i == len - 1,
            };
            let mut root: HashMap<KStringRef<'_>, &dyn ValueView> = HashMap::new();
            root.insert("forloop".into(), &forloop);
            root.insert(self.var_name.as_ref(), item.as_view());
            let scope = Lax(StackFrame::new(runtime, &root));
            self.item.render_to(writer, &scope)?;
            let interrupt = scope.registers().get_mut::<InterruptRegister>().reset();
            if let Some(Interrupt::Break) = interrupt {
                break;
            }
        }
        Ok(())
    }
}

//! Jekyll's filters that the `liquid` crate does not have (or has with other rules): URLs, dates,
//! escaping, `markdownify`, `where`, `group_by`, `sort`, `jsonify`, `inspect` and the rest.

use crate::yaml::inspect_string;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use liquid_core::model::{KStringRef, Value, ValueView};
use liquid_core::parser::{FilterArguments, ParameterReflection};
use liquid_core::runtime::StackFrame;
use liquid_core::{
    Error, Expression, Filter, FilterReflection, Language, ParseFilter, Renderable, Result,
    Runtime, Template,
};

use super::{shared, Lax};
use crate::collect::Markup;

type Function = fn(&dyn ValueView, &[Value], &dyn Runtime) -> Result<Value>;

/// A filter: its name, the function and how many arguments it takes.
#[derive(Clone)]
struct Jekyll {
    name: &'static str,
    function: Function,
    min: usize,
    max: usize,
}

impl FilterReflection for Jekyll {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "Jekyll's filter"
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for Jekyll {
    fn parse(&self, arguments: FilterArguments<'_>) -> Result<Box<dyn Filter>> {
        let args: Vec<Expression> = arguments.positional.collect();
        if arguments.keyword.count() > 0 {
            return Err(Error::with_msg(format!(
                "filter `{}` takes no keyword arguments",
                self.name
            )));
        }
        if args.len() < self.min || args.len() > self.max {
            return Err(Error::with_msg(format!(
                "filter `{}` takes {} to {} arguments, not {}",
                self.name,
                self.min,
                self.max,
                args.len()
            )));
        }
        Ok(Box::new(Parsed {
            name: self.name,
            function: self.function,
            args,
        }))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

struct Parsed {
    name: &'static str,
    function: Function,
    args: Vec<Expression>,
}

impl fmt::Debug for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self)
    }
}

impl fmt::Display for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        for (i, a) in self.args.iter().enumerate() {
            write!(f, "{}{a}", if i == 0 { ": " } else { ", " })?;
        }
        Ok(())
    }
}

impl Filter for Parsed {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        let args = self
            .args
            .iter()
            .map(|a| a.evaluate(runtime).map(|v| v.into_owned()))
            .collect::<Result<Vec<Value>>>()?;
        (self.function)(input, &args, runtime)
    }
}

pub(crate) fn register(lang: &mut Language) {
    let filters: [(&'static str, Function, usize, usize); 27] = [
        ("relative_url", relative_url, 0, 0),
        ("absolute_url", absolute_url, 0, 0),
        ("date_to_xmlschema", date_to_xmlschema, 0, 0),
        ("date_to_rfc822", date_to_rfc822, 0, 0),
        ("date_to_string", date_to_string, 0, 2),
        ("date_to_long_string", date_to_long_string, 0, 2),
        ("xml_escape", xml_escape, 0, 0),
        ("cgi_escape", cgi_escape, 0, 0),
        ("uri_escape", uri_escape, 0, 0),
        ("number_of_words", number_of_words, 0, 1),
        ("markdownify", markdownify, 0, 0),
        ("smartify", smartify, 0, 0),
        ("jsonify", jsonify, 0, 0),
        ("where", where_filter, 2, 2),
        ("where_exp", where_exp, 2, 2),
        ("find", find, 2, 2),
        ("find_exp", find_exp, 2, 2),
        ("group_by", group_by, 1, 1),
        ("group_by_exp", group_by_exp, 2, 2),
        ("sort", sort, 0, 2),
        ("sample", sample, 0, 1),
        ("to_integer", to_integer, 0, 0),
        ("normalize_whitespace", normalize_whitespace, 0, 0),
        ("inspect", inspect, 0, 0),
        ("strip_index", strip_index, 0, 0),
        ("map", map, 1, 1),
        ("date", date, 0, 1),
    ];
    for (name, function, min, max) in filters {
        lang.filters.register(
            name.to_string(),
            Box::new(Jekyll {
                name,
                function,
                min,
                max,
            }),
        );
    }
}

fn text(value: &dyn ValueView) -> String {
    if value.is_nil() {
        String::new()
    } else {
        value.to_kstr().to_string()
    }
}

/// Addressable's `normalize` as far as it shows: characters outside URLs percent-encoded, an
/// empty path after a host made `/`.
fn normalize_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?#[]%".contains(c) {
            out.push(c);
        } else {
            let mut buffer = [0; 4];
            for b in c.encode_utf8(&mut buffer).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    if let Some(scheme_end) = out.find("://") {
        let after = &out[scheme_end + 3..];
        if !after.contains(['/', '?', '#']) {
            out.push('/');
        }
    }
    out
}

fn is_absolute(url: &str) -> bool {
    url.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

fn relative_url(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    if input.is_nil() {
        return Ok(Value::Nil);
    }
    let input = text(input);
    if is_absolute(&input) {
        return Ok(Value::scalar(input));
    }
    let baseurl = shared().map(|s| s.baseurl.clone()).unwrap_or_default();
    Ok(Value::scalar(normalize_url(&super::tags::relative_url(
        &baseurl, &input,
    ))))
}

fn absolute_url(input: &dyn ValueView, _: &[Value], runtime: &dyn Runtime) -> Result<Value> {
    if input.is_nil() {
        return Ok(Value::Nil);
    }
    let raw = text(input);
    if is_absolute(&raw) {
        return Ok(Value::scalar(raw));
    }
    let relative = relative_url(input, &[], runtime)?;
    let url = shared().map(|s| s.url.clone()).unwrap_or_default();
    if url.is_empty() {
        return Ok(relative);
    }
    Ok(Value::scalar(normalize_url(&format!(
        "{url}{}",
        text(&relative)
    ))))
}

/// A value as a time in the site's zone, as Jekyll's date filters take it.
fn time(input: &dyn ValueView) -> Option<DateTime<FixedOffset>> {
    let tz = shared().map_or(chrono_tz::UTC, |s| s.timezone);
    let scalar = input.as_scalar()?;
    let parsed = match scalar.to_date_time() {
        Some(d) => DateTime::parse_from_str(&d.to_string(), "%Y-%m-%d %H:%M:%S%.f %z").ok(),
        None => parse_time(scalar.to_kstr().trim()),
    };
    parsed.map(|d| d.with_timezone(&tz).fixed_offset())
}

/// A time written as Ruby's `Time.parse` reads the usual forms; without an offset, in the site's
/// zone.
fn parse_time(text: &str) -> Option<DateTime<FixedOffset>> {
    let tz = shared().map_or(chrono_tz::UTC, |s| s.timezone);
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Some(d);
    }
    for format in [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%dT%H:%M:%S%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(text, format) {
            return Some(d);
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(text, format) {
            return tz
                .from_local_datetime(&d)
                .earliest()
                .map(|d| d.fixed_offset());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let d = d.and_hms_opt(0, 0, 0)?;
        return tz
            .from_local_datetime(&d)
            .earliest()
            .map(|d| d.fixed_offset());
    }
    None
}

fn date_filter(
    input: &dyn ValueView,
    f: impl FnOnce(DateTime<FixedOffset>) -> String,
) -> Result<Value> {
    if input.is_nil() || text(input).is_empty() {
        return Ok(input.to_value());
    }
    match time(input) {
        Some(t) => Ok(Value::scalar(f(t))),
        None => Err(Error::with_msg(format!(
            "invalid date `{}`",
            input.to_kstr()
        ))),
    }
}

fn date_to_xmlschema(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    date_filter(input, |t| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

fn date_to_rfc822(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    date_filter(input, |t| t.format("%a, %d %b %Y %H:%M:%S %z").to_string())
}

fn ordinal(day: u32) -> &'static str {
    if (11..=13).contains(&(day % 100)) {
        return "th";
    }
    match day % 10 {
        1 => "st",
        2 => "nd",
        3 => "rd",
        _ => "th",
    }
}

fn stringify_date(input: &dyn ValueView, args: &[Value], month: &str) -> Result<Value> {
    let kind = args.first().map(|a| text(a)).unwrap_or_default();
    let style = args.get(1).map(|a| text(a)).unwrap_or_default();
    date_filter(input, |t| {
        if kind == "ordinal" {
            let day = format!("{}{}", t.day(), ordinal(t.day()));
            if style == "US" {
                t.format(&format!("{month} {day}, %Y")).to_string()
            } else {
                t.format(&format!("{day} {month} %Y")).to_string()
            }
        } else {
            t.format(&format!("%d {month} %Y")).to_string()
        }
    })
}

fn date_to_string(input: &dyn ValueView, args: &[Value], _: &dyn Runtime) -> Result<Value> {
    stringify_date(input, args, "%b")
}

fn date_to_long_string(input: &dyn ValueView, args: &[Value], _: &dyn Runtime) -> Result<Value> {
    stringify_date(input, args, "%B")
}

fn xml_escape(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    if input.is_nil() {
        return Ok(Value::Nil);
    }
    Ok(Value::scalar(crate::escape::attribute(&text(input))))
}

fn percent_encode(input: &str, keep: impl Fn(char) -> bool, space: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if keep(c) {
            out.push(c);
        } else if c == ' ' {
            out.push_str(space);
        } else {
            let mut buffer = [0; 4];
            for b in c.encode_utf8(&mut buffer).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn cgi_escape(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    let keep = |c: char| c.is_ascii_alphanumeric() || "_.-~".contains(c);
    Ok(Value::scalar(percent_encode(&text(input), keep, "+")))
}

fn uri_escape(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    let keep = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?#[]%".contains(c);
    Ok(Value::scalar(percent_encode(&text(input), keep, "%20")))
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF | 0x2E80..=0x2FDF | 0x3000..=0x303F | 0x3040..=0x30FF | 0x3130..=0x318F
        | 0x3190..=0x31FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7AF
        | 0xD7B0..=0xD7FF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FA1F)
}

fn number_of_words(input: &dyn ValueView, args: &[Value], _: &dyn Runtime) -> Result<Value> {
    let input = text(input);
    let mode = args.first().map(|a| text(a)).unwrap_or_default();
    let cjk_count = input.chars().filter(|c| is_cjk(*c)).count();
    let count = match mode.as_str() {
        "cjk" => cjk_count + words_without_cjk(&input),
        "auto" if cjk_count > 0 => cjk_count + words_without_cjk(&input),
        _ => input.split_whitespace().count(),
    };
    Ok(Value::scalar(count as i64))
}

fn words_without_cjk(input: &str) -> usize {
    let rest: String = input
        .chars()
        .map(|c| if is_cjk(c) { ' ' } else { c })
        .collect();
    rest.split_whitespace().count()
}

fn markdownify(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    Ok(Value::scalar(crate::collect::body::render(
        &text(input),
        Markup::Markdown,
    )))
}

/// SmartyPants as kramdown does it: curly quotes, en and em dashes, ellipses.
fn smartify(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    let input = text(input);
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let previous = if i == 0 { None } else { Some(chars[i - 1]) };
        let opens = previous.is_none_or(|p| p.is_whitespace() || "([{-–—".contains(p));
        match c {
            '-' if chars.get(i + 1) == Some(&'-') && chars.get(i + 2) == Some(&'-') => {
                out.push('—');
                i += 3;
                continue;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                out.push('–');
                i += 2;
                continue;
            }
            '.' if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') => {
                out.push('…');
                i += 3;
                continue;
            }
            '"' => out.push(if opens { '“' } else { '”' }),
            '\'' => out.push(if opens { '‘' } else { '’' }),
            c => crate::escape::push_text_char(c, &mut out),
        }
        i += 1;
    }
    Ok(Value::scalar(out))
}

fn jsonify(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    let json = to_json(&input.to_value());
    Ok(Value::scalar(json.to_string()))
}

fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Nil | Value::State(_) => J::Null,
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Object(object) => J::Object(
            sorted(object)
                .into_iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
        Value::Scalar(s) => {
            if let Some(b) = s.to_bool() {
                if s.type_name() == "boolean" {
                    return J::Bool(b);
                }
            }
            match s.type_name() {
                "whole number" => s.to_integer().map_or(J::Null, J::from),
                "fractional number" => s
                    .to_float()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(J::Null, J::Number),
                _ => J::String(s.to_kstr().to_string()),
            }
        }
    }
}

/// The items of an array, or the values of an object.
fn items(input: &dyn ValueView) -> Vec<Value> {
    if let Some(a) = input.as_array() {
        a.values().map(|v| v.to_value()).collect()
    } else if let Some(o) = input.as_object() {
        o.values().map(|v| v.to_value()).collect()
    } else if input.is_nil() {
        Vec::new()
    } else {
        vec![input.to_value()]
    }
}

/// `item[property]`, with dots going into nested objects.
fn property(item: &Value, property: &str) -> Value {
    let mut current = item.clone();
    for key in property.split('.') {
        current = match &current {
            Value::Object(o) => o.get(key).cloned().unwrap_or(Value::Nil),
            Value::Array(a) => key
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get(i).cloned())
                .unwrap_or(Value::Nil),
            _ => Value::Nil,
        };
    }
    current
}

/// Jekyll's `compare_property_vs_target`.
fn matches_target(value: &Value, target: &Value) -> bool {
    match target {
        Value::Nil => value.is_nil(),
        Value::State(_) => {
            let joined = match value {
                Value::Array(a) => a.iter().map(|v| text(v)).collect::<String>(),
                v => text(v),
            };
            joined.is_empty()
        }
        target => {
            let target = text(target);
            match value {
                Value::Array(a) => a.iter().any(|v| text(v) == target),
                Value::Nil => false,
                v => text(v) == target,
            }
        }
    }
}

fn where_filter(input: &dyn ValueView, args: &[Value], _: &dyn Runtime) -> Result<Value> {
    let (name, target) = (text(&args[0]), &args[1]);
    if name.is_empty() || target.as_array().is_some() || target.as_object().is_some() {
        return Ok(input.to_value());
    }
    Ok(Value::Array(
        items(input)
            .into_iter()
            .filter(|item| matches_target(&property(item, &name), target))
            .collect(),
    ))
}

fn find(input: &dyn ValueView, args: &[Value], _: &dyn Runtime) -> Result<Value> {
    let (name, target) = (text(&args[0]), &args[1]);
    Ok(items(input)
        .into_iter()
        .find(|item| matches_target(&property(item, &name), target))
        .unwrap_or(Value::Nil))
}

/// A condition (`item.x == 1 and item.y`) parsed once and tested for each item.
struct Condition {
    variable: String,
    template: Template,
}

impl Condition {
    fn new(variable: &Value, expression: &Value) -> Result<Condition> {
        let shared = shared().ok_or_else(|| Error::with_msg("no site"))?;
        let source = format!("{{% if {} %}}1{{% endif %}}", text(expression));
        let parsed = liquid_core::parser::parse(&source, &shared.language)?;
        Ok(Condition {
            variable: text(variable),
            template: Template::new(parsed),
        })
    }

    fn test(&self, item: &Value, runtime: &dyn Runtime) -> Result<bool> {
        let mut frame: HashMap<KStringRef<'_>, &dyn ValueView> = HashMap::new();
        frame.insert(self.variable.as_str().into(), item);
        let scope = Lax(StackFrame::new(runtime, &frame));
        let mut out = Vec::new();
        self.template.render_to(&mut out, &scope)?;
        Ok(out == b"1")
    }
}

fn where_exp(input: &dyn ValueView, args: &[Value], runtime: &dyn Runtime) -> Result<Value> {
    let condition = Condition::new(&args[0], &args[1])?;
    let mut kept = Vec::new();
    for item in items(input) {
        if condition.test(&item, runtime)? {
            kept.push(item);
        }
    }
    Ok(Value::Array(kept))
}

fn find_exp(input: &dyn ValueView, args: &[Value], runtime: &dyn Runtime) -> Result<Value> {
    let condition = Condition::new(&args[0], &args[1])?;
    for item in items(input) {
        if condition.test(&item, runtime)? {
            return Ok(item);
        }
    }
    Ok(Value::Nil)
}

fn groups(pairs: Vec<(String, Value)>) -> Value {
    let mut order: Vec<String> = Vec::new();
    let mut by_key: HashMap<String, Vec<Value>> = HashMap::new();
    for (key, item) in pairs {
        if !by_key.contains_key(&key) {
            order.push(key.clone());
        }
        by_key.entry(key).or_default().push(item);
    }
    Value::Array(
        order
            .into_iter()
            .map(|key| {
                let items = by_key.remove(&key).unwrap_or_default();
                let mut group = liquid_core::Object::new();
                group.insert("name".into(), Value::scalar(key));
                group.insert("size".into(), Value::scalar(items.len() as i64));
                group.insert("items".into(), Value::Array(items));
                Value::Object(group)
            })
            .collect(),
    )
}

fn group_by(input: &dyn ValueView, args: &[Value], _: &dyn Runtime) -> Result<Value> {
    let name = text(&args[0]);
    Ok(groups(
        items(input)
            .into_iter()
            .map(|item| (text(&property(&item, &name)), item))
            .collect(),
    ))
}

fn group_by_exp(input: &dyn ValueView, args: &[Value], runtime: &dyn Runtime) -> Result<Value> {
    let shared = shared().ok_or_else(|| Error::with_msg("no site"))?;
    let source = format!("{{{{ {} }}}}", text(&args[1]));
    let template = Template::new(liquid_core::parser::parse(&source, &shared.language)?);
    let variable = text(&args[0]);
    let mut pairs = Vec::new();
    for item in items(input) {
        let mut frame: HashMap<KStringRef<'_>, &dyn ValueView> = HashMap::new();
        frame.insert(variable.as_str().into(), &item);
        let scope = Lax(StackFrame::new(runtime, &frame));
        let mut out = Vec::new();
        template.render_to(&mut out, &scope)?;
        pairs.push((String::from_utf8_lossy(&out).into_owned(), item.clone()));
    }
    Ok(groups(pairs))
}

/// Ruby's `<=>` for the values Liquid holds: numbers as numbers, the rest as text.
fn compare(a: &Value, b: &Value) -> Ordering {
    let number = |v: &Value| {
        v.as_scalar()
            .filter(|s| matches!(s.type_name(), "whole number" | "fractional number"))
            .and_then(|s| s.to_float())
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => text(a).cmp(&text(b)),
    }
}

fn sort(input: &dyn ValueView, args: &[Value], _: &dyn Runtime) -> Result<Value> {
    if input.is_nil() {
        return Err(Error::with_msg("Cannot sort a null object."));
    }
    let mut list = items(input);
    match args.first() {
        None => list.sort_by(compare),
        Some(name) => {
            let name = text(name);
            let nils_last = args.get(1).is_some_and(|n| text(n) == "last");
            list.sort_by(|a, b| {
                let (x, y) = (property(a, &name), property(b, &name));
                match (x.is_nil(), y.is_nil()) {
                    (true, true) => Ordering::Equal,
                    (true, false) if nils_last => Ordering::Greater,
                    (true, false) => Ordering::Less,
                    (false, true) if nils_last => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    _ => compare(&x, &y),
                }
            });
        }
    }
    Ok(Value::Array(list))
}

fn sample(input: &dyn ValueView, args: &[Value], _: &dyn Runtime) -> Result<Value> {
    use std::hash::{BuildHasher, RandomState};
    let list = items(input);
    if list.is_empty() {
        return Ok(if args.is_empty() {
            Value::Nil
        } else {
            Value::Array(Vec::new())
        });
    }
    let random = |n: usize, salt: usize| (RandomState::new().hash_one(salt) as usize) % n;
    match args.first() {
        None => Ok(list[random(list.len(), 0)].clone()),
        Some(count) => {
            let count = count
                .as_scalar()
                .and_then(|s| s.to_integer())
                .unwrap_or(1)
                .max(0) as usize;
            let mut pool = list;
            let mut picked = Vec::new();
            while picked.len() < count && !pool.is_empty() {
                let i = random(pool.len(), picked.len());
                picked.push(pool.swap_remove(i));
            }
            Ok(Value::Array(picked))
        }
    }
}

fn to_integer(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    let Some(s) = input.as_scalar() else {
        return Ok(Value::scalar(0i64));
    };
    if s.type_name() == "boolean" {
        return Ok(Value::scalar(i64::from(s.to_bool().unwrap_or(false))));
    }
    if let Some(i) = s.to_integer() {
        return Ok(Value::scalar(i));
    }
    if s.type_name() == "fractional number" {
        return Ok(Value::scalar(s.to_float().unwrap_or(0.0) as i64));
    }
    // Ruby's `to_i`: the leading digits.
    let text = s.to_kstr();
    let t = text.trim_start();
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = digits
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .filter(|c| *c != '_')
        .collect();
    Ok(Value::scalar(sign * digits.parse::<i64>().unwrap_or(0)))
}

fn normalize_whitespace(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    Ok(Value::scalar(
        text(input).split_whitespace().collect::<Vec<_>>().join(" "),
    ))
}

/// Ruby's `inspect` of a value.
fn ruby_inspect(value: &Value) -> String {
    match value {
        Value::Nil | Value::State(_) => "nil".to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(ruby_inspect)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            sorted(o)
                .into_iter()
                .map(|(k, v)| format!("{}=>{}", inspect_string(k), ruby_inspect(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Scalar(s) => match s.type_name() {
            "whole number" | "boolean" | "date time" | "date" => s.to_kstr().to_string(),
            "fractional number" => {
                let f = s.to_float().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 1e16 {
                    format!("{f:.1}")
                } else {
                    f.to_string()
                }
            }
            _ => inspect_string(&s.to_kstr()),
        },
    }
}

fn inspect(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    Ok(Value::scalar(ruby_inspect(&input.to_value())))
}

/// Jekyll 4.3's `strip_index`: `/a/index.html` as `/a/`.
fn strip_index(input: &dyn ValueView, _: &[Value], _: &dyn Runtime) -> Result<Value> {
    let t = text(input);
    for suffix in ["/index.html", "/index.htm"] {
        if let Some(rest) = t.strip_suffix(suffix) {
            return Ok(Value::scalar(format!("{rest}/")));
        }
    }
    Ok(input.to_value())
}

/// Liquid's `map`: the property of each item, an object taken as a list of one, nested lists
/// flattened.
fn map(input: &dyn ValueView, args: &[Value], _: &dyn Runtime) -> Result<Value> {
    let name = text(&args[0]);
    fn flatten(value: Value, out: &mut Vec<Value>) {
        match value {
            Value::Array(items) => items.into_iter().for_each(|v| flatten(v, out)),
            Value::Nil => {}
            v => out.push(v),
        }
    }
    let mut list = Vec::new();
    flatten(input.to_value(), &mut list);
    Ok(Value::Array(
        list.into_iter()
            .map(|item| match &item {
                Value::Object(o) => o.get(name.as_str()).cloned().unwrap_or(Value::Nil),
                _ => Value::Nil,
            })
            .collect(),
    ))
}

/// An object's entries by key: Liquid's objects forget the order they were written in, and a
/// feed must not change from one run to the next.
pub(crate) fn sorted(object: &liquid_core::Object) -> Vec<(&str, &Value)> {
    let mut entries: Vec<(&str, &Value)> = object.iter().map(|(k, v)| (k.as_str(), v)).collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Liquid's `date`: the value as a time (a date value, a date string, a timestamp, `now`) in
/// Ruby's `strftime` format; the value unchanged when it is not a time or the format is empty.
fn date(input: &dyn ValueView, args: &[Value], _: &dyn Runtime) -> Result<Value> {
    let format = args.first().map(|a| text(a)).unwrap_or_default();
    if format.is_empty() || input.is_nil() {
        return Ok(input.to_value());
    }
    let Some(scalar) = input.as_scalar() else {
        return Ok(input.to_value());
    };
    if matches!(
        scalar.to_kstr().trim().to_ascii_lowercase().as_str(),
        "now" | "today"
    ) {
        super::read_clock();
    }
    let when = match scalar.to_date_time() {
        Some(d) => Some(d),
        None => {
            let as_text = scalar.to_kstr();
            if let Some(seconds) = scalar.to_integer() {
                liquid_core::model::DateTime::from_str(&seconds.to_string())
            } else {
                parse_time(as_text.trim()).and_then(|t| {
                    liquid_core::model::DateTime::from_str(
                        &t.format("%Y-%m-%d %H:%M:%S%.f %z").to_string(),
                    )
                })
            }
        }
    };
    match when {
        Some(d) => d
            .format(&format)
            .map(Value::scalar)
            .map_err(|_| Error::with_msg(format!("invalid date format `{format}`"))),
        None => Ok(input.to_value()),
    }
}

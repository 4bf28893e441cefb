//! `subscribe.html`: the sign-up form of `gazette serve` as a snippet a site pastes into its
//! layout, written by `gazette build` beside `feeds.html` when `digest: serve_url` is set.
//!
//! A plain HTML fragment, no script and no style of its own: a `<form>` that posts to
//! `{serve_url}/subscribe` the fields the service reads (`address`, optional `name`, the site's
//! categories as `categories` checkboxes, and `return_to`, the site's root, for the page's
//! "back" link). Its categories are the service's: those of the posts that are not drafts, in
//! `digest: category_order` and then by the name shown, so that every box is one the service
//! accepts. Every value is escaped; the same site gives the same bytes.
//!
//! The feed stage reads `digest:` as written (it imports nothing of the digest): `serve_url`,
//! checked as the service checks it, and `category_order`.

use std::collections::BTreeSet;

use serde_yaml::Value;

use super::Context;
use crate::collect::Post;
use crate::escape::{attribute, text};
use crate::problem::{Position, Problem};

/// The snippet's file, beside `feeds.html`.
pub const FILE: &str = "subscribe.html";

/// `digest: serve_url` as the service's public address without a trailing `/`: `Ok(None)` when
/// unset, an error when it is no plain `http://` or `https://` URL (as `gazette serve` refuses
/// it too).
fn serve_url(digest: &Value) -> Result<Option<String>, String> {
    let Some(value) = digest.get("serve_url") else {
        return Ok(None);
    };
    let Some(text) = value.as_str() else {
        return match value {
            Value::Null => Ok(None),
            _ => Err("digest.serve_url is not a text".into()),
        };
    };
    crate::config::plain_service_url(text).map(Some)
}

/// The snippet's texts: Chinese for a `zh…` site, else English (as the service's pages).
struct Texts {
    address: &'static str,
    name: &'static str,
    categories: &'static str,
    hint: &'static str,
    button: &'static str,
}

fn texts(lang: Option<&str>) -> Texts {
    let zh = lang.is_some_and(|l| l.trim().to_ascii_lowercase().starts_with("zh"));
    if zh {
        Texts {
            address: "电子邮件地址",
            name: "称呼（可选）",
            categories: "栏目",
            hint: "不选则接收全部栏目。",
            button: "订阅每周摘要",
        }
    } else {
        Texts {
            address: "Email address",
            name: "Name (optional)",
            categories: "Categories",
            hint: "Choose none to get every category.",
            button: "Subscribe to the weekly digest",
        }
    }
}

/// The categories the service offers: those of posts that are not drafts, as (name, shown),
/// `category_order` first, then by the name shown.
fn categories(posts: &[Post], ctx: &Context<'_>) -> Vec<(String, String)> {
    let names: BTreeSet<&String> = posts
        .iter()
        .filter(|p| !p.draft)
        .flat_map(|p| p.categories.iter())
        .collect();
    let order: Vec<&str> = ctx
        .config
        .gazette
        .digest
        .get("category_order")
        .and_then(Value::as_sequence)
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out: Vec<(String, String)> = names
        .into_iter()
        .map(|name| {
            let shown = ctx
                .config
                .gazette
                .category_names
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.clone());
            (name.clone(), shown)
        })
        .collect();
    let rank = |name: &str| order.iter().position(|o| *o == name).unwrap_or(usize::MAX);
    out.sort_by(|a, b| (rank(&a.0), &a.1).cmp(&(rank(&b.0), &b.1)));
    out
}

/// The snippet's bytes, when `digest: serve_url` is set; a warning (and no snippet) when it is
/// set to something the service would refuse.
pub(crate) fn snippet(posts: &[Post], ctx: &Context<'_>) -> (Option<Vec<u8>>, Option<Problem>) {
    let service = match serve_url(&ctx.config.gazette.digest) {
        Ok(Some(service)) => service,
        Ok(None) => return (None, None),
        Err(e) => {
            let config = &ctx.config.path;
            let warning = Problem::warning(
                config,
                Position::START,
                format!("{e}: no {FILE} is written"),
            );
            return (None, Some(warning));
        }
    };
    let t = texts(ctx.config.lang.as_deref());
    let mut out = format!(
        "<form class=\"gazette-subscribe\" method=\"post\" action=\"{}\" accept-charset=\"utf-8\">\n",
        attribute(&format!("{service}/subscribe"))
    );
    out.push_str(&format!(
        "<p><label for=\"gazette-address\">{}</label><br>\n\
         <input id=\"gazette-address\" name=\"address\" type=\"email\" required maxlength=\"254\" autocomplete=\"email\"></p>\n",
        text(t.address)
    ));
    out.push_str(&format!(
        "<p><label for=\"gazette-name\">{}</label><br>\n\
         <input id=\"gazette-name\" name=\"name\" type=\"text\" maxlength=\"100\" autocomplete=\"name\"></p>\n",
        text(t.name)
    ));
    let categories = categories(posts, ctx);
    if !categories.is_empty() {
        out.push_str(&format!(
            "<fieldset>\n<legend>{}</legend>\n<p>{}</p>\n",
            text(t.categories),
            text(t.hint)
        ));
        // One a line: browsers may wrap a line between a box and its name.
        for (name, shown) in &categories {
            out.push_str(&format!(
                "<label><input type=\"checkbox\" name=\"categories\" value=\"{}\"> {}</label><br>\n",
                attribute(name),
                text(shown)
            ));
        }
        out.push_str("</fieldset>\n");
    }
    out.push_str(&format!(
        "<input type=\"hidden\" name=\"return_to\" value=\"{}\">\n",
        attribute(ctx.root.as_str())
    ));
    out.push_str(&format!(
        "<p><button type=\"submit\">{}</button></p>\n</form>\n",
        text(t.button)
    ));
    (Some(out.into_bytes()), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn serve_url_is_checked_as_the_service_checks_it() {
        assert_eq!(serve_url(&Value::Null), Ok(None));
        assert_eq!(serve_url(&yaml("from: a@b.c")), Ok(None));
        assert_eq!(
            serve_url(&yaml("serve_url: https://news.example.org/newsletter/")),
            Ok(Some("https://news.example.org/newsletter".into()))
        );
        for bad in [
            "serve_url: ftp://x.example/",
            "serve_url: https://u:p@x.example/",
            "serve_url: https://x.example/?a=1",
            "serve_url: not a url",
            "serve_url: [1]",
        ] {
            assert!(serve_url(&yaml(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts_follow_the_site_language() {
        assert_eq!(texts(Some("zh-CN")).button, "订阅每周摘要");
        assert_eq!(texts(Some("zh_TW")).address, "电子邮件地址");
        assert_eq!(texts(Some("en")).address, "Email address");
        assert_eq!(texts(None).name, "Name (optional)");
    }
}

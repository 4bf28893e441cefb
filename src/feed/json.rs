//! JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>), written with serde_json.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};

use super::{terms, updated, Context, Entry, Format, Plan};
use crate::config::Author;

fn author(a: &Author) -> Value {
    let mut v = json!({ "name": a.name.clone().or_else(|| a.email.clone()) });
    if let Some(uri) = &a.uri {
        v["url"] = json!(uri);
    }
    v
}

/// Writes one feed as JSON Feed 1.1.
pub fn write(plan: &Plan<'_>, entries: &HashMap<&Path, Entry>, ctx: &Context<'_>) -> Vec<u8> {
    let config = ctx.config;
    let items: Vec<Value> = plan
        .posts
        .iter()
        .map(|post| {
            let entry = &entries[post.source.as_path()];
            let mut item = json!({
                "id": post.id.clone().unwrap_or_else(|| post.url.clone()),
                "url": post.url,
                "title": entry.title,
                "content_html": entry.content_html,
                "summary": crate::collect::body::plain_text(&entry.summary_html),
                "date_published": post.date.to_rfc3339(),
                "date_modified": updated(post).to_rfc3339(),
                "tags": terms(post, config).map(|(t, _)| t).collect::<Vec<_>>(),
            });
            if let Some(a) = post.author.as_ref().or(config.author.as_ref()) {
                item["authors"] = json!([author(a)]);
            }
            if let Some(image) = &post.image {
                if let Ok(url) = url::Url::parse(&post.url).and_then(|b| b.join(image)) {
                    item["image"] = json!(url.as_str());
                }
            }
            item
        })
        .collect();
    let mut feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": plan.title,
        "home_page_url": ctx.root.as_str(),
        "feed_url": ctx.url_of(&plan.file(Format::Json)),
        "authors": [author(&ctx.site_author())],
        "items": items,
    });
    if let Some(d) = &config.description {
        feed["description"] = json!(d);
    }
    if let Some(lang) = &config.lang {
        feed["language"] = json!(lang);
    }
    if let Some(hub) = &config.gazette.hub {
        feed["hubs"] = json!([{ "type": "WebSub", "url": hub }]);
    }
    let mut bytes = serde_json::to_vec_pretty(&feed).expect("JSON values always serialise");
    bytes.push(b'\n');
    bytes
}

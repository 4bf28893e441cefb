//! JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>), written with serde_json.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};

use super::{entry_id, terms, updated, Context, Entry, Format, Plan};
use crate::collect::body::plain_text;
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
            let summary = plain_text(&entry.summary_html);
            // An item needs `content_html` or `content_text`: a post with no body has the text
            // of its summary.
            let (content_key, content) = if entry.content_html.is_empty() {
                ("content_text", summary.as_str())
            } else {
                ("content_html", entry.content_html.as_str())
            };
            let mut item = json!({
                "id": entry_id(post, &ctx.root),
                "url": post.url,
                "title": entry.title,
                content_key: content,
                "summary": summary,
                "date_published": post.date.to_rfc3339(),
                "date_modified": updated(post).to_rfc3339(),
                "tags": terms(post, config).map(|(t, _)| t).collect::<Vec<_>>(),
            });
            if let Some(a) = post.author.as_ref().or(config.author.as_ref()) {
                item["authors"] = json!([author(a)]);
            }
            if let Some(image) = super::image_url(post, &ctx.root) {
                item["image"] = json!(image);
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
    if let Some(lang) = ctx.language() {
        feed["language"] = json!(lang);
    }
    if let Some(hub) = &config.gazette.hub {
        feed["hubs"] = json!([{ "type": "WebSub", "url": hub }]);
    }
    let mut bytes = serde_json::to_vec_pretty(&feed).expect("JSON values always serialise");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::super::testing::{post, render_site};

    #[test]
    fn ids_are_uris_and_items_without_a_body_have_text() {
        let posts = [
            (
                "2022-02-01-a.md",
                post("title: A\nid: NW1\ndescription: \"x & y\"", ""),
            ),
            ("2022-02-02-b.md", post("title: B", "b")),
        ];
        let posts: Vec<(&str, &str)> = posts.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let (files, _) = render_site(
            "url: https://finews.example.com\ntimezone: UTC\ngazette:\n  json_feed: true\n",
            &posts,
        );
        let feed: serde_json::Value = serde_json::from_str(&files["feed.json"]).unwrap();
        let items = feed["items"].as_array().unwrap();
        assert_eq!(items[1]["id"], "tag:finews.example.com,2022:NW1");
        assert_eq!(items[1]["content_text"], "x & y");
        assert!(items[1].get("content_html").is_none());
        assert_eq!(items[0]["content_html"], "<p>b</p>\n");
    }
}

//! RSS 2.0 (crate `rss`; the module is `rss2` so as not to shadow the crate), with
//! `content:encoded`, `dc:creator` and `atom:link rel="self"`.

use std::collections::HashMap;
use std::path::Path;

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Guid, Item};

use super::xml::finish;
use super::{rfc822, term_text, terms, Context, Entry, Format, Plan};
use crate::collect::body::plain_text;
use crate::escape::xml_safe;

/// [`super::media_elements`] as the `rss` crate keeps extensions.
fn media(image: &str) -> std::collections::BTreeMap<String, Vec<rss::extension::Extension>> {
    super::media_elements(image)
        .into_iter()
        .map(|(name, elements)| {
            let elements = elements
                .into_iter()
                .map(|e| rss::extension::Extension {
                    name: e.name,
                    value: e.value,
                    attrs: e.attrs,
                    children: Default::default(),
                })
                .collect();
            (name, elements)
        })
        .collect()
}

/// Writes one feed as RSS 2.0.
pub fn write(plan: &Plan<'_>, entries: &HashMap<&Path, Entry>, ctx: &Context<'_>) -> Vec<u8> {
    let config = ctx.config;
    let items: Vec<Item> = plan
        .posts
        .iter()
        .map(|post| {
            let entry = &entries[post.source.as_path()];
            let author = post.author.as_ref().or(config.author.as_ref());
            let mut item = Item {
                title: Some(entry.title.clone()),
                link: Some(post.url.clone()),
                description: Some(entry.summary_html.clone()),
                content: (!entry.content_html.is_empty()).then(|| entry.content_html.clone()),
                guid: Some(match &post.id {
                    Some(id) => Guid {
                        value: xml_safe(id),
                        permalink: false,
                    },
                    None => Guid {
                        value: post.url.clone(),
                        permalink: true,
                    },
                }),
                pub_date: Some(rfc822(&post.date)),
                extensions: super::image_url(post, &ctx.root)
                    .map(|image| [("media".to_string(), media(&image))].into())
                    .unwrap_or_default(),
                categories: terms(post, config)
                    .map(|(term, _)| Category {
                        name: term_text(term),
                        domain: None,
                    })
                    .collect(),
                ..Item::default()
            };
            // RSS `author` is `email (Name)`; a name or an email alone goes to `dc:creator`
            // (validators and readers want the real name beside the address).
            if let Some(a) = author {
                let creator = match (&a.email, &a.name) {
                    (Some(email), Some(name)) => {
                        item.author = Some(xml_safe(&format!("{email} ({name})")));
                        None
                    }
                    (Some(only), None) | (None, Some(only)) => Some(only),
                    (None, None) => None,
                };
                if let Some(creator) = creator {
                    item.dublin_core_ext = Some(DublinCoreExtension {
                        creators: vec![xml_safe(creator)],
                        ..DublinCoreExtension::default()
                    });
                }
            }
            item
        })
        .collect();

    let self_url = ctx.url_of(&plan.file(Format::Rss));
    let mut links = vec![Link {
        href: self_url,
        rel: "self".into(),
        mime_type: Some(Format::Rss.media_type().into()),
        ..Link::default()
    }];
    if let Some(hub) = &config.gazette.hub {
        links.push(Link {
            href: hub.clone(),
            rel: "hub".into(),
            ..Link::default()
        });
    }
    let description = config
        .description
        .as_deref()
        .map(|d| xml_safe(&plain_text(d)))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| xml_safe(&plan.title));
    let channel = Channel {
        title: xml_safe(&plan.title),
        link: ctx.root.to_string(),
        description,
        language: ctx.language(),
        last_build_date: plan.posts.first().map(|p| rfc822(&p.date)),
        generator: Some("gazette".into()),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        atom_ext: Some(AtomExtension { links }),
        namespaces: if items.iter().any(|i| !i.extensions.is_empty()) {
            [("media".to_string(), super::MEDIA_NS.to_string())].into()
        } else {
            Default::default()
        },
        items,
        ..Channel::default()
    };
    let bytes = channel
        .write_to(Vec::new())
        .expect("writing to memory cannot fail");
    finish(bytes, config.gazette.stylesheet.as_deref())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{post, render_site};

    #[test]
    fn authors_and_dates() {
        let posts = [
            ("2022-03-01-a.md", post("title: A\ndate: 2022-03-01 10:00:00 +0545\nauthor: a@example.com", "a")),
            ("2022-03-02-b.md", post("title: B\ndate: 2022-03-02 10:00:00 +0800\nauthor: \"O'Brien <ob@example.com>\"", "b")),
            ("2022-03-03-c.md", post("title: C\ndate: 2022-03-03 10:00:00 +0800\nauthor: Cee", "c")),
        ];
        let posts: Vec<(&str, &str)> = posts.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let (files, _) = render_site("url: https://example.com\ntimezone: UTC\n", &posts);
        let rss = &files["feed.rss.xml"];
        // An email alone is no `author` (validators want a name beside it).
        assert!(
            rss.contains("<dc:creator>a@example.com</dc:creator>"),
            "{rss}"
        );
        assert!(!rss.contains("<author>a@example.com</author>"), "{rss}");
        assert!(
            rss.contains("<author>ob@example.com (O&apos;Brien)</author>"),
            "{rss}"
        );
        assert!(rss.contains("<dc:creator>Cee</dc:creator>"), "{rss}");
        assert!(
            rss.contains("<pubDate>Tue, 1 Mar 2022 04:15:00 +0000</pubDate>"),
            "{rss}"
        );
        assert!(
            rss.contains("<pubDate>Wed, 2 Mar 2022 10:00:00 +0800</pubDate>"),
            "{rss}"
        );
        assert!(rss.contains("<lastBuildDate>Thu, 3 Mar 2022 10:00:00 +0800</lastBuildDate>"));
    }

    #[test]
    fn front_matter_ids_stay_as_written_in_guids() {
        let posts = [("2022-02-01-a.md", post("title: A\nid: NW202202010001", "a"))];
        let posts: Vec<(&str, &str)> = posts.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let (files, _) = render_site("url: https://example.com\ntimezone: UTC\n", &posts);
        assert!(
            files["feed.rss.xml"].contains(r#"<guid isPermaLink="false">NW202202010001</guid>"#)
        );
    }
}

//! RSS 2.0 (crate `rss`), with `content:encoded`, `dc:creator` and `atom:link rel="self"`.

use std::collections::HashMap;
use std::path::Path;

use quick_xml::events::{BytesPI, Event};
use quick_xml::{Reader, Writer};
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Guid, Item};

use super::{html::xml_safe, terms, Context, Entry, Format, Plan};
use crate::collect::body::plain_text;

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
                content: Some(entry.content_html.clone()),
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
                pub_date: Some(post.date.to_rfc2822()),
                categories: terms(post, config)
                    .map(|(term, _)| Category {
                        name: xml_safe(term),
                        domain: None,
                    })
                    .collect(),
                ..Item::default()
            };
            // RSS `author` must be an email address; a name alone goes to `dc:creator`.
            if let Some(a) = author {
                match (&a.email, &a.name) {
                    (Some(email), Some(name)) => {
                        item.author = Some(xml_safe(&format!("{email} ({name})")))
                    }
                    (Some(email), None) => item.author = Some(xml_safe(email)),
                    (None, Some(name)) => {
                        item.dublin_core_ext = Some(DublinCoreExtension {
                            creators: vec![xml_safe(name)],
                            ..DublinCoreExtension::default()
                        })
                    }
                    (None, None) => {}
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
        .unwrap_or_else(|| plan.title.clone());
    let channel = Channel {
        title: xml_safe(&plan.title),
        link: ctx.root.to_string(),
        description,
        language: config.lang.clone(),
        last_build_date: plan.posts.first().map(|p| p.date.to_rfc2822()),
        generator: Some("gazette".into()),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        items,
        atom_ext: Some(AtomExtension { links }),
        ..Channel::default()
    };
    let bytes = channel
        .write_to(Vec::new())
        .expect("writing to memory cannot fail");
    finish(bytes, config.gazette.stylesheet.as_deref())
}

/// Declares the encoding, spells out `isPermaLink="true"` on permalink guids (the crate leaves the default implicit)
/// and adds the `xml-stylesheet` instruction, walking the document as XML so that text and CDATA
/// are never touched.
pub fn finish(bytes: Vec<u8>, stylesheet: Option<&str>) -> Vec<u8> {
    let mut reader = Reader::from_reader(bytes.as_slice());
    let mut writer = Writer::new(Vec::with_capacity(bytes.len() + 4096));
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break,
            Ok(Event::Decl(_)) => {
                let decl = quick_xml::events::BytesDecl::new("1.0", Some("utf-8"), None);
                writer.write_event(Event::Decl(decl)).expect("memory");
                if let Some(href) = stylesheet {
                    let href = href.replace('&', "&amp;").replace('"', "&quot;");
                    writer
                        .write_event(Event::Text(quick_xml::events::BytesText::from_escaped(
                            "\n",
                        )))
                        .expect("memory");
                    let pi = format!(r#"xml-stylesheet type="text/xsl" href="{href}""#);
                    writer
                        .write_event(Event::PI(BytesPI::new(pi)))
                        .expect("memory");
                }
            }
            Ok(Event::Start(mut e))
                if e.name().as_ref() == b"guid" && e.attributes().next().is_none() =>
            {
                e.push_attribute(("isPermaLink", "true"));
                writer.write_event(Event::Start(e)).expect("memory");
            }
            Ok(event) => writer.write_event(event).expect("memory"),
            // The crate's own output always reads back; if it ever does not, keep it as written.
            Err(_) => return bytes,
        }
        buf.clear();
    }
    let mut out = writer.into_inner();
    out.push(b'\n');
    out
}

//! Atom 1.0 (crate `atom_syndication`).

use std::collections::HashMap;
use std::path::Path;

use atom_syndication::{
    Category, Content, Entry as AtomEntry, Feed, Generator, Link, Person, Text,
};

use super::{html::xml_safe, rss::finish, terms, updated, Context, Entry, Format, Plan};
use crate::collect::body::plain_text;
use crate::config::Author;

fn person(author: &Author) -> Person {
    let name = author
        .name
        .clone()
        .or_else(|| author.email.clone())
        .unwrap_or_default();
    Person {
        name: xml_safe(&name),
        email: author.email.as_deref().map(xml_safe),
        uri: author.uri.as_deref().map(xml_safe),
        ..Person::default()
    }
}

fn link(href: String, rel: &str, media_type: &str) -> Link {
    Link {
        href,
        rel: rel.into(),
        mime_type: Some(media_type.into()),
        ..Link::default()
    }
}

/// Writes one feed as Atom 1.0.
pub fn write(plan: &Plan<'_>, entries: &HashMap<&Path, Entry>, ctx: &Context<'_>) -> Vec<u8> {
    let config = ctx.config;
    let site_author = ctx.site_author();
    let atom_entries: Vec<AtomEntry> = plan
        .posts
        .iter()
        .map(|post| {
            let entry = &entries[post.source.as_path()];
            let author = post.author.as_ref().unwrap_or(&site_author);
            AtomEntry {
                id: xml_safe(post.id.as_deref().unwrap_or(&post.url)),
                title: Text::plain(entry.title.clone()),
                updated: updated(post),
                published: Some(post.date),
                authors: vec![person(author)],
                links: vec![link(post.url.clone(), "alternate", "text/html")],
                categories: terms(post, config)
                    .map(|(term, label)| Category {
                        term: xml_safe(term),
                        label: (label != term).then(|| xml_safe(label)),
                        ..Category::default()
                    })
                    .collect(),
                summary: (!entry.summary_html.trim().is_empty())
                    .then(|| Text::html(entry.summary_html.clone())),
                content: Some(Content {
                    value: Some(entry.content_html.clone()),
                    content_type: Some("html".into()),
                    ..Content::default()
                }),
                ..AtomEntry::default()
            }
        })
        .collect();

    let self_url = ctx.url_of(&plan.file(Format::Atom));
    let mut links = vec![
        link(self_url.clone(), "self", Format::Atom.media_type()),
        link(ctx.root.to_string(), "alternate", "text/html"),
    ];
    if let Some(hub) = &config.gazette.hub {
        links.push(Link {
            href: hub.clone(),
            rel: "hub".into(),
            ..Link::default()
        });
    }
    let feed = Feed {
        id: self_url,
        title: Text::plain(xml_safe(&plan.title)),
        subtitle: config
            .description
            .as_deref()
            .map(|d| xml_safe(&plain_text(d)))
            .filter(|d| !d.is_empty())
            .map(Text::plain),
        updated: plan.updated().unwrap_or_default(),
        authors: vec![person(&site_author)],
        links,
        generator: Some(Generator {
            value: "gazette".into(),
            ..Generator::default()
        }),
        lang: config.lang.clone(),
        entries: atom_entries,
        ..Feed::default()
    };
    let bytes = feed
        .write_to(Vec::new())
        .expect("writing to memory cannot fail");
    finish(bytes, config.gazette.stylesheet.as_deref())
}

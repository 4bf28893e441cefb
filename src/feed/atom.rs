//! Atom 1.0 (crate `atom_syndication`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use atom_syndication::{
    Category, Content, Entry as AtomEntry, Feed, Generator, Link, Person, Text,
};

use regex::Regex;

use super::xml::finish;
use super::{entry_id, term_text, terms, updated, Context, Entry, Format, Plan};
use crate::collect::body::plain_text;
use crate::config::Author;
use crate::escape::{self, xml_safe};

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

/// A title or subtitle: `type="text"`, unless it holds what looks like an HTML end tag
/// (`</b>`), which validators take for markup in Atom text (`ContainsUndeclaredHTML`) whatever
/// the escaping: then `type="html"`, the text escaped. (`&` and `<` are otherwise written as
/// character references by [`finish`].)
fn text(value: &str) -> Text {
    static END_TAG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"</\w+>").expect("a valid pattern"));
    if END_TAG.is_match(value) {
        Text::html(escape::attribute(value))
    } else {
        Text::plain(value)
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
            let mut extensions = atom_syndication::extension::ExtensionMap::default();
            if let Some(image) = super::image_url(post, &ctx.root) {
                extensions.insert("media".to_string(), super::media_elements(&image));
            }
            AtomEntry {
                id: entry_id(post, &ctx.root),
                extensions,
                title: text(&entry.title),
                updated: updated(post),
                published: Some(post.date),
                authors: vec![person(author)],
                links: vec![link(post.url.clone(), "alternate", "text/html")],
                categories: terms(post, config)
                    .map(|(term, label)| Category {
                        term: term_text(term),
                        label: (label != term).then(|| term_text(label)),
                        ..Category::default()
                    })
                    .collect(),
                summary: Some(Text::html(entry.summary_html.clone())),
                content: (!entry.content_html.is_empty()).then(|| Content {
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
        title: text(&xml_safe(&plan.title)),
        subtitle: config
            .description
            .as_deref()
            .map(|d| xml_safe(&plain_text(d)))
            .filter(|d| !d.is_empty())
            .map(|d| text(&d)),
        updated: plan.updated().unwrap_or_default(),
        authors: vec![person(&site_author)],
        links,
        generator: Some(Generator {
            value: "gazette".into(),
            ..Generator::default()
        }),
        lang: ctx.language(),
        namespaces: if atom_entries.iter().any(|e| !e.extensions.is_empty()) {
            [("media".to_string(), super::MEDIA_NS.to_string())].into()
        } else {
            Default::default()
        },
        entries: atom_entries,
        ..Feed::default()
    };
    let bytes = feed
        .write_to(Vec::new())
        .expect("writing to memory cannot fail");
    finish(bytes, config.gazette.stylesheet.as_deref())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{post, render_site};
    use super::*;

    #[test]
    fn titles_are_text_unless_they_hold_an_end_tag() {
        assert_eq!(text("AT&T <b> 5 < 6"), Text::plain("AT&T <b> 5 < 6"));
        assert_eq!(
            text("why </div> matters"),
            Text::html("why &lt;/div&gt; matters")
        );
    }

    #[test]
    fn terms_show_one_line_of_text_or_nothing() {
        let text = post(
            "title: A\ncategories: [\"a\\tb\", \"\\x01\\x02\"]\ntags: [\"x\\ny\"]",
            "a",
        );
        let (files, _) = render_site(
            "url: https://finews.example.com\ntimezone: UTC\n",
            &[("2022-02-01-a.md", text.as_str())],
        );
        let atom = &files["feed.atom.xml"];
        let rss = &files["feed.rss.xml"];
        assert!(
            atom.contains("term=\"a b\"") && atom.contains("term=\"x y\""),
            "{atom}"
        );
        assert!(!atom.contains("term=\"\""), "{atom}");
        assert!(
            rss.contains("<category>a b</category>") && rss.contains("<category>x y</category>"),
            "{rss}"
        );
        assert!(!rss.contains("<category></category>"), "{rss}");
        assert_eq!(rss.matches("<category>").count(), 2, "{rss}");
    }

    #[test]
    fn ids_are_uris_and_blank_bodies_have_no_content() {
        let posts = [
            (
                "2022-02-01-a.md",
                post("title: \"A & B\"\nid: NW202202010001", ""),
            ),
            (
                "2022-02-02-b.md",
                post("title: B\nid: urn:isbn:0451450523", "b"),
            ),
        ];
        let posts: Vec<(&str, &str)> = posts.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let (files, _) = render_site("url: https://finews.example.com\ntimezone: UTC\n", &posts);
        let atom = &files["feed.atom.xml"];
        assert!(
            atom.contains("<id>tag:finews.example.com,2022:NW202202010001</id>"),
            "{atom}"
        );
        assert!(atom.contains("<id>urn:isbn:0451450523</id>"), "{atom}");
        assert!(atom.contains("<title>A &#x26; B</title>"), "{atom}");
        assert_eq!(atom.matches("<content ").count(), 1, "{atom}");
        assert_eq!(atom.matches("<summary ").count(), 2, "{atom}");
    }
}

//! An OPML 2.0 list of the feeds (so a reader can import every category at once) and an HTML
//! snippet of `<link rel="alternate">` tags (so a site can advertise them in its `<head>`).

use super::{rfc822, Context, Format, Plan};
use crate::escape::{attribute, xml_attribute};

/// OPML 2.0 titles and `text` may hold HTML, and validators read them so: plain text is escaped
/// as HTML first (`AT&T` → `AT&amp;T`), then as XML.
fn escape_html(text: &str) -> String {
    xml_attribute(&attribute(text))
}

/// OPML listing every feed of one format (`feeds.opml`: RSS, `feeds-atom.opml`: Atom).
pub fn opml(plans: &[Plan<'_>], ctx: &Context<'_>, format: Format) -> Vec<u8> {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n  <head>\n",
    );
    out.push_str(&format!(
        "    <title>{}</title>\n",
        escape_html(&ctx.site_title())
    ));
    if let Some(newest) = plans.iter().filter_map(|p| p.updated()).max() {
        out.push_str(&format!(
            "    <dateModified>{}</dateModified>\n",
            rfc822(&newest)
        ));
    }
    out.push_str("  </head>\n  <body>\n");
    for plan in plans {
        // `type="rss"` for every feed, Atom ones too: OPML 2.0 subscription lists know no
        // other type, and some importers skip an outline of any other (the spec's own
        // subscription lists mark Atom feeds `rss`); `xmlUrl` says which feed it is.
        out.push_str(&format!(
            "    <outline type=\"rss\" text=\"{title}\" title=\"{title}\" xmlUrl=\"{url}\" htmlUrl=\"{home}\"/>\n",
            title = escape_html(&plan.title),
            url = xml_attribute(&ctx.url_of(&plan.file(format))),
            home = xml_attribute(ctx.root.as_str()),
        ));
    }
    out.push_str("  </body>\n</opml>\n");
    out.into_bytes()
}

/// `<link rel="alternate">` tags for every feed written.
pub(crate) fn link_tags(plans: &[Plan<'_>], ctx: &Context<'_>, formats: &[Format]) -> Vec<u8> {
    let mut out = String::new();
    for plan in plans {
        for &format in formats {
            out.push_str(&format!(
                "<link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">\n",
                format.media_type(),
                xml_attribute(&plan.title),
                xml_attribute(&ctx.url_of(&plan.file(format))),
            ));
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{post, render_site};

    #[test]
    fn titles_are_html_and_dates_rfc_822_validators_accept() {
        let posts = [(
            "2022-03-01-a.md",
            post(
                "title: A\ndate: 2022-03-01 10:00:00 +0545\ncategories: x",
                "a",
            ),
        )];
        let posts: Vec<(&str, &str)> = posts.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let (files, _) = render_site(
            "title: \"AT&T <News>\"\nurl: https://example.com\ntimezone: UTC\n",
            &posts,
        );
        let opml = &files["feeds.opml"];
        assert!(opml.contains("<title>AT&amp;amp;T</title>"), "{opml}");
        assert!(opml.contains(r#"text="AT&amp;amp;T — x""#), "{opml}");
        assert!(
            opml.contains("<dateModified>Tue, 1 Mar 2022 04:15:00 +0000</dateModified>"),
            "{opml}"
        );
    }

    #[test]
    fn every_outline_is_of_type_rss_atom_lists_too() {
        let posts = [(
            "2022-03-01-a.md",
            post(
                "title: A\ndate: 2022-03-01 10:00:00 +0800\ncategories: x",
                "a",
            ),
        )];
        let posts: Vec<(&str, &str)> = posts.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let (files, _) = render_site("url: https://example.com\ntimezone: UTC\n", &posts);
        for (list, ending) in [("feeds.opml", ".rss.xml"), ("feeds-atom.opml", ".atom.xml")] {
            let opml = &files[list];
            let outlines: Vec<&str> = opml.lines().filter(|l| l.contains("<outline")).collect();
            assert_eq!(outlines.len(), 2, "{opml}");
            for outline in outlines {
                assert!(outline.contains(r#"type="rss""#), "{outline}");
                assert!(outline.contains(&format!("{ending}\"")), "{outline}");
            }
        }
    }
}

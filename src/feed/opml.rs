//! An OPML 2.0 list of the feeds (so a reader can import every category at once) and an HTML
//! snippet of `<link rel="alternate">` tags (so a site can advertise them in its `<head>`).

use super::{Context, Format, Plan};

fn escape(text: &str) -> String {
    super::html::xml_safe(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// OPML listing every feed of one format.
pub fn opml(plans: &[Plan<'_>], ctx: &Context<'_>, format: Format) -> Vec<u8> {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n  <head>\n",
    );
    out.push_str(&format!(
        "    <title>{}</title>\n",
        escape(&ctx.site_title())
    ));
    if let Some(newest) = plans.iter().filter_map(|p| p.updated()).max() {
        out.push_str(&format!(
            "    <dateModified>{}</dateModified>\n",
            newest.to_rfc2822()
        ));
    }
    out.push_str("  </head>\n  <body>\n");
    for plan in plans {
        let kind = if format == Format::Atom {
            "atom"
        } else {
            "rss"
        };
        out.push_str(&format!(
            "    <outline type=\"{kind}\" text=\"{title}\" title=\"{title}\" xmlUrl=\"{url}\" htmlUrl=\"{home}\"/>\n",
            title = escape(&plan.title),
            url = escape(&ctx.url_of(&plan.file(format))),
            home = escape(ctx.root.as_str()),
        ));
    }
    out.push_str("  </body>\n</opml>\n");
    out.into_bytes()
}

/// `<link rel="alternate">` tags for every feed written.
pub fn link_tags(plans: &[Plan<'_>], ctx: &Context<'_>, formats: &[Format]) -> Vec<u8> {
    let mut out = String::new();
    for plan in plans {
        for &format in formats {
            out.push_str(&format!(
                "<link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">\n",
                format.media_type(),
                escape(&plan.title),
                escape(&ctx.url_of(&plan.file(format))),
            ));
        }
    }
    out.into_bytes()
}

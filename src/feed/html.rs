//! Making post HTML safe for every feed reader: parsed and re-serialised by an HTML5 parser
//! (`ammonia`, on html5ever) so that strict parsers accept it, only the elements and attributes
//! that feed validators accept kept, URLs made absolute (most readers ignore `xml:base`), and
//! characters that XML forbids dropped.

use std::borrow::Cow;
use std::collections::HashSet;

use ammonia::{Builder, UrlRelative};
use url::Url;

use crate::collect::body::decode_entities;
/// The characters XML 1.0 forbids removed; it lives in the crate's escaping module.
pub use crate::collect::nesting::{cap_nesting, MAX_NESTING};
pub use crate::escape::xml_safe;

/// The elements kept: the W3C feed validator's accepted ones (its `acceptable_elements`), less
/// the obsolete `keygen`, `multicol`, `nextid`, `sound` and `spacer`, and less the three of
/// [`REMOVED_WITH_CONTENT`] that it accepts: `template` (its content is never shown),
/// `noscript` (html5ever reads its content as text, as a browser running scripts does, and
/// writes that text back unescaped, while readers and validators run no scripts and read it as
/// markup: markup the sanitiser never saw) and `select` (what it may hold changed in HTML's
/// customizable `<select>`; html5ever keeps `<div>`, `<hr>`, `<button>` in it, which html5lib and
/// older parsers refuse).
const ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "area",
    "article",
    "aside",
    "audio",
    "b",
    "bdi",
    "big",
    "blockquote",
    "br",
    "button",
    "canvas",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "command",
    "data",
    "datagrid",
    "datalist",
    "dd",
    "del",
    "details",
    "dfn",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "em",
    "eventsource",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "i",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "legend",
    "li",
    "m",
    "main",
    "map",
    "mark",
    "menu",
    "meter",
    "nav",
    "ol",
    "optgroup",
    "option",
    "output",
    "p",
    "picture",
    "pre",
    "progress",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "section",
    "small",
    "source",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "track",
    "tt",
    "u",
    "ul",
    "var",
    "video",
    "wbr",
];

/// Elements removed with everything in them: scripts, styles, frames, plug-ins, and what a
/// page's `<head>` holds. Every other element not in [`ELEMENTS`] is dropped but its content
/// kept (`<marquee>`, `<o:p>`, `<math>` …; the text of an `<svg>` goes with it).
const REMOVED_WITH_CONTENT: &[&str] = &[
    "script", "style", "iframe", "frame", "frameset", "noframes", "object", "embed", "applet",
    "noembed", "param", "template", "noscript", "select", "head", "title", "meta", "link", "base",
];

/// The attributes kept, on any kept element: the W3C feed validator's accepted ones, less those
/// that only matter to scripts or forms posting elsewhere. `style` is never kept (validators and
/// readers distrust CSS); `data-*` attributes are kept (inert, and accepted).
const ATTRIBUTES: &[&str] = &[
    "abbr",
    "accept",
    "accept-charset",
    "accesskey",
    "action",
    "align",
    "allow",
    "allowfullscreen",
    "alt",
    "autoplay",
    "axis",
    "background",
    "bgcolor",
    "border",
    "cellpadding",
    "cellspacing",
    "char",
    "charoff",
    "charset",
    "checked",
    "cite",
    "class",
    "clear",
    "color",
    "cols",
    "colspan",
    "compact",
    "coords",
    "datetime",
    "dir",
    "disabled",
    "download",
    "face",
    "for",
    "frame",
    "headers",
    "height",
    "hidden",
    "href",
    "hreflang",
    "hspace",
    "id",
    "ismap",
    "label",
    "lang",
    "loading",
    "longdesc",
    "loop",
    "max",
    "maxlength",
    "media",
    "method",
    "min",
    "multiple",
    "muted",
    "name",
    "nohref",
    "noshade",
    "nowrap",
    "open",
    "optimum",
    "pattern",
    "placeholder",
    "poster",
    "preload",
    "readonly",
    "rel",
    "required",
    "rev",
    "reversed",
    "rows",
    "rowspan",
    "rules",
    "scope",
    "selected",
    "shape",
    "size",
    "sizes",
    "span",
    "src",
    "srclang",
    "srcset",
    "start",
    "step",
    "summary",
    "tabindex",
    "target",
    "title",
    "type",
    "usemap",
    "valign",
    "value",
    "vspace",
    "width",
];

/// Attributes holding one URL that the sanitiser itself does not resolve (it resolves `href`,
/// `src`, `<form action>` and `<video poster>`).
const OTHER_URL_ATTRIBUTES: &[&str] = &["cite", "background", "longdesc", "poster"];

/// The URL schemes kept in the URL attributes resolved here (`srcset`, `cite`, …).
const SCHEMES: &[&str] = &["http", "https", "ftp", "ftps", "mailto"];

/// Resolves one URL (entities decoded) against `base`; `javascript:`, other schemes than the web's
/// and mail's, and unparseable values become `None`.
pub fn absolute(value: &str, base: &Url) -> Option<String> {
    let decoded = decode_entities(value.trim());
    resolve(&decoded, base)
}

fn resolve(value: &str, base: &Url) -> Option<String> {
    let url = base.join(value.trim()).ok()?;
    SCHEMES.contains(&url.scheme()).then(|| url.into())
}

/// Resolves every URL of a `srcset` (`a.png 1x, /b.png 2x`), dropping the candidates whose URL
/// cannot be kept.
fn absolute_srcset(value: &str, base: &Url) -> String {
    // As HTML parses it: a URL runs to the next white space (it may hold commas); a comma at its
    // end, or one after its descriptors, ends the candidate.
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if rest.is_empty() {
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (mut url, after) = rest.split_at(end);
        let mut descriptor = "";
        rest = after;
        if let Some(stripped) = url.strip_suffix(',') {
            url = stripped.trim_end_matches(',');
        } else {
            let stop = rest.find(',').unwrap_or(rest.len());
            descriptor = rest[..stop].trim();
            rest = &rest[stop..];
        }
        if let Some(url) = resolve(url, base) {
            out.push(if descriptor.is_empty() {
                url
            } else {
                format!(
                    "{url} {}",
                    descriptor.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            });
        }
    }
    out.join(", ")
}

/// The URL attributes that the sanitiser does not resolve itself: resolved against `base`, or
/// dropped.
fn filter_attribute<'u>(base: &Url, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    if attribute == "srcset" {
        let resolved = absolute_srcset(value, base);
        return (!resolved.is_empty()).then_some(Cow::Owned(resolved));
    }
    if OTHER_URL_ATTRIBUTES.contains(&attribute) {
        return resolve(value, base).map(Cow::Owned);
    }
    Some(Cow::Borrowed(value))
}

/// Rewrites post HTML for a feed: parsed as HTML5 and written back well-formed; only the
/// elements and attributes of [`ELEMENTS`] and [`ATTRIBUTES`] kept (plus `data-*`); scripts,
/// styles, frames and plug-ins removed with their content; comments removed; every `href`,
/// `src`, `srcset`, `poster`, `cite` (…) absolute against `base` (the post's URL; `//host/x`
/// takes its scheme), `javascript:` and other unsafe URLs removed; forbidden characters dropped.
pub fn for_feed(html: &str, base: &Url) -> String {
    let clean = xml_safe(html);
    if clean.trim().is_empty() {
        return String::new();
    }
    // Bodies come here capped already (with a warning naming the post); this keeps every
    // other caller within the parser's linear range too.
    let (capped, _) = cap_nesting(&clean, MAX_NESTING);
    xml_safe(&builder(base).clean(&capped).to_string())
}

/// The sanitiser [`for_feed`] runs.
fn builder(base: &Url) -> Builder<'static> {
    let filter_base = base.clone();
    let mut builder = Builder::empty();
    builder
        .tags(ELEMENTS.iter().copied().collect())
        .clean_content_tags(REMOVED_WITH_CONTENT.iter().copied().collect())
        .tag_attributes(Default::default())
        .tag_attribute_values(Default::default())
        .set_tag_attribute_values(Default::default())
        .generic_attributes(ATTRIBUTES.iter().copied().collect())
        .generic_attribute_prefixes(HashSet::from(["data-"]))
        .link_rel(None)
        .strip_comments(true)
        .url_relative(UrlRelative::RewriteWithBase(base.clone()))
        .attribute_filter(move |_element, attribute, value| {
            filter_attribute(&filter_base, attribute, value)
        });
    builder
}

#[cfg(test)]
mod tests {
    #[test]
    fn srcset_urls_may_hold_commas() {
        let base = Url::parse("https://example.com/a/post.html").unwrap();
        assert_eq!(
            absolute_srcset("img,1.png 1x, /b.png 2x,c.png", &base),
            "https://example.com/a/img,1.png 1x, https://example.com/b.png 2x, https://example.com/a/c.png"
        );
        assert_eq!(
            absolute_srcset(" x.png,y.png, z.png 100w ", &base),
            "https://example.com/a/x.png,y.png, https://example.com/a/z.png 100w"
        );
    }

    use super::*;
    use crate::collect::nesting::{scan_tag, VOID};

    fn base() -> Url {
        Url::parse("https://finews.example.com/news/2022/01/12/x.html").unwrap()
    }

    #[test]
    fn urls_become_absolute() {
        let html = r##"<a href="//finews.example.com/c.html">c</a><img src="/images/a.png"><img src="b.png" srcset="b.png 1x, /b2.png 2x"><a href="x?a=1&amp;b=2">q</a><a href="mailto:a@example.com">m</a><a href="#top">t</a>"##;
        let out = for_feed(html, &base());
        assert!(
            out.contains(r#"href="https://finews.example.com/c.html""#),
            "{out}"
        );
        assert!(out.contains(r#"src="https://finews.example.com/images/a.png""#));
        assert!(out.contains(r#"src="https://finews.example.com/news/2022/01/12/b.png""#));
        assert!(out.contains(r#"srcset="https://finews.example.com/news/2022/01/12/b.png 1x, https://finews.example.com/b2.png 2x""#), "{out}");
        assert!(
            out.contains(r#"href="https://finews.example.com/news/2022/01/12/x?a=1&amp;b=2""#),
            "{out}"
        );
        assert!(out.contains(r#"href="mailto:a@example.com""#));
        assert!(out.contains(r##"href="https://finews.example.com/news/2022/01/12/x.html#top""##));
    }

    #[test]
    fn active_content_and_control_characters_go() {
        let html = "<p onclick=\"x()\">a\u{1}b</p><script>alert(1)</script><a href=\"javascript:alert(1)\">j</a><iframe src=\"//e.x\"></iframe>";
        let out = for_feed(html, &base());
        assert_eq!(out, "<p>ab</p><a>j</a>");
    }

    #[test]
    fn other_url_attributes_are_resolved_or_dropped() {
        let html = r#"<video src="/v.mp4" poster="p.jpg"></video><blockquote cite="/q">q</blockquote><table background="javascript:x()"><tbody><tr><td>1</td></tr></tbody></table><img src="data:image/png;base64,AAAA" srcset="javascript:x 1x" alt="d">"#;
        let out = for_feed(html, &base());
        assert_eq!(
            out,
            r#"<video src="https://finews.example.com/v.mp4" poster="https://finews.example.com/news/2022/01/12/p.jpg"></video><blockquote cite="https://finews.example.com/q">q</blockquote><table><tbody><tr><td>1</td></tr></tbody></table><img alt="d">"#
        );
    }

    #[test]
    fn only_accepted_elements_and_attributes_stay() {
        let html = r#"<p style="color: red" role="note" data-x="1" class="c">a</p><svg><circle r="4"/><text>s</text></svg><marquee>m</marquee><o:p>w</o:p><style>p{}</style><form action="/f"><input name="q"></form><template><p>t</p></template><!-- c -->"#;
        let out = for_feed(html, &base());
        assert_eq!(
            out,
            r#"<p data-x="1" class="c">a</p>mw<form action="https://finews.example.com/f"><input name="q"></form>"#
        );
    }

    #[test]
    fn output_is_html_that_strict_parsers_accept() {
        let html = "AT&T <p/> &#x92; x</br> <a href=\"/a\">1<a href=\"/b\">2</a></a> <b title=\"1\" title=\"2\">t</b> 5 < 6 & <i>open";
        let out = for_feed(html, &base());
        assert_eq!(
            out,
            "AT&amp;T <p> \u{2019} x<br> <a href=\"https://finews.example.com/a\">1</a><a href=\"https://finews.example.com/b\">2</a> <b title=\"1\">t</b> 5 &lt; 6 &amp; <i>open</i></p>"
        );
    }

    #[test]
    fn noscript_and_select_go_with_their_content() {
        let html = "<noscript><img src=x onerror=alert(1)></noscript><select><option>a</option><div>d</div></select><p>&#0;k\u{fffd}</p>";
        assert_eq!(for_feed(html, &base()), "<p>k</p>");
    }

    #[test]
    fn blank_html_stays_blank() {
        assert_eq!(for_feed(" \n", &base()), "");
        assert_eq!(for_feed("<script>x</script>", &base()), "");
    }

    /// The depth of the deepest element of the sanitiser's tree, read from its output (which
    /// closes every element it opens).
    fn parsed_depth(html: &str) -> usize {
        let out = builder(&base()).clean(html).to_string();
        let (mut depth, mut deepest, mut i) = (0usize, 0, 0);
        while let Some(off) = out[i..].find('<') {
            let at = i + off;
            if out[at..].starts_with("</") {
                depth = depth.saturating_sub(1);
                i = scan_tag(&out, at + 2).1;
            } else {
                let (name, end, _) = scan_tag(&out, at + 1);
                if !VOID.contains(&name.as_str()) {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                i = end;
            }
        }
        deepest
    }

    #[test]
    fn well_nested_html_is_never_changed() {
        let html = format!(
            "<p>a<br>b<img src=x></p><ul><li>1<li>2</ul><p>x<p>y<table><tr><td>c<td>d</table><script>if (a<b) {{ '<div>' }}</script><svg><path/><path/></svg>{}t{}",
            "<div><span>".repeat(120),
            "</span></div>".repeat(120)
        );
        assert!(matches!(
            cap_nesting(&html, MAX_NESTING),
            (Cow::Borrowed(_), 0)
        ));
        // Unclosed paragraphs and items close each other: no depth.
        let items = "<ul>".to_string() + &"<li><p>item".repeat(1000) + "</ul>";
        assert!(matches!(
            cap_nesting(&items, MAX_NESTING),
            (Cow::Borrowed(_), 0)
        ));
    }

    #[test]
    fn deep_nesting_is_cut_at_the_cap_and_the_text_stays() {
        let html = format!("{}deep{}", "<div>".repeat(1000), "</div>".repeat(1000));
        let (capped, removed) = cap_nesting(&html, 10);
        assert_eq!(removed, 990);
        assert_eq!(
            capped,
            format!("{}deep{}", "<div>".repeat(10), "</div>".repeat(10))
        );
    }

    #[test]
    fn misnested_html_cannot_get_past_the_cap() {
        // Each pattern nests one level deeper per repetition in an HTML parser, whatever its
        // end tags seem to say; after the cap, the parser's tree stays near the cap.
        for pattern in [
            "<div>",
            "<span><div></span>",
            "<b><div></b>",
            "<div><table></div>",
            "<table><td>",
            "<a><div><a>",
            "<li><ul>",
            "<svg><p><div/>",
            "<math><mi><div/>",
            "<p><blockquote></p>",
            "<i><p></i>",
            "<x-a><x-b></x-a>",
        ] {
            let html = pattern.repeat(3000);
            let (capped, _) = cap_nesting(&html, MAX_NESTING);
            let depth = parsed_depth(&capped);
            assert!(depth <= 3 * MAX_NESTING, "{pattern}: depth {depth}");
        }
    }
}

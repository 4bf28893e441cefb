//! The XML fix-up every XML feed (RSS, Atom) goes through after its writer ([`finish`]): the declaration, the
//! stylesheet instruction, `isPermaLink`, and `&` and `<` as character references in plain text.

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesPI, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};

/// Whether text in the element at the top of `stack` is plain text that validators read for
/// HTML: RSS titles, categories, authors, `dc:creator` and the channel's description; Atom
/// titles, subtitles and person names. In those, `&` and `<` are written as `&#x26;` and `&#x3C;` (the same text to
/// any XML parser): the W3C validator takes a `<` before a letter, or `&#`, in plain text for
/// markup (`CharacterData`, `ContainsHTML`) unless a `&#x` reference shows the writer escaped it.
fn plain_text_element(stack: &[Vec<u8>]) -> bool {
    let Some((top, above)) = stack.split_last() else {
        return false;
    };
    match stack.first().map(Vec::as_slice) {
        Some(b"rss") => match top.as_slice() {
            b"title" | b"category" | b"author" | b"dc:creator" => true,
            b"description" => above.last().is_some_and(|p| p == b"channel"),
            _ => false,
        },
        Some(b"feed") => matches!(top.as_slice(), b"title" | b"subtitle" | b"name"),
        _ => false,
    }
}

/// An Atom category with its `label` (plain text, read for HTML as in [`plain_text_element`])
/// holding `&` and `<` as character references.
fn plain_text_label(e: BytesStart<'_>) -> BytesStart<'static> {
    let mut out = BytesStart::new(String::from_utf8_lossy(e.name().as_ref()).into_owned());
    for attribute in e.attributes().flatten() {
        let value = if attribute.key.as_ref() == b"label" {
            let raw = String::from_utf8_lossy(&attribute.value);
            raw.replace("&amp;", "&#x26;")
                .replace("&lt;", "&#x3C;")
                .into_bytes()
        } else {
            attribute.value.into_owned()
        };
        out.push_attribute(Attribute {
            key: attribute.key,
            value: value.into(),
        });
    }
    out
}

/// Declares the encoding, spells out `isPermaLink="true"` on permalink guids (the crate leaves
/// the default implicit), writes `&` and `<` as character references in plain-text elements
/// ([`plain_text_element`]) and adds the `xml-stylesheet` instruction, walking the document as
/// XML so that no other text and no CDATA is touched.
pub fn finish(bytes: Vec<u8>, stylesheet: Option<&str>) -> Vec<u8> {
    let mut reader = Reader::from_reader(bytes.as_slice());
    let mut writer = Writer::new(Vec::with_capacity(bytes.len() + 4096));
    let mut buf = Vec::new();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break,
            Ok(Event::Decl(_)) => {
                let decl = quick_xml::events::BytesDecl::new("1.0", Some("utf-8"), None);
                writer.write_event(Event::Decl(decl)).expect("memory");
                if let Some(href) = stylesheet {
                    // `?>` would end the instruction: angle brackets are percent-encoded.
                    let href = href
                        .replace('&', "&amp;")
                        .replace('"', "&quot;")
                        .replace('<', "%3C")
                        .replace('>', "%3E");
                    writer
                        .write_event(Event::Text(BytesText::from_escaped("\n")))
                        .expect("memory");
                    let pi = format!(r#"xml-stylesheet type="text/xsl" href="{href}""#);
                    writer
                        .write_event(Event::PI(BytesPI::new(pi)))
                        .expect("memory");
                }
            }
            Ok(Event::Start(mut e)) => {
                stack.push(e.name().as_ref().to_vec());
                if e.name().as_ref() == b"guid" && e.attributes().next().is_none() {
                    e.push_attribute(("isPermaLink", "true"));
                }
                writer.write_event(Event::Start(e)).expect("memory");
            }
            Ok(Event::Empty(e))
                if e.name().as_ref() == b"category"
                    && stack.first().is_some_and(|root| root == b"feed") =>
            {
                writer
                    .write_event(Event::Empty(plain_text_label(e)))
                    .expect("memory");
            }
            Ok(Event::End(e)) => {
                stack.pop();
                writer.write_event(Event::End(e)).expect("memory");
            }
            Ok(Event::GeneralRef(r)) if plain_text_element(&stack) => {
                let name = r.decode().unwrap_or_default();
                let text = match name.as_ref() {
                    "amp" | "#38" | "#x26" | "#X26" => "&#x26;".to_string(),
                    "lt" | "#60" | "#x3C" | "#x3c" | "#X3C" => "&#x3C;".to_string(),
                    other => format!("&{other};"),
                };
                writer
                    .write_event(Event::Text(BytesText::from_escaped(text)))
                    .expect("memory");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(xml: &str) -> String {
        String::from_utf8(finish(xml.as_bytes().to_vec(), None)).unwrap()
    }

    #[test]
    fn plain_text_elements_hold_amp_and_lt_as_character_references() {
        let rss = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>AT&amp;T &lt;b&gt;</title><description>a &amp;copy; b</description><item><title>5 &lt; 6</title><description><![CDATA[<p>AT&amp;T</p>]]></description><author>a@example.com (A &amp; B)</author><category>R&amp;D</category><link>https://x/?a=1&amp;b=2</link><guid>https://x/</guid></item></channel></rss>"#;
        assert_eq!(
            finished(rss),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>AT&#x26;T &#x3C;b&gt;</title><description>a &#x26;copy; b</description><item><title>5 &#x3C; 6</title><description><![CDATA[<p>AT&amp;T</p>]]></description><author>a@example.com (A &#x26; B)</author><category>R&#x26;D</category><link>https://x/?a=1&amp;b=2</link><guid isPermaLink=\"true\">https://x/</guid></item></channel></rss>\n"
        );
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A &amp; B</title><author><name>O&amp;B</name></author><entry><category term="a&amp;b" label="R&amp;D &lt;x&gt;"/><summary type="html">&lt;p&gt;x&amp;amp;y&lt;/p&gt;</summary></entry></feed>"#;
        assert_eq!(
            finished(atom),
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A &#x26; B</title><author><name>O&#x26;B</name></author><entry><category term=\"a&amp;b\" label=\"R&#x26;D &#x3C;x&gt;\"/><summary type=\"html\">&lt;p&gt;x&amp;amp;y&lt;/p&gt;</summary></entry></feed>\n"
        );
    }
}

//! Escaping text for HTML and XML, in one place: a leaf that imports nothing of gazette.
//!
//! - [`text`]: `&`, `<` and `>`, for element content (Rouge's and kramdown's escaping);
//! - [`attribute`]: also `"`, for a double-quoted attribute value or text read either way;
//! - [`xml_safe`]: the characters XML 1.0 forbids (and validators flag) removed, nothing escaped;
//! - [`xml_attribute`]: [`xml_safe`], then [`attribute`].

/// Escapes `&`, `<` and `>`.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_text(text, &mut out);
    out
}

/// Appends `text` to `out` with `&`, `<` and `>` escaped.
pub(crate) fn push_text(text: &str, out: &mut String) {
    for c in text.chars() {
        push_text_char(c, out);
    }
}

/// Appends one character to `out`, escaped as [`text`] escapes it.
pub(crate) fn push_text_char(c: char, out: &mut String) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

/// Escapes `&`, `<`, `>` and `"`.
pub fn attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            c => push_text_char(c, &mut out),
        }
    }
    out
}

/// Removes characters that XML 1.0 forbids (C0 controls but tab, LF and CR; U+FFFE, U+FFFF)
/// and those that validators flag: the C1 controls and U+FFFD (the mark of a character lost
/// before gazette read it, which the HTML parser also puts for `&#0;`).
pub fn xml_safe(text: &str) -> String {
    if !text.chars().any(is_forbidden) {
        return text.to_string();
    }
    text.chars().filter(|&c| !is_forbidden(c)).collect()
}

fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{fffd}'..='\u{ffff}')
}

/// A double-quoted XML attribute value: forbidden characters removed, then escaped as
/// [`attribute`] escapes.
pub fn xml_attribute(text: &str) -> String {
    attribute(&xml_safe(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_the_three_markup_characters() {
        assert_eq!(
            text(r#"AT&T <wins> "x" 'y'"#),
            r#"AT&amp;T &lt;wins&gt; "x" 'y'"#
        );
        assert_eq!(text("plain 文字"), "plain 文字");
        let mut out = String::from("a");
        push_text("<&>", &mut out);
        assert_eq!(out, "a&lt;&amp;&gt;");
    }

    #[test]
    fn attribute_escapes_double_quotes_too() {
        assert_eq!(
            attribute(r#"AT&T <wins> "x" 'y'"#),
            "AT&amp;T &lt;wins&gt; &quot;x&quot; 'y'"
        );
        // Escaping is not idempotent: an entity is escaped again.
        assert_eq!(attribute("&amp;"), "&amp;amp;");
    }

    #[test]
    fn xml_safe_drops_forbidden_characters_only() {
        assert_eq!(xml_safe("a\u{0}b\u{8}c\td\ne\rf"), "abc\td\ne\rf");
        assert_eq!(xml_safe("x\u{85}y\u{fffd}z\u{ffff}"), "xyz");
        assert_eq!(xml_safe("<&> 🙂"), "<&> 🙂");
    }

    #[test]
    fn xml_attribute_cleans_then_escapes() {
        assert_eq!(xml_attribute("a\u{1}\"<b>&"), "a&quot;&lt;b&gt;&amp;");
    }
}

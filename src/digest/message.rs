//! One digest email as lettre builds it: `multipart/alternative` (text, then HTML), UTF-8, the
//! subject and names encoded per RFC 2047 by lettre, and the list headers mailbox providers look
//! for: `List-Id`, `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 2369, RFC 8058).

use hmac::{Hmac, KeyInit, Mac};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use sha2::{Digest, Sha256};

use super::render::Rendered;
use super::subscribers::Subscriber;

macro_rules! text_header {
    ($type:ident, $name:literal) => {
        #[doc = concat!("The `", $name, "` header, its value as written.")]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $type(pub String);

        impl Header for $type {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($type(s.to_string()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

text_header!(ListId, "List-Id");
text_header!(ListUnsubscribe, "List-Unsubscribe");
text_header!(ListUnsubscribePost, "List-Unsubscribe-Post");

/// A token that proves an unsubscribe request came from a link gazette sent: HMAC-SHA256 of the
/// lower-cased address under the site's secret, so nobody can make one for another address.
pub fn unsubscribe_token(secret: &[u8], address: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(address.to_lowercase().as_bytes());
    let bytes = mac.finalize().into_bytes();
    bytes[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn query_escape(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The `Message-ID` of one digest for one subscriber: the same on every attempt, so a resent
/// copy is recognisable as the same message.
pub fn message_id(digest: &str, address: &str, domain: &str) -> String {
    let hash = Sha256::digest(format!("{digest}\0{}", address.to_lowercase()).as_bytes());
    let hex: String = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
    let safe_digest: String = digest
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '.'
            }
        })
        .collect();
    format!("<gazette.{safe_digest}.{hex}@{domain}>")
}

/// Everything of a message that is not the rendered content.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The sender (`digest.from`).
    pub from: &'a Mailbox,
    /// Where replies go (`digest.reply_to`), if not to the sender.
    pub reply_to: Option<&'a Mailbox>,
    /// The list's identifier, written as `List-Id: <…>` (`digest.list_id`, or the site's host).
    pub list_id: &'a str,
    /// The `Message-ID`, angle brackets included (see [`message_id`]).
    pub message_id: String,
    /// Filled-in one-click URL (https) and mailto address, when configured.
    pub unsubscribe_url: Option<String>,
    /// The address that unsubscribes, for a `mailto:` in `List-Unsubscribe`.
    pub unsubscribe_mailto: Option<String>,
    /// Headers added as they are (`digest.smtp.headers`): name, then value.
    pub extra_headers: &'a [(String, String)],
}

/// How non-ASCII bodies travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bodies {
    /// base64: any server, any file.
    Encoded,
    /// As they are (`Content-Transfer-Encoding: 8bit`), for a server that offers 8BITMIME
    /// (RFC 6152): no encoding, and a quarter fewer bytes for Chinese text. A body with a line
    /// over 998 octets, or a line break that is not CRLF, is still encoded.
    EightBit,
}

/// Builds the message for one subscriber, its bodies encoded for any server.
pub fn build(
    envelope: &Envelope<'_>,
    to: &Subscriber,
    rendered: &Rendered,
) -> Result<Message, MessageError> {
    build_with(envelope, to, rendered, Bodies::Encoded)
}

/// Why a message could not be built (it is then reported as failed for that subscriber).
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// lettre refused the message.
    #[error("cannot build the message for {address}: {source}")]
    Build {
        /// The subscriber's address.
        address: String,
        /// What lettre said.
        #[source]
        source: lettre::error::Error,
    },
    /// An extra header's name is not a valid header name.
    #[error("header name `{name}`: {reason}")]
    HeaderName {
        /// The name as configured.
        name: String,
        /// Why it is not valid.
        reason: String,
    },
}

/// Builds the message for one subscriber, its bodies as `bodies` says.
pub fn build_with(
    envelope: &Envelope<'_>,
    to: &Subscriber,
    rendered: &Rendered,
    bodies: Bodies,
) -> Result<Message, MessageError> {
    let mut builder = Message::builder()
        .from(envelope.from.clone())
        .to(Mailbox::new(to.name.clone(), to.address.clone()))
        .subject(rendered.subject.clone())
        .date_now()
        .message_id(Some(envelope.message_id.clone()))
        .header(ListId(format!("<{}>", envelope.list_id)));
    if let Some(reply_to) = envelope.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    let mut targets = Vec::new();
    if let Some(url) = &envelope.unsubscribe_url {
        targets.push(format!("<{url}>"));
    }
    if let Some(mailto) = &envelope.unsubscribe_mailto {
        targets.push(format!(
            "<mailto:{mailto}?subject={}>",
            query_escape(&format!("unsubscribe {}", to.address))
        ));
    }
    if !targets.is_empty() {
        builder = builder.header(ListUnsubscribe(targets.join(", ")));
    }
    // RFC 8058: one-click only with an https URL to POST to.
    if envelope
        .unsubscribe_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        builder = builder.header(ListUnsubscribePost("List-Unsubscribe=One-Click".into()));
    }
    let mut message = builder
        .multipart(
            MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, &rendered.text, bodies))
                .singlepart(part(ContentType::TEXT_HTML, &rendered.html, bodies)),
        )
        .map_err(|source| MessageError::Build {
            address: to.address.to_string(),
            source,
        })?;
    if rendered.subject.contains("=?") {
        // lettre leaves an ASCII subject as it is, and readers would decode a post title shaped
        // like an encoded word (`=?utf-8?b?…?=`) into other text: encode the whole subject.
        message
            .headers_mut()
            .insert_raw(HeaderValue::dangerous_new_pre_encoded(
                HeaderName::new_from_ascii_str("Subject"),
                rendered.subject.clone(),
                encoded_words(&rendered.subject),
            ));
    }
    for (name, value) in envelope.extra_headers {
        let name =
            HeaderName::new_from_ascii(name.clone()).map_err(|e| MessageError::HeaderName {
                name: name.clone(),
                reason: e.to_string(),
            })?;
        let value = super::render::one_line(value);
        message
            .headers_mut()
            .insert_raw(HeaderValue::new(name, value));
    }
    Ok(message)
}

/// One body part. Text that is not plain ASCII (a Chinese digest is hundreds of kilobytes of
/// it) is base64-encoded here, in one pass, exactly as the mail library would encode it: left
/// to the library, it is also scanned for line ends and for the best encoding, which took a
/// third of a large digest's time. ASCII text is left to the library (7bit or
/// quoted-printable, readable in the raw message).
fn part(content_type: ContentType, text: &str, bodies: Bodies) -> SinglePart {
    let builder = SinglePart::builder().header(content_type);
    if text.is_ascii() {
        return builder.body(text.to_string());
    }
    if bodies == Bodies::EightBit && is_8bit_safe(text.as_bytes()) {
        return builder.body(Body::dangerous_pre_encoded(
            text.as_bytes().to_vec(),
            ContentTransferEncoding::EightBit,
        ));
    }
    builder.body(Body::dangerous_pre_encoded(
        base64_lines(text.as_bytes()),
        ContentTransferEncoding::Base64,
    ))
}

/// Whether text can go as an 8bit body (RFC 2045 2.8, RFC 5322 2.1.1): no NUL, every line break
/// a CRLF, no line over 998 octets.
fn is_8bit_safe(bytes: &[u8]) -> bool {
    if memchr::memchr(0, bytes).is_some() {
        return false;
    }
    let mut line_start = 0;
    for at in memchr::memchr2_iter(b'\r', b'\n', bytes) {
        match bytes[at] {
            b'\r' if bytes.get(at + 1) == Some(&b'\n') => {
                if at - line_start > 998 {
                    return false;
                }
            }
            b'\n' if at > 0 && bytes[at - 1] == b'\r' => line_start = at + 1,
            _ => return false,
        }
    }
    bytes.len() - line_start <= 998
}

/// Base64 in lines of 76 characters joined by CRLF (RFC 2045), no line end after the last.
fn base64_lines(bytes: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    const LINE: usize = 57; // bytes that make 76 characters
    let mut out = vec![0u8; bytes.len().div_ceil(LINE) * 78];
    let mut at = 0;
    for (i, chunk) in bytes.chunks(LINE).enumerate() {
        if i > 0 {
            out[at..at + 2].copy_from_slice(b"\r\n");
            at += 2;
        }
        at += base64::engine::general_purpose::STANDARD
            .encode_slice(chunk, &mut out[at..])
            .expect("room for a line");
    }
    out.truncate(at);
    out
}

/// `text` as RFC 2047 base64 encoded words of at most 75 characters, folded onto lines.
fn encoded_words(text: &str) -> String {
    use base64::Engine as _;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        // 45 bytes of UTF-8 make 60 of base64: with `=?utf-8?b?` and `?=`, 72 characters.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?utf-8?b?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_encoded_as_the_mail_library_encodes_them() {
        let long: String = "财经快讯，每周摘要。\r\n".repeat(2000);
        for text in ["", "中", "中文\r\n", "abc 中文 <p>x</p>", long.as_str()] {
            let ours = SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(Body::dangerous_pre_encoded(
                    base64_lines(text.as_bytes()),
                    ContentTransferEncoding::Base64,
                ))
                .formatted();
            let theirs = SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(
                    Body::new_with_encoding(text.to_string(), ContentTransferEncoding::Base64)
                        .unwrap(),
                )
                .formatted();
            assert_eq!(
                String::from_utf8(ours),
                String::from_utf8(theirs),
                "{text:.20}"
            );
        }
    }

    #[test]
    fn only_crlf_text_with_short_lines_goes_as_8bit() {
        assert!(is_8bit_safe("中文\r\n第二行\r\n".as_bytes()));
        assert!(is_8bit_safe("中文".as_bytes()));
        assert!(is_8bit_safe(format!("{}\r\n", "a".repeat(998)).as_bytes()));
        assert!(!is_8bit_safe(format!("{}\r\n", "a".repeat(999)).as_bytes()));
        assert!(!is_8bit_safe("a".repeat(999).as_bytes()));
        assert!(!is_8bit_safe("中\n文".as_bytes()));
        assert!(!is_8bit_safe("中\r文".as_bytes()));
        assert!(!is_8bit_safe("中\r".as_bytes()));
        assert!(!is_8bit_safe("中\0".as_bytes()));
        let part = |bodies| {
            String::from_utf8(part(ContentType::TEXT_PLAIN, "中文\r\n", bodies).formatted())
                .unwrap()
        };
        assert!(part(Bodies::EightBit).contains("Content-Transfer-Encoding: 8bit"));
        assert!(part(Bodies::EightBit).contains("中文"));
        assert!(part(Bodies::Encoded).contains("Content-Transfer-Encoding: base64"));
    }

    #[test]
    fn tokens_are_keyed_and_case_blind() {
        let a = unsubscribe_token(b"secret", "Li@Example.com");
        assert_eq!(a, unsubscribe_token(b"secret", "li@example.com"));
        assert_ne!(a, unsubscribe_token(b"other", "li@example.com"));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn message_ids_are_stable_per_digest_and_subscriber() {
        let a = message_id("2022-W02", "li@example.com", "finews.example.com");
        assert_eq!(
            a,
            message_id("2022-W02", "LI@example.com", "finews.example.com")
        );
        assert_ne!(
            a,
            message_id("2022-W03", "li@example.com", "finews.example.com")
        );
        assert!(a.starts_with("<gazette.2022-W02.") && a.ends_with("@finews.example.com>"));
    }
}

//! Strict validation of what a visitor sends: the sign-up form, and the `return_to` URL a page
//! may send them back to afterwards.
//!
//! # The sign-up form
//!
//! [`SignUpForm::parse`] decodes an `application/x-www-form-urlencoded` body strictly (at most
//! [`MAX_BODY_BYTES`] and [`MAX_FIELDS`] fields, every `%` followed by two hexadecimal digits,
//! UTF-8 throughout, every field `name=value`) and keeps the fields it knows: `address`, `name`,
//! `categories` (repeatable) and `return_to`; other names are ignored, so a site may add a submit
//! button's name to the snippet it pastes. [`SignUpForm::validate`] then checks each field and
//! returns either a [`SignUp`] or a [`FieldErrors`] with one [`FieldError`] per field that is
//! wrong, for the page to show next to it:
//!
//! - `address`: required, once; surrounding spaces trimmed; at most [`MAX_ADDRESS_BYTES`]; no
//!   control character or space; parsed by lettre's [`Address`]; its domain a domain name with a
//!   dot (no `[192.0.2.1]`, no `localhost`).
//! - `name`: optional, at most once; trimmed, put in Unicode normal form C; at most
//!   [`MAX_NAME_CHARS`] characters; no control, bidirectional-override or line-separator
//!   character (a name is written into emails' `To:` and greetings).
//! - `categories`: each one of the site's categories, as written in its posts; at most
//!   [`MAX_FIELDS`] given. None chosen means every category, as in the subscriber file.
//!
//! # `return_to`: no open redirect
//!
//! [`SiteBase::check_return_to`] accepts a URL only when it leads to the site itself: the same
//! scheme, host and port as the site's `url`, a path below its `baseurl`, no user name or
//! password; or a path starting with a single `/`, taken on the site's host. Everything a
//! browser might read differently from this parser is refused before parsing: backslashes,
//! control characters and spaces anywhere, `//` at the start, and before the query, percent-
//! encoded `/`, `\`, `.`, `%` and control characters. The URL to redirect to is the one
//! returned, as the parser wrote it (dot segments resolved), never the text received.

use std::collections::BTreeSet;
use std::str::FromStr;

use lettre::Address;
use unicode_normalization::UnicodeNormalization;
use url::Url;

use crate::config::SiteConfig;

/// The largest form body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The most fields a form body may have (each category chosen is one).
pub const MAX_FIELDS: usize = 256;

/// The longest address accepted, in bytes (RFC 5321's limit for a path's address).
pub const MAX_ADDRESS_BYTES: usize = 254;

/// The longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// The longest `return_to` accepted, in bytes.
pub const MAX_RETURN_TO_BYTES: usize = 2048;

/// Why a form body could not be read at all (the page then shows a general error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Longer than [`MAX_BODY_BYTES`].
    #[error("the form is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// More than [`MAX_FIELDS`] fields.
    #[error("the form has more than {MAX_FIELDS} fields")]
    TooManyFields,
    /// Not `name=value` pairs joined by `&`, or a `%` not followed by two hexadecimal digits.
    #[error("the form is not URL-encoded")]
    Malformed,
    /// A name or value is not UTF-8 once decoded.
    #[error("the form is not UTF-8")]
    NotUtf8,
}

/// What is wrong with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A required field is missing or empty.
    #[error("this field is required")]
    Missing,
    /// A field that may appear once appears more than once.
    #[error("this field was given more than once")]
    Repeated,
    /// Longer than allowed.
    #[error("this field is longer than {max}")]
    TooLong {
        /// The limit (bytes for an address, characters for a name).
        max: usize,
    },
    /// A control character, line separator or direction override.
    #[error("this field contains a character that is not allowed")]
    ForbiddenCharacter,
    /// Not an email address this list sends to.
    #[error("this is not a valid email address")]
    InvalidAddress,
    /// A category the site does not have.
    #[error("this site has no such category")]
    UnknownCategory,
}

/// The fields that are wrong, each with what is wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("the form has mistakes")]
pub struct FieldErrors {
    /// About `address`.
    pub address: Option<FieldError>,
    /// About `name`.
    pub name: Option<FieldError>,
    /// About `categories`.
    pub categories: Option<FieldError>,
}

impl FieldErrors {
    fn is_empty(&self) -> bool {
        self.address.is_none() && self.name.is_none() && self.categories.is_none()
    }
}

/// A sign-up form's fields as received, decoded but not yet checked.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SignUpForm {
    /// Every `address` value.
    pub address: Vec<String>,
    /// Every `name` value.
    pub name: Vec<String>,
    /// Every `categories` value.
    pub categories: Vec<String>,
    /// The last `return_to` value, for [`SiteBase::check_return_to`].
    pub return_to: Option<String>,
}

// Written out so that an address never reaches a log line through `{:?}`.
impl std::fmt::Debug for SignUpForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUpForm")
            .field("addresses", &self.address.len())
            .field("names", &self.name.len())
            .field("categories", &self.categories)
            .finish_non_exhaustive()
    }
}

/// A valid sign-up.
#[derive(Clone, PartialEq, Eq)]
pub struct SignUp {
    /// The address, as typed (trimmed).
    pub address: Address,
    /// The name, if one was given.
    pub name: Option<String>,
    /// The categories chosen; empty means all of them.
    pub categories: BTreeSet<String>,
}

// Written out so that an address never reaches a log line through `{:?}`.
impl std::fmt::Debug for SignUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUp")
            .field("categories", &self.categories)
            .finish_non_exhaustive()
    }
}

impl SignUpForm {
    /// Decodes a URL-encoded body (see the module's docs).
    pub fn parse(body: &[u8]) -> Result<SignUpForm, BodyError> {
        let mut form = SignUpForm::default();
        for (name, value) in decode_pairs(body)? {
            match name.as_str() {
                "address" => form.address.push(value),
                "name" => form.name.push(value),
                "categories" => form.categories.push(value),
                "return_to" => form.return_to = Some(value),
                _ => {}
            }
        }
        Ok(form)
    }

    /// Checks every field; `site_categories` are the site's categories, as written in posts.
    pub fn validate(&self, site_categories: &BTreeSet<String>) -> Result<SignUp, FieldErrors> {
        let address = single(&self.address).and_then(|a| match a {
            Some(a) => check_address(a),
            None => Err(FieldError::Missing),
        });
        let name = single(&self.name).and_then(|n| n.map(check_name).transpose());
        let categories = check_categories(&self.categories, site_categories);
        match (address, name, categories) {
            (Ok(address), Ok(name), Ok(categories)) => Ok(SignUp {
                address,
                name: name.flatten(),
                categories,
            }),
            (address, name, categories) => {
                let errors = FieldErrors {
                    address: address.err(),
                    name: name.err(),
                    categories: categories.err(),
                };
                debug_assert!(!errors.is_empty());
                Err(errors)
            }
        }
    }
}

/// The one value of a field that may appear once; `None` when absent.
fn single(values: &[String]) -> Result<Option<&str>, FieldError> {
    match values {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(FieldError::Repeated),
    }
}

/// A character no field may hold: controls (C0, DEL, C1), the line and paragraph separators,
/// bidirectional embeddings, overrides and isolates, the byte-order mark, and the replacement
/// character (the trace of a lossy decoding somewhere).
fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200E}' | '\u{200F}' | '\u{061C}'
                | '\u{FEFF}' | '\u{FFFD}'
        )
}

fn check_address(text: &str) -> Result<Address, FieldError> {
    let text = text.trim_matches(|c: char| c == ' ' || c == '\t');
    if text.is_empty() {
        return Err(FieldError::Missing);
    }
    if text.len() > MAX_ADDRESS_BYTES {
        return Err(FieldError::TooLong {
            max: MAX_ADDRESS_BYTES,
        });
    }
    if text.chars().any(|c| forbidden(c) || c.is_whitespace()) {
        return Err(FieldError::ForbiddenCharacter);
    }
    let address = Address::from_str(text).map_err(|_| FieldError::InvalidAddress)?;
    let domain = address.domain();
    let labels_ok = domain
        .split('.')
        .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if domain.starts_with('[') || !domain.contains('.') || !labels_ok {
        return Err(FieldError::InvalidAddress);
    }
    // lettre takes an IP address as the domain even without brackets.
    if domain.parse::<std::net::IpAddr>().is_ok() {
        return Err(FieldError::InvalidAddress);
    }
    Ok(address)
}

fn check_name(text: &str) -> Result<Option<String>, FieldError> {
    if text.chars().any(forbidden) {
        return Err(FieldError::ForbiddenCharacter);
    }
    // Counted before normalising too, so a huge input is not normalised at all.
    if text.chars().count() > MAX_NAME_CHARS * 4 {
        return Err(FieldError::TooLong {
            max: MAX_NAME_CHARS,
        });
    }
    let name: String = text.trim().nfc().collect();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::TooLong {
            max: MAX_NAME_CHARS,
        });
    }
    Ok((!name.is_empty()).then_some(name))
}

fn check_categories(
    given: &[String],
    site: &BTreeSet<String>,
) -> Result<BTreeSet<String>, FieldError> {
    if given.len() > MAX_FIELDS {
        return Err(FieldError::TooLong { max: MAX_FIELDS });
    }
    given
        .iter()
        .map(|c| {
            if site.contains(c) {
                Ok(c.clone())
            } else {
                Err(FieldError::UnknownCategory)
            }
        })
        .collect()
}

/// The `name=value` pairs of a URL-encoded body, decoded strictly.
fn decode_pairs(body: &[u8]) -> Result<Vec<(String, String)>, BodyError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    let mut pairs = Vec::new();
    for part in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        if pairs.len() == MAX_FIELDS {
            return Err(BodyError::TooManyFields);
        }
        let at = part
            .iter()
            .position(|&b| b == b'=')
            .ok_or(BodyError::Malformed)?;
        let (name, value) = (&part[..at], &part[at + 1..]);
        pairs.push((percent_decode(name)?, percent_decode(value)?));
    }
    Ok(pairs)
}

/// One URL-encoded name or value: `+` is a space, `%XX` a byte.
fn percent_decode(text: &[u8]) -> Result<String, BodyError> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter();
    while let Some(&b) = bytes.next() {
        out.push(match b {
            b'+' => b' ',
            b'%' => {
                let high = bytes.next().and_then(|&h| char::from(h).to_digit(16));
                let low = bytes.next().and_then(|&l| char::from(l).to_digit(16));
                match (high, low) {
                    (Some(h), Some(l)) => {
                        u8::try_from(h * 16 + l).map_err(|_| BodyError::Malformed)?
                    }
                    _ => return Err(BodyError::Malformed),
                }
            }
            other => other,
        });
    }
    String::from_utf8(out).map_err(|_| BodyError::NotUtf8)
}

/// Why a `return_to` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReturnToError {
    /// Empty.
    #[error("no return address")]
    Empty,
    /// Longer than [`MAX_RETURN_TO_BYTES`].
    #[error("the return address is too long")]
    TooLong,
    /// A backslash, space or control character, a leading `//`, or a percent-encoded `/`, `\`,
    /// `.`, `%` or control character before the query: spellings browsers read differently.
    #[error("the return address is written in a way that is not accepted")]
    Suspicious,
    /// Not a URL, nor a path starting with `/`.
    #[error("the return address is not a URL")]
    NotAUrl,
    /// Another scheme, host or port, or with a user name or password.
    #[error("the return address is not on this site")]
    OtherSite,
    /// On the site's host, but not below its `baseurl`.
    #[error("the return address is outside this site")]
    OutsideBase,
}

/// Why a URL cannot be the site's base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SiteBaseError {
    /// Not `http` or `https` with a host, or with a user name, password, query or fragment.
    #[error("the site's url must be a plain http:// or https:// address")]
    NotPlainHttp,
    /// `url` is not set in `_config.yml`.
    #[error("the site has no url in _config.yml")]
    NoUrl,
}

/// The site's public root (`url` + `baseurl`), for checking where a visitor may be sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteBase {
    root: Url,
}

impl SiteBase {
    /// The base from the site's root URL; its path is taken as a folder (a `/` is added).
    pub fn new(root: &Url) -> Result<SiteBase, SiteBaseError> {
        let plain = matches!(root.scheme(), "http" | "https")
            && root.host_str().is_some()
            && root.username().is_empty()
            && root.password().is_none()
            && root.query().is_none()
            && root.fragment().is_none();
        if !plain {
            return Err(SiteBaseError::NotPlainHttp);
        }
        let mut root = root.clone();
        if !root.path().ends_with('/') {
            let path = format!("{}/", root.path());
            root.set_path(&path);
        }
        Ok(SiteBase { root })
    }

    /// The base from `_config.yml`'s `url` and `baseurl`.
    pub fn from_config(config: &SiteConfig) -> Result<SiteBase, SiteBaseError> {
        let root = config.site_root().ok_or(SiteBaseError::NoUrl)?;
        SiteBase::new(&root)
    }

    /// The site's root, ending in `/`.
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The URL to send a visitor back to, when `candidate` leads to the site itself (see the
    /// module's docs); redirect to what is returned, not to `candidate`.
    pub fn check_return_to(&self, candidate: &str) -> Result<Url, ReturnToError> {
        if candidate.is_empty() {
            return Err(ReturnToError::Empty);
        }
        if candidate.len() > MAX_RETURN_TO_BYTES {
            return Err(ReturnToError::TooLong);
        }
        if suspicious(candidate) {
            return Err(ReturnToError::Suspicious);
        }
        let url = if candidate.starts_with('/') {
            self.root
                .join(candidate)
                .map_err(|_| ReturnToError::NotAUrl)?
        } else {
            Url::parse(candidate).map_err(|_| ReturnToError::NotAUrl)?
        };
        let same_origin = url.scheme() == self.root.scheme()
            && url.host() == self.root.host()
            && url.port_or_known_default() == self.root.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none();
        if !same_origin {
            return Err(ReturnToError::OtherSite);
        }
        let base = self.root.path();
        let folder = base.trim_end_matches('/');
        if !(url.path().starts_with(base) || url.path() == folder && !folder.is_empty()) {
            return Err(ReturnToError::OutsideBase);
        }
        Ok(url)
    }
}

/// Whether `text` holds a spelling browsers and this parser might read differently.
fn suspicious(text: &str) -> bool {
    if text.starts_with("//")
        || text
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || forbidden(c))
    {
        return true;
    }
    let before_query = text.split(['?', '#']).next().unwrap_or(text).as_bytes();
    before_query.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && match before_query.get(i + 1..i + 3) {
                Some(&[h, l]) => match (char::from(h).to_digit(16), char::from(l).to_digit(16)) {
                    (Some(h), Some(l)) => {
                        let byte = h * 16 + l;
                        byte < 0x20 || matches!(byte, 0x25 | 0x2E | 0x2F | 0x5C | 0x7F)
                    }
                    // A `%` not starting an escape: the parser would keep it, a browser too,
                    // but nothing legitimate needs it.
                    _ => true,
                },
                _ => true,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categories() -> BTreeSet<String> {
        ["news", "tech", "财经"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn sign_up(body: &str) -> Result<SignUp, FieldErrors> {
        SignUpForm::parse(body.as_bytes())
            .unwrap()
            .validate(&categories())
    }

    #[test]
    fn a_good_form_is_accepted() {
        let s = sign_up(
            "address=+Li.Wei%40Example.com+&name=%E6%9D%8E+%E4%BC%9F&categories=news&categories=%E8%B4%A2%E7%BB%8F&submit=Go",
        )
        .unwrap();
        assert_eq!(s.address.to_string(), "Li.Wei@Example.com");
        assert_eq!(s.name.as_deref(), Some("李 伟"));
        assert_eq!(
            s.categories,
            ["news", "财经"].iter().map(|s| s.to_string()).collect()
        );
        let bare = sign_up("address=a%40example.org&name=+").unwrap();
        assert_eq!(bare.name, None);
        assert!(bare.categories.is_empty());
    }

    #[test]
    fn names_are_normalised() {
        // "é" written as e + combining acute becomes one character.
        let s = sign_up("address=a%40example.org&name=Jose%CC%81").unwrap();
        assert_eq!(s.name.as_deref(), Some("Jos\u{e9}"));
    }

    #[test]
    fn each_field_gets_its_own_error() {
        let e = sign_up("name=%07bell&categories=sports").unwrap_err();
        assert_eq!(
            e,
            FieldErrors {
                address: Some(FieldError::Missing),
                name: Some(FieldError::ForbiddenCharacter),
                categories: Some(FieldError::UnknownCategory),
            }
        );
        let e =
            sign_up("address=a%40example.org&address=b%40example.org&name=x&name=y").unwrap_err();
        assert_eq!(e.address, Some(FieldError::Repeated));
        assert_eq!(e.name, Some(FieldError::Repeated));
        assert_eq!(e.categories, None);
    }

    #[test]
    fn addresses_are_checked_strictly() {
        let long = format!("address={}%40example.org", "a".repeat(250));
        for (body, error) in [
            ("address=", FieldError::Missing),
            ("address=++", FieldError::Missing),
            (long.as_str(), FieldError::TooLong { max: 254 }),
            (
                "address=a%40example.org%0D%0ABcc%3A+x%40y.z",
                FieldError::ForbiddenCharacter,
            ),
            ("address=a+b%40example.org", FieldError::ForbiddenCharacter),
            (
                "address=a%E2%80%AE%40example.org",
                FieldError::ForbiddenCharacter,
            ),
            ("address=nobody", FieldError::InvalidAddress),
            ("address=a%40", FieldError::InvalidAddress),
            ("address=%40example.org", FieldError::InvalidAddress),
            ("address=a%40localhost", FieldError::InvalidAddress),
            ("address=a%40%5B127.0.0.1%5D", FieldError::InvalidAddress),
            ("address=a%40127.0.0.1", FieldError::InvalidAddress),
            ("address=a%40example..org", FieldError::InvalidAddress),
            (
                "address=Li+%3Cli%40example.org%3E",
                FieldError::ForbiddenCharacter,
            ),
            ("address=%3Cli%40example.org%3E", FieldError::InvalidAddress),
            ("address=a%40b%40example.org", FieldError::InvalidAddress),
        ] {
            assert_eq!(sign_up(body).unwrap_err().address, Some(error), "{body}");
        }
        // Non-ASCII addresses (RFC 6531) are addresses.
        assert!(sign_up("address=%E6%9D%8E%40%E4%BE%8B%E5%AD%90.%E4%B8%AD%E5%9B%BD").is_ok());
    }

    #[test]
    fn names_are_capped_and_cleaned() {
        let ok = format!(
            "address=a%40example.org&name={}",
            "名".repeat(MAX_NAME_CHARS)
        );
        assert!(sign_up(&ok).is_ok());
        let long = format!(
            "address=a%40example.org&name={}",
            "名".repeat(MAX_NAME_CHARS + 1)
        );
        assert_eq!(
            sign_up(&long).unwrap_err().name,
            Some(FieldError::TooLong {
                max: MAX_NAME_CHARS
            })
        );
        for bad in [
            "a%0Ab",
            "a%E2%80%A8b",
            "%E2%81%A6x",
            "a%C2%85b",
            "a%7Fb",
            "%EF%BF%BD",
        ] {
            let body = format!("address=a%40example.org&name={bad}");
            assert_eq!(
                sign_up(&body).unwrap_err().name,
                Some(FieldError::ForbiddenCharacter),
                "{bad}"
            );
        }
    }

    #[test]
    fn categories_come_from_the_site_only() {
        for bad in ["News", "news+", "", "..%2Fnews"] {
            let body = format!("address=a%40example.org&categories={bad}");
            assert_eq!(
                sign_up(&body).unwrap_err().categories,
                Some(FieldError::UnknownCategory),
                "{bad}"
            );
        }
        let dup = sign_up("address=a%40example.org&categories=news&categories=news").unwrap();
        assert_eq!(dup.categories.len(), 1);
    }

    #[test]
    fn bodies_are_decoded_strictly() {
        assert_eq!(
            SignUpForm::parse(&vec![b'a'; MAX_BODY_BYTES + 1]),
            Err(BodyError::TooLarge)
        );
        let many = vec!["categories=news"; MAX_FIELDS + 1].join("&");
        assert_eq!(
            SignUpForm::parse(many.as_bytes()),
            Err(BodyError::TooManyFields)
        );
        let most = vec!["categories=news"; MAX_FIELDS].join("&");
        assert!(SignUpForm::parse(most.as_bytes()).is_ok());
        for bad in ["address", "address=%", "address=%4", "address=%zz", "a=1&b"] {
            assert_eq!(
                SignUpForm::parse(bad.as_bytes()),
                Err(BodyError::Malformed),
                "{bad}"
            );
        }
        for bad in [&b"address=%FF"[..], b"name=\xE6\x9D", b"address=\xFF"] {
            assert_eq!(SignUpForm::parse(bad), Err(BodyError::NotUtf8));
        }
        let form = SignUpForm::parse(b"&address=x&&return_to=%2Fblog%2F&").unwrap();
        assert_eq!(form.address, ["x"]);
        assert_eq!(form.return_to.as_deref(), Some("/blog/"));
        assert!(!format!("{form:?}").contains('x'));
    }

    fn site(root: &str) -> SiteBase {
        SiteBase::new(&Url::parse(root).unwrap()).unwrap()
    }

    #[test]
    fn return_to_on_the_site_is_accepted() {
        let s = site("https://site.example/blog");
        for (given, expected) in [
            ("https://site.example/blog/", "https://site.example/blog/"),
            ("https://site.example/blog", "https://site.example/blog"),
            (
                "https://SITE.example:443/blog/a.html?x=1#top",
                "https://site.example/blog/a.html?x=1#top",
            ),
            (
                "/blog/2024/03/01/post.html",
                "https://site.example/blog/2024/03/01/post.html",
            ),
            ("/blog/a/../b/", "https://site.example/blog/b/"),
            (
                "/blog/文章/",
                "https://site.example/blog/%E6%96%87%E7%AB%A0/",
            ),
            (
                "/blog/?next=//evil.example%2F",
                "https://site.example/blog/?next=//evil.example%2F",
            ),
            ("/blog/%E6%96%87", "https://site.example/blog/%E6%96%87"),
        ] {
            assert_eq!(
                s.check_return_to(given).map(String::from).as_deref(),
                Ok(expected),
                "{given}"
            );
        }
        let root = site("http://localhost:4000");
        assert!(root.check_return_to("/anything").is_ok());
        assert!(root.check_return_to("http://localhost:4000/x").is_ok());
    }

    #[test]
    fn open_redirect_tricks_are_refused() {
        let s = site("https://site.example/blog/");
        use ReturnToError::*;
        for (given, error) in [
            ("", Empty),
            ("//evil.example", Suspicious),
            ("///evil.example", Suspicious),
            ("//site.example/blog/", Suspicious),
            ("/\\evil.example", Suspicious),
            ("\\\\evil.example", Suspicious),
            ("https:\\\\evil.example", Suspicious),
            ("https://site.example\\@evil.example/blog/", Suspicious),
            ("/%2F%2Fevil.example", Suspicious),
            ("/%2f/evil.example", Suspicious),
            ("/%5Cevil.example", Suspicious),
            ("/blog/%2e%2e/admin", Suspicious),
            ("/blog/%252e%252e/admin", Suspicious),
            ("/blog/%0D%0ASet-Cookie:x=1", Suspicious),
            ("/blog/\r\nSet-Cookie: x=1", Suspicious),
            (" /blog/", Suspicious),
            ("/blog/\t", Suspicious),
            ("java\tscript:alert(1)", Suspicious),
            ("/blog/%", Suspicious),
            ("/blog/%zz", Suspicious),
            ("/blog/\u{202E}", Suspicious),
            ("javascript:alert(1)", OtherSite),
            ("JavaScript://site.example/blog/%0aalert(1)", Suspicious),
            ("JavaScript://site.example/blog/", OtherSite),
            ("data:text/html,<script>alert(1)</script>", OtherSite),
            ("https://site.evil/blog/", OtherSite),
            ("https://site.example.evil/blog/", OtherSite),
            ("https://site.example@evil.example/blog/", OtherSite),
            ("https://site.example:443@evil.example/blog/", OtherSite),
            ("https://user:pw@site.example/blog/", OtherSite),
            (
                "https://evil.example/blog/?https://site.example/blog/",
                OtherSite,
            ),
            ("https://evil.example#@site.example/blog/", OtherSite),
            ("http://site.example/blog/", OtherSite),
            ("https://site.example:8443/blog/", OtherSite),
            ("https://site.example./blog/", OtherSite),
            ("https://ѕite.example/blog/", OtherSite),
            ("https://ｅｖｉｌ.example/blog/", OtherSite),
            ("https:evil.example/blog/", OtherSite),
            ("https://site.example%2Eevil/blog/", Suspicious),
            ("https://site.example/", OutsideBase),
            ("https://site.example/blogger", OutsideBase),
            ("/blog/../admin", OutsideBase),
            ("/blog/./../admin/", OutsideBase),
            ("/", OutsideBase),
            ("blog/", NotAUrl),
            ("evil.example", NotAUrl),
            ("?x=1", NotAUrl),
        ] {
            assert_eq!(s.check_return_to(given), Err(error), "{given:?}");
        }
        let long = format!("/blog/{}", "a".repeat(MAX_RETURN_TO_BYTES));
        assert_eq!(s.check_return_to(&long), Err(TooLong));
    }

    #[test]
    fn the_site_base_must_be_plain_http() {
        for bad in [
            "ftp://site.example/",
            "https://u@site.example/",
            "https://site.example/?q",
            "file:///tmp/",
        ] {
            assert_eq!(
                SiteBase::new(&Url::parse(bad).unwrap()),
                Err(SiteBaseError::NotPlainHttp),
                "{bad}"
            );
        }
        assert_eq!(
            site("https://site.example/blog").root().as_str(),
            "https://site.example/blog/"
        );
        let mut config = SiteConfig::default();
        assert_eq!(SiteBase::from_config(&config), Err(SiteBaseError::NoUrl));
        config.url = Some(Url::parse("https://site.example").unwrap());
        config.baseurl = "/blog".into();
        let base = SiteBase::from_config(&config).unwrap();
        assert_eq!(base.root().as_str(), "https://site.example/blog/");
    }
}

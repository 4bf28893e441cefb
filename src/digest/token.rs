//! Signed, expiring tokens for the links the service sends: confirm a sign-up, unsubscribe,
//! open the preferences page.
//!
//! # Format
//!
//! A token is `v1.` followed by URL-safe base64 (no padding) of `payload ‖ tag`:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | purpose: 1 confirm, 2 unsubscribe, 3 preferences |
//! | 8 | expiry, seconds since the Unix epoch, signed big-endian |
//! | 1 | subject kind: 1 an address, 2 a subscriber id |
//! | 2 + n, or 8 | the address (length big-endian, then UTF-8), or the id (big-endian) |
//! | rest | data the issuer attached (for instance a sign-up's name and categories) |
//! | 32 | HMAC-SHA256 of everything before it |
//!
//! The tag is keyed not with the site's secret itself but with `HMAC(secret, "gazette token
//! v1")`, so a `v1` tag can never be mistaken for a tag of another format under the same secret.
//! The payload is signed, not encrypted: whoever holds the link can read the address in it (it is
//! their own address, in a link mailed to them).
//!
//! # Verification
//!
//! [`TokenKey::verify`] decodes strictly (one spelling per token: no padding, no trailing bits,
//! no whitespace), compares the tag in constant time (`Mac::verify_slice`) and only then looks at
//! the payload: an unauthenticated purpose or expiry is never reported. It never panics on any
//! input, and refuses with a [`TokenError`]: [`Tampered`](TokenError::Tampered) (a wrong tag:
//! changed, or made under another secret), [`WrongPurpose`](TokenError::WrongPurpose),
//! [`Expired`](TokenError::Expired) or [`Malformed`](TokenError::Malformed).
//!
//! # The digests' unsubscribe tokens
//!
//! Digests sent so far carry `digest.unsubscribe_url` with `{address}` and `{token}` filled in,
//! the token being [`crate::digest::message::unsubscribe_token`]: 32 hexadecimal digits, the first
//! 16 bytes of HMAC-SHA256 of the lower-cased address under the secret itself, with no expiry.
//! Those links must keep working, so [`TokenKey::verify_unsubscribe`] accepts both: a `v1`
//! unsubscribe token, or a legacy one together with the address from the same URL (checked in
//! constant time as well).

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::digest::settings::DigestSettings;

type HmacSha256 = Hmac<Sha256>;

/// The text every version-1 token starts with.
pub const V1_PREFIX: &str = "v1.";

/// The longest token accepted or issued, in characters; longer input is refused before any
/// decoding (a link stays well under the lengths mail clients and servers handle).
pub const MAX_TOKEN_CHARS: usize = 1024;

/// The longest address a token carries, in bytes (RFC 5321 allows 254 in a path; a little room
/// for addresses written with non-ASCII characters).
pub const MAX_ADDRESS_BYTES: usize = 320;

/// The length of a legacy unsubscribe token: 16 bytes, in hexadecimal.
const LEGACY_HEX_CHARS: usize = 32;

/// The length of a version-1 tag (a full HMAC-SHA256).
const TAG_BYTES: usize = 32;

/// What the key for version-1 tags is derived with.
const V1_CONTEXT: &[u8] = b"gazette token v1";

/// What a token may be used for; a token for one purpose is refused for every other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Confirm a sign-up (double opt-in).
    Confirm,
    /// Unsubscribe (the `List-Unsubscribe` link).
    Unsubscribe,
    /// Open the preferences page.
    Preferences,
}

impl Purpose {
    fn code(self) -> u8 {
        match self {
            Purpose::Confirm => 1,
            Purpose::Unsubscribe => 2,
            Purpose::Preferences => 3,
        }
    }

    fn from_code(code: u8) -> Option<Purpose> {
        match code {
            1 => Some(Purpose::Confirm),
            2 => Some(Purpose::Unsubscribe),
            3 => Some(Purpose::Preferences),
            _ => None,
        }
    }
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Purpose::Confirm => "confirm",
            Purpose::Unsubscribe => "unsubscribe",
            Purpose::Preferences => "preferences",
        })
    }
}

/// Whom a token is about.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// An email address, as the issuer wrote it.
    Address(String),
    /// A subscriber's id in the store.
    Id(u64),
}

// Written out so that an address never reaches a log line through `{:?}`.
impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Address(_) => f.write_str("Address(…)"),
            Subject::Id(id) => f.debug_tuple("Id").field(id).finish(),
        }
    }
}

/// What a token says: signed by [`TokenKey::issue`], returned by [`TokenKey::verify`].
#[derive(Clone, PartialEq, Eq)]
pub struct Claims {
    /// What the token is for.
    pub purpose: Purpose,
    /// Whom it is about.
    pub subject: Subject,
    /// The last moment it is accepted (to the second; verification refuses it after).
    pub expires: DateTime<Utc>,
    /// Anything else the issuer signed along (empty for most tokens): readable by whoever holds
    /// the link, but not changeable.
    pub data: Vec<u8>,
}

// Written out so that the address and the attached data never reach a log line.
impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claims")
            .field("purpose", &self.purpose)
            .field("subject", &self.subject)
            .field("expires", &self.expires)
            .field("data_bytes", &self.data.len())
            .finish()
    }
}

/// Why a token was refused. The messages name no address and no part of the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The signature does not match: the token was changed, or made under another secret.
    #[error("the link's signature does not match")]
    Tampered,
    /// The token is genuine but past its expiry.
    #[error("the link expired at {at}")]
    Expired {
        /// When it expired.
        at: DateTime<Utc>,
    },
    /// The token is genuine but made for something else (a confirmation link used to
    /// unsubscribe, say).
    #[error("the link is for {found}, not {expected}")]
    WrongPurpose {
        /// What it was checked for.
        expected: Purpose,
        /// What it was made for.
        found: Purpose,
    },
    /// Not a token at all: an unknown version, bad base64, a wrong length, too long.
    #[error("the link is not a valid token")]
    Malformed,
}

/// Why a token could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// The address is longer than [`MAX_ADDRESS_BYTES`].
    #[error("the address is longer than {MAX_ADDRESS_BYTES} bytes")]
    AddressTooLong,
    /// The token would be longer than [`MAX_TOKEN_CHARS`] (too much attached data).
    #[error("the token would be longer than {MAX_TOKEN_CHARS} characters")]
    TooLong,
}

/// Why the secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The secret is empty: anyone could sign with it.
    #[error("the secret that signs links is empty")]
    Empty,
    /// `digest.secret_file` could not be read.
    #[error("cannot read the secret file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// The site's secret, ready to sign and check tokens.
#[derive(Clone)]
pub struct TokenKey {
    /// HMAC keyed with the secret itself: the digests' legacy unsubscribe tokens.
    legacy: HmacSha256,
    /// HMAC keyed with the key derived for version 1.
    v1: HmacSha256,
}

// Written out so that nothing secret can ever reach a log through `{:?}`.
impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(…)")
    }
}

impl TokenKey {
    /// A key from the site's secret (the bytes the digest signs its unsubscribe links with).
    /// An empty secret is refused; a long random one (32 bytes or more) is best.
    pub fn new(secret: &[u8]) -> Result<TokenKey, SecretError> {
        if secret.is_empty() {
            return Err(SecretError::Empty);
        }
        // HMAC takes keys of any length: the error cannot happen, but is not unwrapped.
        let legacy = HmacSha256::new_from_slice(secret).map_err(|_| SecretError::Empty)?;
        let derived = legacy
            .clone()
            .chain_update(V1_CONTEXT)
            .finalize()
            .into_bytes();
        let v1 = HmacSha256::new_from_slice(&derived).map_err(|_| SecretError::Empty)?;
        Ok(TokenKey { legacy, v1 })
    }

    /// The site's key as the digest finds it: the variable `digest.secret_env` (trimmed; an
    /// empty value counts as unset), else the file `digest.secret_file` (relative to the site,
    /// trimmed); `None` when neither is set. The same secret the digest signs its unsubscribe
    /// links with, so the links in digests already sent verify.
    pub fn load(site: &Path, settings: &DigestSettings) -> Result<Option<TokenKey>, SecretError> {
        if let Some(value) = std::env::var_os(&settings.secret_env) {
            let value = value.to_string_lossy();
            let value = value.trim();
            if !value.is_empty() {
                return TokenKey::new(value.as_bytes()).map(Some);
            }
        }
        match &settings.secret_file {
            Some(file) => {
                let path = site.join(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| SecretError::Read { path, source })?;
                TokenKey::new(text.trim().as_bytes()).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The digests' legacy unsubscribe token for `address` (the `{token}` of
    /// `digest.unsubscribe_url`): what [`super::message::unsubscribe_token`] makes from the
    /// secret this key was made from, which [`TokenKey::verify_unsubscribe`] accepts.
    pub fn legacy_token(&self, address: &str) -> String {
        let tag = self
            .legacy
            .clone()
            .chain_update(address.to_lowercase().as_bytes())
            .finalize()
            .into_bytes();
        tag[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A version-1 token carrying `claims`, for a link (URL-safe: no character needs escaping).
    pub fn issue(&self, claims: &Claims) -> Result<String, IssueError> {
        let mut payload = Vec::with_capacity(64 + claims.data.len());
        payload.push(claims.purpose.code());
        payload.extend_from_slice(&claims.expires.timestamp().to_be_bytes());
        match &claims.subject {
            Subject::Address(address) => {
                let bytes = address.as_bytes();
                if bytes.len() > MAX_ADDRESS_BYTES {
                    return Err(IssueError::AddressTooLong);
                }
                let len = u16::try_from(bytes.len()).map_err(|_| IssueError::AddressTooLong)?;
                payload.push(1);
                payload.extend_from_slice(&len.to_be_bytes());
                payload.extend_from_slice(bytes);
            }
            Subject::Id(id) => {
                payload.push(2);
                payload.extend_from_slice(&id.to_be_bytes());
            }
        }
        payload.extend_from_slice(&claims.data);
        let encoded_len = ((payload.len() + TAG_BYTES) * 4).div_ceil(3);
        if V1_PREFIX.len() + encoded_len > MAX_TOKEN_CHARS {
            return Err(IssueError::TooLong);
        }
        let tag = self
            .v1
            .clone()
            .chain_update(&payload)
            .finalize()
            .into_bytes();
        payload.extend_from_slice(&tag);
        let mut token = String::with_capacity(V1_PREFIX.len() + encoded_len);
        token.push_str(V1_PREFIX);
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        Ok(token)
    }

    /// The claims of a version-1 `token`, when it is genuine, made for `purpose` and not expired
    /// at `now`.
    pub fn verify(
        &self,
        token: &str,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<Claims, TokenError> {
        let claims = self.authenticate(token)?;
        if claims.purpose != purpose {
            return Err(TokenError::WrongPurpose {
                expected: purpose,
                found: claims.purpose,
            });
        }
        if now > claims.expires {
            return Err(TokenError::Expired { at: claims.expires });
        }
        Ok(claims)
    }

    /// Whom an unsubscribe link is for. `token` is the link's token and `address` the address
    /// the link carries next to it, if any (the digests' `{address}`, already percent-decoded).
    ///
    /// A version-1 token must be an unsubscribe token, not expired at `now`; when `address` is
    /// given too it must name the token's subject (letter case aside), or the link was put
    /// together from two and is [`Tampered`](TokenError::Tampered). A legacy token (32
    /// hexadecimal digits, from digests sent before version 1) needs `address`, never expires, and
    /// is [`Malformed`](TokenError::Malformed) without it; the address returned is then
    /// lower-cased, as it was signed.
    pub fn verify_unsubscribe(
        &self,
        token: &str,
        address: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Subject, TokenError> {
        if token.starts_with(V1_PREFIX) {
            let claims = self.verify(token, Purpose::Unsubscribe, now)?;
            return match (address, &claims.subject) {
                (None, _) => Ok(claims.subject),
                (Some(given), Subject::Address(signed))
                    if given.to_lowercase() == signed.to_lowercase() =>
                {
                    Ok(claims.subject)
                }
                (Some(_), _) => Err(TokenError::Tampered),
            };
        }
        let address = address.ok_or(TokenError::Malformed)?;
        let tag = decode_hex(token).ok_or(TokenError::Malformed)?;
        if address.is_empty() || address.len() > MAX_ADDRESS_BYTES {
            return Err(TokenError::Malformed);
        }
        let lower = address.to_lowercase();
        self.legacy
            .clone()
            .chain_update(lower.as_bytes())
            .verify_truncated_left(&tag)
            .map_err(|_| TokenError::Tampered)?;
        Ok(Subject::Address(lower))
    }

    /// Decodes a version-1 token and checks its tag; nothing about the payload is believed
    /// before that.
    fn authenticate(&self, token: &str) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::Malformed);
        }
        let body = token.strip_prefix(V1_PREFIX).ok_or(TokenError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Malformed)?;
        // purpose, expiry, subject kind, and the shortest subject (an empty address).
        const MIN_PAYLOAD: usize = 1 + 8 + 1 + 2;
        if bytes.len() < MIN_PAYLOAD + TAG_BYTES {
            return Err(TokenError::Malformed);
        }
        let (payload, tag) = bytes.split_at(bytes.len() - TAG_BYTES);
        self.v1
            .clone()
            .chain_update(payload)
            .verify_slice(tag)
            .map_err(|_| TokenError::Tampered)?;
        parse_payload(payload).ok_or(TokenError::Malformed)
    }
}

/// The claims in an authenticated payload; `None` if it does not follow the format (which only
/// a bug in the issuer, or a leaked secret, could produce).
fn parse_payload(payload: &[u8]) -> Option<Claims> {
    let (&purpose, rest) = payload.split_first()?;
    let purpose = Purpose::from_code(purpose)?;
    let (expires, rest) = rest.split_first_chunk::<8>()?;
    let expires = DateTime::from_timestamp(i64::from_be_bytes(*expires), 0)?;
    let (&kind, rest) = rest.split_first()?;
    let (subject, data) = match kind {
        1 => {
            let (len, rest) = rest.split_first_chunk::<2>()?;
            let len = usize::from(u16::from_be_bytes(*len));
            if len > MAX_ADDRESS_BYTES || len > rest.len() {
                return None;
            }
            let (address, data) = rest.split_at(len);
            let address = std::str::from_utf8(address).ok()?;
            (Subject::Address(address.to_string()), data)
        }
        2 => {
            let (id, data) = rest.split_first_chunk::<8>()?;
            (Subject::Id(u64::from_be_bytes(*id)), data)
        }
        _ => return None,
    };
    Some(Claims {
        purpose,
        subject,
        expires,
        data: data.to_vec(),
    })
}

/// The 16 bytes a legacy token spells in hexadecimal (either letter case), or `None`.
fn decode_hex(text: &str) -> Option<[u8; LEGACY_HEX_CHARS / 2]> {
    let bytes = text.as_bytes();
    if bytes.len() != LEGACY_HEX_CHARS {
        return None;
    }
    let mut out = [0u8; LEGACY_HEX_CHARS / 2];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *slot = u8::try_from(high * 16 + low).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::message::unsubscribe_token;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).single().unwrap()
    }

    fn key() -> TokenKey {
        TokenKey::new(b"a secret of reasonable length, 32+").unwrap()
    }

    fn claims(purpose: Purpose) -> Claims {
        Claims {
            purpose,
            subject: Subject::Address("Li.Wei@Example.com".into()),
            expires: now() + Duration::hours(48),
            data: Vec::new(),
        }
    }

    #[test]
    fn a_token_round_trips_and_is_url_safe() {
        let key = key();
        for purpose in [Purpose::Confirm, Purpose::Unsubscribe, Purpose::Preferences] {
            let mut c = claims(purpose);
            c.data = "名前\0news,tech".as_bytes().to_vec();
            let token = key.issue(&c).unwrap();
            assert!(token.starts_with("v1."));
            assert!(token[3..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(key.verify(&token, purpose, now()).unwrap(), c);
        }
        let by_id = Claims {
            subject: Subject::Id(u64::MAX),
            ..claims(Purpose::Preferences)
        };
        let token = key.issue(&by_id).unwrap();
        assert_eq!(
            key.verify(&token, Purpose::Preferences, now()).unwrap(),
            by_id
        );
    }

    #[test]
    fn expiry_is_inclusive_to_the_second() {
        let key = key();
        let c = claims(Purpose::Confirm);
        let token = key.issue(&c).unwrap();
        assert!(key.verify(&token, Purpose::Confirm, c.expires).is_ok());
        assert_eq!(
            key.verify(&token, Purpose::Confirm, c.expires + Duration::seconds(1)),
            Err(TokenError::Expired { at: c.expires })
        );
        // Sub-second parts of the expiry are dropped when signing: never later than asked.
        let precise = Claims {
            expires: c.expires + Duration::milliseconds(999),
            ..c.clone()
        };
        let token = key.issue(&precise).unwrap();
        assert_eq!(
            key.verify(&token, Purpose::Confirm, now()).unwrap().expires,
            c.expires
        );
    }

    #[test]
    fn another_purpose_or_another_secret_is_refused() {
        let token = key().issue(&claims(Purpose::Confirm)).unwrap();
        assert_eq!(
            key().verify(&token, Purpose::Unsubscribe, now()),
            Err(TokenError::WrongPurpose {
                expected: Purpose::Unsubscribe,
                found: Purpose::Confirm
            })
        );
        let other = TokenKey::new(b"another secret").unwrap();
        assert_eq!(
            other.verify(&token, Purpose::Confirm, now()),
            Err(TokenError::Tampered)
        );
        // An expired token of another secret says nothing about its expiry.
        let late = now() + Duration::days(365);
        assert_eq!(
            other.verify(&token, Purpose::Confirm, late),
            Err(TokenError::Tampered)
        );
    }

    #[test]
    fn a_changed_payload_is_tampered() {
        let key = key();
        let token = key.issue(&claims(Purpose::Confirm)).unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(&token[3..]).unwrap();
        // Turn the confirmation into an unsubscribe, and push the expiry out.
        bytes[0] = Purpose::Unsubscribe.code();
        let forged = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(
            key.verify(&forged, Purpose::Unsubscribe, now()),
            Err(TokenError::Tampered)
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&token[3..]).unwrap();
        bytes[8] ^= 0x40;
        let forged = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(
            key.verify(&forged, Purpose::Confirm, now()),
            Err(TokenError::Tampered)
        );
    }

    #[test]
    fn malformed_tokens_are_named_so() {
        let key = key();
        let token = key.issue(&claims(Purpose::Confirm)).unwrap();
        for bad in [
            String::new(),
            "v1.".to_string(),
            "v1".to_string(),
            "v2.".to_string() + &token[3..],
            token.replacen("v1.", "V1.", 1),
            format!("{token}="),
            format!("{token} "),
            format!(" {token}"),
            token[..token.len() - 1].to_string() + "+",
            format!("v1.{}", URL_SAFE_NO_PAD.encode([0u8; 40])),
            format!("v1.{}", "A".repeat(MAX_TOKEN_CHARS)),
        ] {
            assert_eq!(
                key.verify(&bad, Purpose::Confirm, now()),
                Err(TokenError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn issuing_refuses_what_it_cannot_carry() {
        let key = key();
        let long = Claims {
            subject: Subject::Address("a".repeat(MAX_ADDRESS_BYTES + 1)),
            ..claims(Purpose::Confirm)
        };
        assert_eq!(key.issue(&long), Err(IssueError::AddressTooLong));
        let heavy = Claims {
            data: vec![7; MAX_TOKEN_CHARS],
            ..claims(Purpose::Confirm)
        };
        assert_eq!(key.issue(&heavy), Err(IssueError::TooLong));
        // The longest that may be issued verifies.
        let mut c = claims(Purpose::Confirm);
        while key.issue(&c).is_ok() {
            c.data.push(b'x');
        }
        c.data.pop();
        let token = key.issue(&c).unwrap();
        assert!(token.len() <= MAX_TOKEN_CHARS && token.len() > MAX_TOKEN_CHARS - 4);
        assert_eq!(key.verify(&token, Purpose::Confirm, now()).unwrap(), c);
    }

    #[test]
    fn the_digests_unsubscribe_tokens_keep_working() {
        let secret = b"the site's secret";
        let key = TokenKey::new(secret).unwrap();
        let sent = unsubscribe_token(secret, "Li.Wei@Example.com");
        assert_eq!(key.legacy_token("Li.Wei@Example.com"), sent);
        let far = now() + Duration::days(3650);
        assert_eq!(
            key.verify_unsubscribe(&sent, Some("li.wei@example.com"), far),
            Ok(Subject::Address("li.wei@example.com".into()))
        );
        assert_eq!(
            key.verify_unsubscribe(&sent.to_uppercase(), Some("LI.WEI@example.com"), far),
            Ok(Subject::Address("li.wei@example.com".into()))
        );
        // Another address, another secret, no address, a changed digit.
        assert_eq!(
            key.verify_unsubscribe(&sent, Some("someone@example.com"), far),
            Err(TokenError::Tampered)
        );
        assert_eq!(
            TokenKey::new(b"other").unwrap().verify_unsubscribe(
                &sent,
                Some("li.wei@example.com"),
                far
            ),
            Err(TokenError::Tampered)
        );
        assert_eq!(
            key.verify_unsubscribe(&sent, None, far),
            Err(TokenError::Malformed)
        );
        let flipped: String = sent
            .char_indices()
            .map(|(i, c)| {
                if i == 5 {
                    if c == '0' {
                        '1'
                    } else {
                        '0'
                    }
                } else {
                    c
                }
            })
            .collect();
        assert_eq!(
            key.verify_unsubscribe(&flipped, Some("li.wei@example.com"), far),
            Err(TokenError::Tampered)
        );
        for bad in [
            &sent[..31],
            "g".repeat(32).as_str(),
            "+1".repeat(16).as_str(),
        ] {
            assert_eq!(
                key.verify_unsubscribe(bad, Some("li.wei@example.com"), far),
                Err(TokenError::Malformed)
            );
        }
    }

    #[test]
    fn version_1_unsubscribe_tokens_are_checked_against_the_link() {
        let key = key();
        let token = key.issue(&claims(Purpose::Unsubscribe)).unwrap();
        let signed = Subject::Address("Li.Wei@Example.com".into());
        assert_eq!(
            key.verify_unsubscribe(&token, None, now()),
            Ok(signed.clone())
        );
        assert_eq!(
            key.verify_unsubscribe(&token, Some("li.wei@example.COM"), now()),
            Ok(signed)
        );
        assert_eq!(
            key.verify_unsubscribe(&token, Some("mallory@example.com"), now()),
            Err(TokenError::Tampered)
        );
        let confirm = key.issue(&claims(Purpose::Confirm)).unwrap();
        assert!(matches!(
            key.verify_unsubscribe(&confirm, None, now()),
            Err(TokenError::WrongPurpose { .. })
        ));
        assert!(matches!(
            key.verify_unsubscribe(&token, None, now() + Duration::days(3)),
            Err(TokenError::Expired { .. })
        ));
        // The legacy format is not a way around the version-1 checks: a v1 tag's first 16
        // bytes, in hex, are no legacy token.
        let bytes = URL_SAFE_NO_PAD.decode(&token[3..]).unwrap();
        let hex: String = bytes[bytes.len() - 32..][..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            key.verify_unsubscribe(&hex, Some("li.wei@example.com"), now()),
            Err(TokenError::Tampered)
        );
    }

    #[test]
    fn the_secret_is_read_as_the_digest_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "  file secret \n").unwrap();
        let settings = DigestSettings {
            secret_env: "GAZETTE_TEST_SERVE_TOKEN_SECRET_UNSET".into(),
            secret_file: Some("secret".into()),
            ..DigestSettings::default()
        };
        let key = TokenKey::load(dir.path(), &settings).unwrap().unwrap();
        let sent = unsubscribe_token(b"file secret", "a@example.com");
        assert!(key
            .verify_unsubscribe(&sent, Some("a@example.com"), now())
            .is_ok());
        let none = DigestSettings {
            secret_file: None,
            ..settings.clone()
        };
        assert!(TokenKey::load(dir.path(), &none).unwrap().is_none());
        let missing = DigestSettings {
            secret_file: Some("nope".into()),
            ..settings.clone()
        };
        assert!(matches!(
            TokenKey::load(dir.path(), &missing),
            Err(SecretError::Read { .. })
        ));
        std::fs::write(dir.path().join("secret"), " \n").unwrap();
        assert!(matches!(
            TokenKey::load(dir.path(), &settings),
            Err(SecretError::Empty)
        ));
        assert!(matches!(TokenKey::new(b""), Err(SecretError::Empty)));
    }

    #[test]
    fn debug_output_shows_no_secret_and_no_address() {
        let mut c = claims(Purpose::Confirm);
        c.data = b"Wei".to_vec();
        let text = format!("{:?} {c:?}", key());
        // Neither the secret, the address, nor the data (as text or as bytes: 87 is `W`).
        for leak in ["secret", "Li.Wei", "Wei", "87"] {
            assert!(!text.contains(leak), "{text}");
        }
        assert!(text.contains("data_bytes: 3"), "{text}");
    }

    /// A valid token with one edit: a character replaced, inserted or removed, or cut short.
    fn mutated(token: String) -> impl Strategy<Value = String> {
        let len = token.len();
        (0..4u8, 0..len, any::<char>()).prop_map(move |(kind, at, c)| {
            let mut t = token.clone();
            match kind {
                0 => {
                    let old = t.remove(at);
                    t.insert(at, if c == old { '\u{0}' } else { c });
                }
                1 => t.insert(at, c),
                2 => {
                    t.remove(at);
                }
                _ => t.truncate(at),
            }
            t
        })
    }

    proptest! {
        #[test]
        fn random_strings_never_verify(s in ".{0,200}", b in proptest::collection::vec(any::<u8>(), 0..120)) {
            let key = key();
            for text in [s.clone(), format!("v1.{s}"), format!("v1.{}", URL_SAFE_NO_PAD.encode(&b))] {
                for purpose in [Purpose::Confirm, Purpose::Unsubscribe, Purpose::Preferences] {
                    prop_assert!(key.verify(&text, purpose, now()).is_err());
                }
                prop_assert!(key.verify_unsubscribe(&text, Some("a@example.com"), now()).is_err());
                prop_assert!(key.verify_unsubscribe(&text, Some(&s), now()).is_err());
                prop_assert!(key.verify_unsubscribe(&text, None, now()).is_err());
            }
        }

        #[test]
        fn random_hex_is_no_legacy_token(hex in "[0-9a-f]{32}") {
            prop_assert_eq!(
                key().verify_unsubscribe(&hex, Some("a@example.com"), now()),
                Err(TokenError::Tampered)
            );
        }

        #[test]
        fn mutated_tokens_never_verify(
            t in mutated(key().issue(&claims(Purpose::Unsubscribe)).unwrap())
        ) {
            let key = key();
            prop_assert!(key.verify(&t, Purpose::Unsubscribe, now()).is_err());
            prop_assert!(key.verify_unsubscribe(&t, None, now()).is_err());
        }

        #[test]
        fn mutated_legacy_tokens_never_verify(
            t in mutated(unsubscribe_token(b"a secret of reasonable length, 32+", "a@example.com"))
        ) {
            // An edit that only changes the letter case of a hex digit spells the same bytes.
            let same = t.len() == 32 && t.eq_ignore_ascii_case(
                &unsubscribe_token(b"a secret of reasonable length, 32+", "a@example.com"));
            prop_assume!(!same);
            prop_assert!(key().verify_unsubscribe(&t, Some("a@example.com"), now()).is_err());
        }
    }
}

//! The links the service mails and the digests carry: `{serve_url}/confirm?token=…`,
//! `{serve_url}/unsubscribe?token=…` and `{serve_url}/preferences?token=…`, each with a
//! [`token`](super::token) signed for its purpose.

use chrono::{DateTime, TimeDelta, Utc};

use super::token::{Claims, IssueError, Purpose, Subject, TokenKey};

/// The service's public address (`digest.serve_url`), checked: an `http://` or `https://` URL
/// with a host, no user name, password, query or fragment; kept without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrl(String);

impl ServiceUrl {
    /// Checks `digest.serve_url`; the error says what is wrong with it, in words.
    pub fn parse(text: &str) -> Result<ServiceUrl, String> {
        crate::config::plain_service_url(text).map(ServiceUrl)
    }

    /// The address, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{serve_url}/{route}?token={token}`.
    pub fn link(&self, route: &str, token: &str) -> String {
        format!("{}/{route}?token={token}", self.0)
    }
}

/// Signs a token for `purpose` about `address`, valid for `valid_for` from `now`, carrying
/// `data`.
pub fn issue(
    key: &TokenKey,
    purpose: Purpose,
    address: &str,
    now: DateTime<Utc>,
    valid_for: TimeDelta,
    data: &[u8],
) -> Result<String, IssueError> {
    key.issue(&Claims {
        purpose,
        subject: Subject::Address(address.to_string()),
        expires: now + valid_for,
        data: data.to_vec(),
    })
}

/// The link to the service's unsubscribe page (and RFC 8058 one-click POST) for `address`.
pub fn unsubscribe_link(
    base: &ServiceUrl,
    key: &TokenKey,
    address: &str,
    now: DateTime<Utc>,
    valid_for: TimeDelta,
) -> Result<String, IssueError> {
    let token = issue(key, Purpose::Unsubscribe, address, now, valid_for, &[])?;
    Ok(base.link("unsubscribe", &token))
}

/// The link to the preferences page of `address`.
pub fn preferences_link(
    base: &ServiceUrl,
    key: &TokenKey,
    address: &str,
    now: DateTime<Utc>,
    valid_for: TimeDelta,
) -> Result<String, IssueError> {
    let token = issue(key, Purpose::Preferences, address, now, valid_for, &[])?;
    Ok(base.link("preferences", &token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_url_is_plain_http_without_a_trailing_slash() {
        let url = ServiceUrl::parse("https://news.example.org/newsletter/").unwrap();
        assert_eq!(url.as_str(), "https://news.example.org/newsletter");
        assert_eq!(
            url.link("confirm", "v1.abc"),
            "https://news.example.org/newsletter/confirm?token=v1.abc"
        );
        for bad in [
            "news.example.org",
            "ftp://news.example.org/",
            "https://user:pw@news.example.org/",
            "https://news.example.org/?a=b",
            "https://news.example.org/#x",
        ] {
            assert!(ServiceUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unsubscribe_link_verifies_for_its_address_only() {
        let key = TokenKey::new(b"a secret for the links test").unwrap();
        let base = ServiceUrl::parse("http://127.0.0.1:8080").unwrap();
        let now = Utc::now();
        let link =
            unsubscribe_link(&base, &key, "li@example.com", now, TimeDelta::days(1)).unwrap();
        let token = link.split_once("token=").unwrap().1;
        assert_eq!(
            key.verify_unsubscribe(token, None, now),
            Ok(Subject::Address("li@example.com".into()))
        );
        assert!(key
            .verify_unsubscribe(token, Some("other@example.com"), now)
            .is_err());
        let prefs =
            preferences_link(&base, &key, "li@example.com", now, TimeDelta::days(1)).unwrap();
        let token = prefs.split_once("token=").unwrap().1;
        assert!(key.verify_unsubscribe(token, None, now).is_err());
        assert!(key.verify(token, Purpose::Preferences, now).is_ok());
    }
}

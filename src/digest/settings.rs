//! The `digest:` section of gazette's settings.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

impl DigestSettings {
    /// The `digest:` section of the site's gazette settings (key by key from `_config.yml` and
    /// `gazette.yml`), with warnings for keys it does not know.
    pub fn of(
        config: &crate::config::SiteConfig,
    ) -> Result<(DigestSettings, Vec<crate::problem::Problem>), crate::problem::Problem> {
        config.section("digest")
    }
}

/// How the digest is made and sent. Paths are relative to the site folder.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct DigestSettings {
    /// The sender, e.g. `财经新闻镜像 <digest@example.com>`.
    pub from: Option<String>,
    /// The `Reply-To` address, if replies should go elsewhere than `from`.
    pub reply_to: Option<String>,
    /// The subject, a Handlebars template over the same data as the body.
    pub subject: String,
    /// The subscribers file (`.yml`/`.yaml` or `.csv`).
    pub subscribers: PathBuf,
    /// A folder holding `digest.html.hbs`, `digest.txt.hbs` and/or the archive's
    /// `digest-index.html.hbs` to use instead of the bundled templates.
    pub templates: Option<PathBuf>,
    /// Categories in the order the email shows them; the others follow by name.
    pub category_order: Vec<String>,
    /// The heading for posts without a category.
    pub uncategorized: String,
    /// How many characters of each excerpt the email shows.
    pub excerpt_chars: usize,
    /// `List-Id` (default: the site's host).
    pub list_id: Option<String>,
    /// An https URL for one-click unsubscribe; `{address}` and `{token}` are filled in.
    pub unsubscribe_url: Option<String>,
    /// An address that unsubscribes whoever writes to it (`List-Unsubscribe: <mailto:…>`).
    pub unsubscribe_mailto: Option<String>,
    /// The environment variable holding the secret that keys unsubscribe tokens.
    pub secret_env: String,
    /// A file holding that secret (used when the variable is unset).
    pub secret_file: Option<PathBuf>,
    /// The folder for the ledger, relative to the site.
    pub state: PathBuf,
    /// Where messages go when no SMTP server is configured.
    pub outbox: PathBuf,
    /// The SMTP server to send through; `None` writes messages to `outbox` instead.
    pub smtp: Option<SmtpSettings>,
    /// The public address of `gazette serve` (e.g. `https://news.example.org/newsletter`):
    /// when set, digests carry its unsubscribe links instead of `unsubscribe_url`'s, and the
    /// service's mails link to it.
    pub serve_url: Option<String>,
    /// How `gazette serve` runs.
    pub serve: ServeSettings,
    /// The folder, relative to the site, that the web archive of digests is written into
    /// (`_site/digest` by default); `None` (`archive: ""` or an empty `archive:`) writes no
    /// archive.
    #[serde(deserialize_with = "empty_is_off")]
    pub archive: Option<PathBuf>,
    /// The archive folder's public URL (e.g. `https://example.org/digest/`); by default derived
    /// from the site's `url` and `baseurl` when the folder is inside Jekyll's destination.
    pub archive_url: Option<String>,
}

/// `archive:` read as a path, where an empty value (or none at all) turns the archive off.
fn empty_is_off<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let value: Option<PathBuf> = Option::deserialize(d)?;
    Ok(value.filter(|p| !p.as_os_str().is_empty()))
}

/// The settings of `gazette serve` (`digest: serve:`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct ServeSettings {
    /// The address to listen on (`--listen` wins); loopback by default.
    pub listen: String,
    /// Reverse proxies (addresses or blocks such as `10.0.0.0/8`) whose forwarding header is
    /// believed; none by default (the client is the socket's peer).
    pub trusted_proxies: Vec<String>,
    /// The forwarding header those proxies write: `x-forwarded-for` or `forwarded`.
    pub proxy_header: ProxyHeaderSetting,
    /// Requests a client may make at once before it is limited.
    pub client_burst: u32,
    /// Seconds for one more request of a client's allowance to come back.
    pub client_interval_secs: u64,
    /// Sign-ups for one email address at once (each mails it).
    pub address_burst: u32,
    /// Seconds for one more sign-up of an address's allowance to come back.
    pub address_interval_secs: u64,
    /// How many clients and addresses each limiter remembers at most.
    pub limiter_capacity: usize,
    /// Seconds a request may take, body included, before it is answered 408.
    pub request_timeout_secs: u64,
    /// Hours a confirmation link stays valid.
    pub confirm_hours: u32,
    /// Days an unsubscribe or preferences link in a digest or mail stays valid.
    pub link_days: u32,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            listen: "127.0.0.1:8080".into(),
            trusted_proxies: Vec::new(),
            proxy_header: ProxyHeaderSetting::default(),
            client_burst: 20,
            client_interval_secs: 3,
            address_burst: 2,
            address_interval_secs: 600,
            limiter_capacity: 65_536,
            request_timeout_secs: 10,
            confirm_hours: 48,
            link_days: 400,
        }
    }
}

/// Which forwarding header a trusted proxy writes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyHeaderSetting {
    /// `X-Forwarded-For` (nginx, Caddy).
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

impl Default for DigestSettings {
    fn default() -> Self {
        DigestSettings {
            from: None,
            reply_to: None,
            subject: "{{site.title}} · {{period.label}}".into(),
            subscribers: PathBuf::from("subscribers.yml"),
            templates: None,
            category_order: Vec::new(),
            uncategorized: "Other".into(),
            excerpt_chars: 140,
            list_id: None,
            unsubscribe_url: None,
            unsubscribe_mailto: None,
            secret_env: "GAZETTE_SECRET".into(),
            secret_file: None,
            state: PathBuf::from(".gazette"),
            outbox: PathBuf::from(".gazette/outbox"),
            smtp: None,
            serve_url: None,
            serve: ServeSettings::default(),
            archive: Some(PathBuf::from("_site/digest")),
            archive_url: None,
        }
    }
}

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No encryption: only to a loopback host, or with `allow_plain: true`.
    None,
}

/// An SMTP server.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct SmtpSettings {
    /// The server's host name.
    pub host: String,
    /// Default: 587 for STARTTLS, 465 for implicit TLS, 25 for none.
    pub port: Option<u16>,
    /// How the connection is secured (default: STARTTLS).
    pub tls: TlsMode,
    /// Allow `tls: none` to a host that is not loopback.
    pub allow_plain: bool,
    /// The user to log in as; `None` sends without logging in.
    pub username: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
    /// A file holding the password (its first line).
    pub password_file: Option<PathBuf>,
    /// Extra trusted root certificates (PEM), e.g. for a private CA.
    pub ca_file: Option<PathBuf>,
    /// Seconds to wait for the server at each step.
    pub timeout_secs: u64,
    /// Connections used at once.
    pub concurrency: usize,
    /// Messages per second at most (0: no limit).
    pub rate: f64,
    /// Attempts for a message answered with a 4xx (or whose connection failed before it was
    /// handed over).
    pub attempts: u32,
    /// The first wait before a retry, doubled each time.
    pub retry_delay_ms: u64,
    /// The name given in EHLO (default: this machine's).
    pub hello_name: Option<String>,
    /// Extra headers to add (for instance a tag the relay wants).
    pub headers: BTreeMap<String, String>,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: String::new(),
            port: None,
            tls: TlsMode::default(),
            allow_plain: false,
            username: None,
            password_env: None,
            password_file: None,
            ca_file: None,
            timeout_secs: 30,
            concurrency: 4,
            rate: 0.0,
            attempts: 4,
            retry_delay_ms: 1000,
            hello_name: None,
            headers: BTreeMap::new(),
        }
    }
}

impl fmt::Debug for SmtpSettings {
    // Written out so that nothing secret can ever reach a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password_env", &self.password_env)
            .finish_non_exhaustive()
    }
}

impl SmtpSettings {
    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Starttls => 587,
            TlsMode::Implicit => 465,
            TlsMode::None => 25,
        })
    }
}

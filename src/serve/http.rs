//! `gazette serve`: the HTTP service for sign-up with double opt-in, one-click unsubscribe
//! (RFC 8058) and preferences, on axum and tokio.
//!
//! # Routes
//!
//! - `GET /subscribe`: the sign-up form (the site's categories as checkboxes).
//! - `POST /subscribe` (`address`, `name`, `categories`, `return_to`, URL-encoded): limited per
//!   client and per address, validated strictly, recorded as pending in the subscriber store,
//!   and answered with a mail: a signed, expiring confirmation link, or, for an address that is
//!   subscribed already, its preferences link. The page says the same either way.
//! - `GET /confirm?token=…`: confirms the sign-up (a link works once).
//! - `GET /unsubscribe?token=…` (or the digests' older `?address=…&token=…`): a page with one
//!   button; it never unsubscribes by itself, since mail scanners open links.
//! - `POST /unsubscribe?token=…` with `List-Unsubscribe=One-Click` in the body: unsubscribes at
//!   once, in the ledger and the store (the button posts the same).
//! - `GET /preferences?token=…` and `POST /preferences?token=…`: change categories, or leave.
//!
//! Every response carries a strict `Content-Security-Policy`, `X-Content-Type-Options`,
//! `Referrer-Policy`, `X-Frame-Options` and `Cache-Control: no-store`. A body over
//! [`MAX_BODY_BYTES`] is answered 413, a request that takes longer than
//! `serve.request_timeout_secs` 408. Tokens travel in the query of every link and form, so a
//! request without a genuine token can change nothing; the sign-up is the one request without
//! a token, and all it can do is mail a link to the address given, within the limits.
//!
//! The subscriber store is synchronous: every call to it (and every mail) runs on tokio's
//! blocking pool, and a request's answer is sent only once its change is committed.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, TimeDelta, Utc};
use lettre::Address;
use serde_json::{json, Value};

use super::client::{limit_key, ProxyHeader, ProxyTrust};
use super::form::{FieldError, SignUpForm, SiteBase};
use super::limit::{Limited, Limiter, Quota};
use super::links::{self, ServiceUrl};
use super::mail::{MailError, Outgoing};
use super::pages::{Lang, Pages, PagesError, SiteInfo, Template};
use super::token::{Purpose, Subject, TokenError, TokenKey};
use crate::collect::Post;
use crate::config::SiteConfig;
use crate::digest::settings::{DigestSettings, ProxyHeaderSetting};
use crate::digest::store::{
    Confirmation, SignUp, SqliteStore, Status, StoreError, SubscriberStore, Token,
};

pub use super::form::MAX_BODY_BYTES;

/// The Content-Security-Policy of every response: no script, no frame, styles from the page
/// itself, forms only back to the service.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Why the service cannot start or stopped. None names a subscriber.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A setting the service cannot use, said in full.
    #[error("{0}")]
    Setting(String),
    /// A template is missing, unreadable or invalid.
    #[error(transparent)]
    Pages(#[from] PagesError),
    /// The subscriber store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The digest's ledger cannot be opened.
    #[error(transparent)]
    Ledger(#[from] crate::digest::ledger::LedgerError),
    /// The mail settings cannot be used.
    #[error(transparent)]
    Mail(#[from] MailError),
    /// The listening socket or the runtime failed.
    #[error("{what}: {source}")]
    Io {
        /// What the service was doing.
        what: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// A category on the forms: as posts write it, and as it is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// As posts write it (what the store and the digest keep).
    pub name: String,
    /// As shown (`gazette.category_names`, else the name).
    pub display: String,
}

/// The site's categories, in the digest's order: `digest.category_order` first, then by the
/// name shown. Drafts do not count.
pub fn site_categories(
    posts: &[Post],
    config: &SiteConfig,
    settings: &DigestSettings,
) -> Vec<Category> {
    let names: BTreeSet<&String> = posts
        .iter()
        .filter(|p| !p.draft)
        .flat_map(|p| p.categories.iter())
        .collect();
    let mut categories: Vec<Category> = names
        .into_iter()
        .map(|name| Category {
            name: name.clone(),
            display: config
                .gazette
                .category_names
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.clone()),
        })
        .collect();
    let rank = |c: &Category| {
        settings
            .category_order
            .iter()
            .position(|o| *o == c.name)
            .unwrap_or(usize::MAX)
    };
    categories.sort_by(|a, b| (rank(a), &a.display).cmp(&(rank(b), &b.display)));
    categories
}

/// Everything a request needs, shared by all of them.
struct App {
    service: ServiceUrl,
    key: TokenKey,
    pages: Pages,
    categories: Vec<Category>,
    category_names: BTreeSet<String>,
    site_base: Option<SiteBase>,
    trust: ProxyTrust,
    clients: Limiter,
    addresses: Limiter,
    store: Mutex<SqliteStore>,
    /// The digest's ledger, kept open: a one-click unsubscribe records there too, and opening
    /// it for every request was most of that request's cost.
    ledger: Mutex<crate::digest::ledger::Ledger>,
    outgoing: Outgoing,
    confirm_for: TimeDelta,
    link_for: TimeDelta,
    timeout: Duration,
}

/// The service, set up and ready to listen.
pub struct Service {
    app: Arc<App>,
    listen: String,
    /// Things the person starting the service should know (no subscriber data).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Reads the `digest:` settings (`serve_url` and the secret are required), loads the
    /// templates, opens (or creates) the subscriber store and sets up the limits and the mail
    /// transport. `posts` give the categories offered; `listen` overrides `serve.listen`.
    pub fn new(
        site: &Path,
        config: &SiteConfig,
        posts: &[Post],
        listen: Option<&str>,
    ) -> Result<Service, ServeError> {
        let (settings, _) =
            DigestSettings::of(config).map_err(|p| ServeError::Setting(p.to_string()))?;
        let serve = &settings.serve;
        let service = ServiceUrl::parse(settings.serve_url.as_deref().ok_or_else(|| {
            ServeError::Setting(
                "set digest.serve_url to the service's public address (e.g. https://news.example.org/newsletter): its links are mailed".into(),
            )
        })?)
        .map_err(ServeError::Setting)?;
        let key = TokenKey::load(site, &settings)
            .map_err(|e| ServeError::Setting(e.to_string()))?
            .ok_or_else(|| {
                ServeError::Setting(format!(
                    "set ${} (or digest.secret_file) to the secret that signs the service's links",
                    settings.secret_env
                ))
            })?;
        let lang = Lang::of(config.lang.as_deref());
        let info = SiteInfo {
            title: crate::collect::body::plain_text(&config.title),
            url: config.site_root().map(String::from).unwrap_or_default(),
        };
        let overrides = settings
            .templates
            .as_ref()
            .map(|t| site.join(t).join("serve"));
        let pages = Pages::new(
            &info,
            lang,
            overrides.as_deref(),
            serve.confirm_hours.max(1),
            serve.link_days.max(1),
        )?;
        let header = match serve.proxy_header {
            ProxyHeaderSetting::XForwardedFor => ProxyHeader::XForwardedFor,
            ProxyHeaderSetting::Forwarded => ProxyHeader::Forwarded,
        };
        let trust = ProxyTrust::new(header, &serve.trusted_proxies)
            .map_err(|e| ServeError::Setting(format!("digest.serve.trusted_proxies: {e}")))?;
        let quota = |burst: u32, secs: u64, what: &str| {
            NonZeroU32::new(burst)
                .and_then(|b| Quota::new(b, Duration::from_secs(secs)))
                .ok_or_else(|| {
                    ServeError::Setting(format!(
                        "digest.serve.{what}_burst and {what}_interval_secs must both be more than 0"
                    ))
                })
        };
        let capacity = serve.limiter_capacity.max(2);
        let clients = Limiter::new(
            quota(serve.client_burst, serve.client_interval_secs, "client")?,
            capacity,
        );
        let addresses = Limiter::new(
            quota(serve.address_burst, serve.address_interval_secs, "address")?,
            capacity,
        );
        let state = crate::collect::shown(&site.join(&settings.state)).to_path_buf();
        let store = SqliteStore::open(&state)?;
        let ledger = crate::digest::ledger::Ledger::open(&state)?;
        let mut warnings = Vec::new();
        if store.counts()?.total() == 0 && site.join(&settings.subscribers).is_file() {
            warnings.push(format!(
                "the subscriber store is empty but {} exists: once someone signs up, the digest reads the store only; run `gazette subscribers import {}` first to keep those subscribers",
                settings.subscribers.display(),
                settings.subscribers.display()
            ));
        }
        if settings.unsubscribe_url.is_some() {
            warnings.push("digest.unsubscribe_url is set but serve_url wins: new digests link to the service (links in digests already sent keep working)".into());
        }
        let categories = site_categories(posts, config, &settings);
        let outgoing = Outgoing::new(site, &settings)?;
        let app = App {
            service,
            key,
            pages,
            category_names: categories.iter().map(|c| c.name.clone()).collect(),
            categories,
            site_base: SiteBase::from_config(config).ok(),
            trust,
            clients,
            addresses,
            store: Mutex::new(store),
            ledger: Mutex::new(ledger),
            outgoing,
            confirm_for: TimeDelta::hours(i64::from(serve.confirm_hours.max(1))),
            link_for: TimeDelta::days(i64::from(serve.link_days.max(1))),
            timeout: Duration::from_secs(serve.request_timeout_secs.max(1)),
        };
        Ok(Service {
            listen: listen.unwrap_or(&serve.listen).to_string(),
            app: Arc::new(app),
            warnings,
        })
    }

    /// Where the service's mails go, in words.
    pub fn mail_destination(&self) -> String {
        self.app.outgoing.destination()
    }

    /// Listens, calls `on_ready` with the address bound, and serves until SIGTERM or Ctrl-C:
    /// then it stops accepting, lets the requests in flight finish (each within the request
    /// timeout) and returns.
    pub fn run(self, on_ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("gazette-serve")
            .build()
            .map_err(|source| ServeError::Io {
                what: "starting the runtime".into(),
                source,
            })?;
        let grace = self.app.timeout + Duration::from_secs(5);
        let app = self.app;
        let listen = self.listen;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|source| ServeError::Io {
                    what: format!("listening on {listen}"),
                    source,
                })?;
            let bound = listener.local_addr().map_err(|source| ServeError::Io {
                what: "reading the address bound".into(),
                source,
            })?;
            on_ready(bound);
            let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
            let server = axum::serve(
                listener,
                router(app).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                stop_signal().await;
                let _ = stopping_tx.send(true);
            });
            let deadline = async move {
                // Once stopping, the requests in flight have `grace` to finish.
                while !*stopping_rx.borrow_and_update() {
                    if stopping_rx.changed().await.is_err() {
                        break;
                    }
                }
                tokio::time::sleep(grace).await;
            };
            tokio::select! {
                served = server => served.map_err(|source| ServeError::Io {
                    what: "serving".into(),
                    source,
                }),
                () = deadline => {
                    log(format_args!(
                        "connections still open {} s after the stop signal were closed",
                        grace.as_secs()
                    ));
                    Ok(())
                }
            }
        })?;
        // Blocking work (a store commit, a mail) that outlived its request gets a moment.
        runtime.shutdown_timeout(Duration::from_secs(5));
        Ok(())
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// One line on standard error (a failure to write it is ignored: a service must not stop
/// because its log went away).
fn log(text: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "gazette serve: {text}");
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/subscribe", get(subscribe_form).post(subscribe))
        .route("/confirm", get(confirm))
        .route("/unsubscribe", get(unsubscribe_page).post(unsubscribe))
        .route("/preferences", get(preferences_page).post(save_preferences))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Around every request: the size and time limits, and the security headers on every answer.
async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut response = if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        closing(app.error(StatusCode::PAYLOAD_TOO_LARGE, "error_too_large"))
    } else {
        match tokio::time::timeout(app.timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => closing(app.error(StatusCode::REQUEST_TIMEOUT, "error_timeout")),
        }
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Why an unsubscribe could not be recorded.
#[derive(Debug, thiserror::Error)]
enum UnsubscribeError {
    #[error(transparent)]
    Ledger(#[from] crate::digest::ledger::LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl App {
    fn lock_store(&self) -> MutexGuard<'_, SqliteStore> {
        // Every store call is one transaction: a panic elsewhere leaves nothing half done.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a one-click unsubscribe in the ledger (which every digest run honours) and in
    /// the store, as `gazette unsubscribe` does, on the connections the service keeps open;
    /// false when the address had already left.
    fn unsubscribe(&self, address: &Address) -> Result<bool, UnsubscribeError> {
        let in_ledger = self
            .ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unsubscribe(address.as_ref())?;
        let in_store = self.lock_store().unsubscribe(address, Utc::now())?;
        Ok(in_ledger || in_store)
    }

    /// A page, or a plain 500 when the template failed (said in the log).
    fn page(&self, status: StatusCode, html: Result<String, PagesError>) -> Response {
        match html {
            Ok(html) => (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response(),
            Err(e) => {
                log(format_args!("{e}"));
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "internal error\n",
                )
                    .into_response()
            }
        }
    }

    /// A message page: the texts under `heading` and `body`, and a link.
    fn message(
        &self,
        status: StatusCode,
        heading: &str,
        body: &str,
        link: Option<(&str, &str)>,
    ) -> Response {
        let link = link.map(|(href, text)| (href, self.pages.text(text)));
        self.page(
            status,
            self.pages
                .message(self.pages.text(heading), &[self.pages.text(body)], link),
        )
    }

    fn error(&self, status: StatusCode, body: &str) -> Response {
        self.message(status, "error_heading", body, None)
    }

    fn limited(&self, limited: Limited) -> Response {
        let mut response = self.error(StatusCode::TOO_MANY_REQUESTS, "error_limited");
        let secs = limited.retry_after.as_secs().max(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&secs) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }

    fn unavailable(&self, what: &str, error: impl std::fmt::Display) -> Response {
        log(format_args!("{what}: {error}"));
        self.error(StatusCode::SERVICE_UNAVAILABLE, "error_unavailable")
    }

    fn refused(&self, error: TokenError) -> Response {
        match error {
            TokenError::Expired { .. } => self.error(StatusCode::GONE, "error_expired"),
            _ => self.error(StatusCode::BAD_REQUEST, "error_link"),
        }
    }

    /// Counts a request of the client (the peer, or what a trusted proxy says).
    fn check_client(&self, peer: SocketAddr, headers: &HeaderMap) -> Result<(), Box<Response>> {
        let values = self
            .trust
            .header()
            .map(|h| {
                headers
                    .get_all(h.name())
                    .iter()
                    .map(HeaderValue::as_bytes)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let client: IpAddr = self
            .trust
            .client(peer.ip(), values)
            .map_err(|_| Box::new(self.error(StatusCode::BAD_REQUEST, "error_form")))?;
        self.clients
            .check(&limit_key(client))
            .map_err(|l| Box::new(self.limited(l)))
    }

    /// The form's categories, each checked when in `chosen`.
    fn category_boxes(&self, chosen: &[String]) -> Value {
        Value::Array(
            self.categories
                .iter()
                .map(|c| {
                    json!({
                        "name": c.name,
                        "display": c.display,
                        "checked": chosen.contains(&c.name),
                    })
                })
                .collect(),
        )
    }

    /// Where "back to the site" leads: a checked `return_to`, else the site's root.
    fn back_link(&self, return_to: Option<&str>) -> Option<String> {
        let base = self.site_base.as_ref()?;
        Some(
            return_to
                .and_then(|r| base.check_return_to(r).ok())
                .unwrap_or_else(|| base.root().clone())
                .to_string(),
        )
    }

    fn field_text(&self, error: Option<FieldError>) -> Option<&str> {
        error.map(|e| {
            self.pages.text(match e {
                FieldError::Missing => "field_missing",
                FieldError::Repeated => "field_repeated",
                FieldError::TooLong { .. } => "field_too_long",
                FieldError::ForbiddenCharacter => "field_forbidden",
                FieldError::InvalidAddress => "field_invalid_address",
                FieldError::UnknownCategory => "field_unknown_category",
            })
        })
    }

    fn subscribe_page(&self, status: StatusCode, data: Value) -> Response {
        self.page(status, self.pages.render(Template::Subscribe, data))
    }

    /// Mails the confirmation link of a pending sign-up, or the preferences link of an address
    /// that is subscribed already.
    fn mail_sign_up(
        &self,
        outcome: &SignUp,
        address: &Address,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let signed_for = address.to_string();
        let (template, subject, link) = match outcome {
            SignUp::Pending(token) => {
                let token = links::issue(
                    &self.key,
                    Purpose::Confirm,
                    &signed_for,
                    now,
                    self.confirm_for,
                    token.as_str().as_bytes(),
                )
                .map_err(|e| e.to_string())?;
                (
                    Template::ConfirmMail,
                    "confirm_subject",
                    self.service.link("confirm", &token),
                )
            }
            SignUp::AlreadyConfirmed => (
                Template::PreferencesMail,
                "preferences_subject",
                links::preferences_link(&self.service, &self.key, &signed_for, now, self.link_for)
                    .map_err(|e| e.to_string())?,
            ),
        };
        let body = self
            .pages
            .render(template, json!({"link": link, "name": name}))
            .map_err(|e| e.to_string())?;
        self.outgoing
            .send(address, name, self.pages.text(subject), body)
            .map_err(|e| e.to_string())
    }
}

/// The token (and the older links' address) of a link's query. Other parameters (a mail
/// client's tracking tags) are ignored; a repeated one makes the query unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LinkQuery {
    token: String,
    address: Option<String>,
}

impl LinkQuery {
    fn parse(raw: Option<&str>) -> Option<LinkQuery> {
        let raw = raw?;
        if raw.len() > 4096 {
            return None;
        }
        let (mut token, mut address) = (None, None);
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let slot = match name.as_ref() {
                "token" => &mut token,
                "address" => &mut address,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return None;
            }
        }
        Some(LinkQuery {
            token: token?,
            address,
        })
    }

    /// `route?token=…[&address=…]`, relative, for a form on the page the link opened.
    fn action(&self, route: &str) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("token", &self.token);
        if let Some(address) = &self.address {
            query.append_pair("address", address);
        }
        format!("{route}?{}", query.finish())
    }
}

/// Whether an unsubscribe POST says `List-Unsubscribe=One-Click` (RFC 8058), URL-encoded or
/// as `multipart/form-data`.
fn says_one_click(headers: &HeaderMap, body: &[u8]) -> bool {
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if multipart {
        let text = String::from_utf8_lossy(body);
        return text.contains("name=\"List-Unsubscribe\"") && text.contains("One-Click");
    }
    url::form_urlencoded::parse(body)
        .any(|(name, value)| name == "List-Unsubscribe" && value == "One-Click")
}

/// The address an unsubscribe or preferences token is about (the service only signs
/// addresses).
fn subject_address(subject: &Subject) -> Option<Address> {
    match subject {
        Subject::Address(a) => a.parse().ok(),
        Subject::Id(_) => None,
    }
}

async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    work: impl FnOnce(&App) -> T + Send + 'static,
) -> Result<T, Response> {
    let shared = Arc::clone(app);
    tokio::task::spawn_blocking(move || work(&shared))
        .await
        .map_err(|e| app.unavailable("a background task failed", e))
}

async fn not_found(State(app): State<Arc<App>>) -> Response {
    app.error(StatusCode::NOT_FOUND, "error_not_found")
}

async fn subscribe_form(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let return_to = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(name, _)| name == "return_to")
            .map(|(_, value)| value.into_owned())
    });
    let return_to = return_to.filter(|r| {
        app.site_base
            .as_ref()
            .is_some_and(|b| b.check_return_to(r).is_ok())
    });
    let data = json!({
        "heading": app.pages.text("subscribe_heading"),
        "categories": app.category_boxes(&[]),
        "return_to": return_to,
    });
    app.subscribe_page(StatusCode::OK, data)
}

async fn subscribe(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = app.check_client(peer, &headers) {
        return *response;
    }
    let form = match SignUpForm::parse(&body) {
        Ok(form) => form,
        Err(super::form::BodyError::TooLarge) => {
            return app.error(StatusCode::PAYLOAD_TOO_LARGE, "error_too_large")
        }
        Err(_) => return app.error(StatusCode::BAD_REQUEST, "error_form"),
    };
    let return_to = form.return_to.clone();
    let sign_up = match form.validate(&app.category_names) {
        Ok(sign_up) => sign_up,
        Err(errors) => {
            let data = json!({
                "heading": app.pages.text("subscribe_heading"),
                "categories": app.category_boxes(&form.categories),
                "return_to": return_to,
                "form": {
                    "address": form.address.first(),
                    "name": form.name.first(),
                },
                "errors": {
                    "address": app.field_text(errors.address),
                    "name": app.field_text(errors.name),
                    "categories": app.field_text(errors.categories),
                },
            });
            return app.subscribe_page(StatusCode::BAD_REQUEST, data);
        }
    };
    if let Err(limited) = app
        .addresses
        .check(&sign_up.address.to_string().to_lowercase())
    {
        return app.limited(limited);
    }
    let done = blocking(&app, move |app| {
        let now = Utc::now();
        let categories: Vec<String> = sign_up.categories.iter().cloned().collect();
        let outcome = app
            .lock_store()
            .add_pending(&sign_up.address, sign_up.name.as_deref(), &categories, now)
            .map_err(|e| e.to_string())?;
        app.mail_sign_up(&outcome, &sign_up.address, sign_up.name.as_deref(), now)
    })
    .await;
    match done {
        Err(response) => response,
        Ok(Err(e)) => app.unavailable("a sign-up could not be completed", e),
        Ok(Ok(())) => {
            let back = app.back_link(return_to.as_deref());
            app.message(
                StatusCode::OK,
                "check_heading",
                "check_body",
                back.as_deref().map(|b| (b, "back")),
            )
        }
    }
}

async fn confirm(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(response) = app.check_client(peer, &headers) {
        return *response;
    }
    let Some(query) = LinkQuery::parse(query.as_deref()) else {
        return app.error(StatusCode::BAD_REQUEST, "error_link");
    };
    let now = Utc::now();
    let claims = match app.key.verify(&query.token, Purpose::Confirm, now) {
        Ok(claims) => claims,
        Err(e) => return app.refused(e),
    };
    let Some(token) = std::str::from_utf8(&claims.data)
        .ok()
        .and_then(Token::parse)
    else {
        return app.error(StatusCode::BAD_REQUEST, "error_link");
    };
    let confirmed = blocking(&app, move |app| {
        app.lock_store().confirm(&token, now, app.confirm_for)
    })
    .await;
    match confirmed {
        Err(response) => response,
        Ok(Err(e)) => app.unavailable("a confirmation could not be recorded", e),
        Ok(Ok(Confirmation::Expired)) => app.error(StatusCode::GONE, "error_expired"),
        Ok(Ok(Confirmation::Unknown)) => app.error(StatusCode::GONE, "error_used"),
        Ok(Ok(Confirmation::Confirmed(subscription))) => {
            let link = links::issue(
                &app.key,
                Purpose::Preferences,
                subscription.address.as_ref(),
                now,
                app.link_for,
                &[],
            )
            .ok()
            .map(|t| format!("preferences?token={t}"));
            app.message(
                StatusCode::OK,
                "confirmed_heading",
                "confirmed_body",
                link.as_deref().map(|l| (l, "preferences_link")),
            )
        }
    }
}

/// The address an unsubscribe link is for, or the page refusing it.
fn unsubscribe_subject(
    app: &App,
    query: Option<&str>,
) -> Result<(LinkQuery, Address), Box<Response>> {
    let query = LinkQuery::parse(query)
        .ok_or_else(|| Box::new(app.error(StatusCode::BAD_REQUEST, "error_link")))?;
    let subject = app
        .key
        .verify_unsubscribe(&query.token, query.address.as_deref(), Utc::now())
        .map_err(|e| Box::new(app.refused(e)))?;
    let address = subject_address(&subject)
        .ok_or_else(|| Box::new(app.error(StatusCode::BAD_REQUEST, "error_link")))?;
    Ok((query, address))
}

async fn unsubscribe_page(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let (query, address) = match unsubscribe_subject(&app, query.as_deref()) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let preferences = links::issue(
        &app.key,
        Purpose::Preferences,
        address.as_ref(),
        Utc::now(),
        app.link_for,
        &[],
    )
    .ok()
    .map(|t| format!("preferences?token={t}"));
    let data = json!({
        "heading": app.pages.text("unsubscribe_heading"),
        "address": address.to_string(),
        "action": query.action("unsubscribe"),
        "preferences": preferences,
    });
    app.page(
        StatusCode::OK,
        app.pages.render(Template::Unsubscribe, data),
    )
}

async fn unsubscribe(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_, address) = match unsubscribe_subject(&app, query.as_deref()) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    if !says_one_click(&headers, &body) {
        return app.error(StatusCode::BAD_REQUEST, "error_one_click");
    }
    let done = blocking(&app, move |app| app.unsubscribe(&address)).await;
    match done {
        Err(response) => response,
        Ok(Err(e)) => app.unavailable("an unsubscribe could not be recorded", e),
        Ok(Ok(_)) => app.message(
            StatusCode::OK,
            "unsubscribed_heading",
            "unsubscribed_body",
            Some(("subscribe", "subscribe_again")),
        ),
    }
}

/// The address a preferences link is for, or the page refusing it.
fn preferences_subject(
    app: &App,
    query: Option<&str>,
) -> Result<(LinkQuery, Address), Box<Response>> {
    let query = LinkQuery::parse(query)
        .ok_or_else(|| Box::new(app.error(StatusCode::BAD_REQUEST, "error_link")))?;
    if query.address.is_some() {
        return Err(Box::new(app.error(StatusCode::BAD_REQUEST, "error_link")));
    }
    let claims = app
        .key
        .verify(&query.token, Purpose::Preferences, Utc::now())
        .map_err(|e| Box::new(app.refused(e)))?;
    let address = subject_address(&claims.subject)
        .ok_or_else(|| Box::new(app.error(StatusCode::BAD_REQUEST, "error_link")))?;
    Ok((query, address))
}

fn not_subscribed(app: &App) -> Response {
    app.message(
        StatusCode::OK,
        "not_subscribed_heading",
        "not_subscribed_body",
        Some(("subscribe", "subscribe_again")),
    )
}

fn preferences_form(
    app: &App,
    query: &LinkQuery,
    address: &Address,
    chosen: &[String],
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let leave = links::issue(
        &app.key,
        Purpose::Unsubscribe,
        address.as_ref(),
        Utc::now(),
        app.link_for,
        &[],
    );
    let leave = match leave {
        Ok(t) => format!("unsubscribe?token={t}"),
        Err(e) => return app.unavailable("a link could not be signed", e),
    };
    let data = json!({
        "heading": app.pages.text("preferences_heading"),
        "address": address.to_string(),
        "categories": app.category_boxes(chosen),
        "action": query.action("preferences"),
        "leave": leave,
        "error": error,
    });
    app.page(status, app.pages.render(Template::Preferences, data))
}

async fn preferences_page(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let (query, address) = match preferences_subject(&app, query.as_deref()) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let lookup = address.clone();
    let found = blocking(&app, move |app| app.lock_store().get(&lookup)).await;
    match found {
        Err(response) => response,
        Ok(Err(e)) => app.unavailable("the store could not be read", e),
        Ok(Ok(Some(s))) if s.status == Status::Confirmed => {
            preferences_form(&app, &query, &address, &s.categories, None, StatusCode::OK)
        }
        Ok(Ok(_)) => not_subscribed(&app),
    }
}

async fn save_preferences(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(response) = app.check_client(peer, &headers) {
        return *response;
    }
    let (query, address) = match preferences_subject(&app, query.as_deref()) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let form = match SignUpForm::parse(&body) {
        Ok(form) => form,
        Err(_) => return app.error(StatusCode::BAD_REQUEST, "error_form"),
    };
    if form
        .categories
        .iter()
        .any(|c| !app.category_names.contains(c))
    {
        let error = app.field_text(Some(FieldError::UnknownCategory));
        return preferences_form(&app, &query, &address, &[], error, StatusCode::BAD_REQUEST);
    }
    let saved = blocking(&app, move |app| {
        let mut store = app.lock_store();
        match store.get(&address)? {
            Some(s) if s.status == Status::Confirmed => {
                store.set_categories(&address, &form.categories, Utc::now())
            }
            _ => Ok(false),
        }
    })
    .await;
    match saved {
        Err(response) => response,
        Ok(Err(e)) => app.unavailable("the preferences could not be saved", e),
        Ok(Ok(false)) => not_subscribed(&app),
        Ok(Ok(true)) => app.message(
            StatusCode::OK,
            "saved_heading",
            "saved_body",
            Some((query.action("preferences").as_str(), "preferences_link")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_query_takes_one_token_and_ignores_other_parameters() {
        assert_eq!(
            LinkQuery::parse(Some("token=v1.abc&utm_source=x")),
            Some(LinkQuery {
                token: "v1.abc".into(),
                address: None
            })
        );
        assert_eq!(
            LinkQuery::parse(Some("address=li%40example.com&token=0f")),
            Some(LinkQuery {
                token: "0f".into(),
                address: Some("li@example.com".into())
            })
        );
        assert_eq!(LinkQuery::parse(Some("token=a&token=b")), None);
        assert_eq!(LinkQuery::parse(Some("address=a")), None);
        assert_eq!(LinkQuery::parse(None), None);
        let q = LinkQuery::parse(Some("address=li%40example.com&token=0f")).unwrap();
        assert_eq!(
            q.action("unsubscribe"),
            "unsubscribe?token=0f&address=li%40example.com"
        );
    }

    #[test]
    fn one_click_needs_the_rfc_8058_field() {
        let form = HeaderMap::new();
        assert!(says_one_click(&form, b"List-Unsubscribe=One-Click"));
        assert!(says_one_click(&form, b"a=b&List-Unsubscribe=One-Click"));
        assert!(!says_one_click(&form, b""));
        assert!(!says_one_click(&form, b"List-Unsubscribe=Yes"));
        let mut multipart = HeaderMap::new();
        multipart.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=x"),
        );
        let body = b"--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--x--\r\n";
        assert!(says_one_click(&multipart, body));
        assert!(!says_one_click(&multipart, b"--x--\r\n"));
    }
}

//! The digest from start to end, as library calls: [`prepare`] reads the `digest:` settings, the
//! period's posts, the templates and the subscribers; then [`Prepared::preview`],
//! [`Prepared::dry_run`] and [`Prepared::send`] do the rest, and [`Sent`] says what became of
//! every subscriber. A command only maps its arguments to these calls, and the result to output
//! and an exit status; progress goes through [`Progress`], which the command fills in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lettre::message::Mailbox;

use super::archive::{self, Archive};
use super::compose::{self, Composer, Digest, Links, Personal};
use super::ledger::{self, Ledger, LedgerError, State};
use super::message::{self, Envelope};
use super::render::Renderer;
use super::send::{self, Job, Transport};
pub use super::send::{Progress, Silent, Stop};
use super::settings::DigestSettings;
use super::smtp::{Fatal, Server};
use super::store::roster::{self, Roster};
use super::store::transfer::TransferError;
use super::store::{SqliteStore, StoreError, SubscriberStore};
use super::subscribers::Subscriber;
use super::token::{SecretError, TokenKey};
use super::week::Period;
use crate::collect::Post;
use crate::config::SiteConfig;
use crate::problem::Problem;

/// Why a digest could not be prepared or sent. Each says what to do; none is about one
/// subscriber (those are in [`Sent`]).
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// A setting, a template, the subscribers file or a post is wrong: the problem names the
    /// file and line.
    #[error("{0}")]
    Problem(Problem),
    /// A setting gazette cannot use, said in full.
    #[error("{0}")]
    Setting(String),
    /// The digest's sender or reply address is not an address.
    #[error("gazette.digest.{key}: {source}")]
    Address {
        /// The setting: `from` or `reply_to`.
        key: &'static str,
        /// What lettre said about it.
        #[source]
        source: lettre::address::AddressError,
    },
    /// A file the digest needs could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    File {
        /// What gazette was doing, e.g. `reading the secret file`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A message could not be rendered.
    #[error("rendering the digest failed: {0}")]
    Render(#[from] super::render::RenderError),
    /// A message could not be built.
    #[error(transparent)]
    Message(#[from] super::message::MessageError),
    /// The period has no posts for the preview to show.
    #[error("no posts")]
    NoPosts,
    /// The ledger refused (another run holds it, it is not gazette's, the disk…).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The subscriber store refused (another writer holds it, it is not gazette's…).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The SMTP settings cannot make a server.
    #[error("{}", .0.message)]
    Server(Fatal),
}

impl From<Problem> for DigestError {
    fn from(problem: Problem) -> Self {
        DigestError::Problem(problem)
    }
}

impl From<TransferError> for DigestError {
    fn from(error: TransferError) -> Self {
        match error {
            TransferError::Problem(p) => DigestError::Problem(p),
            TransferError::Store(e) => DigestError::Store(e),
            TransferError::Ledger(e) => DigestError::Ledger(e),
            other => DigestError::Setting(other.to_string()),
        }
    }
}

/// What a digest run needs besides the site.
#[derive(Debug, Clone)]
pub struct Request {
    /// The period whose posts the digest shows.
    pub period: Period,
    /// Another subscribers file than the settings' `subscribers`; it wins over the subscriber
    /// store too.
    pub subscribers: Option<PathBuf>,
}

/// What [`prepare`] found.
pub enum Prepare {
    /// The period has no posts: nobody gets an empty digest.
    Empty(Period),
    /// Everything a send needs.
    Ready(Box<Prepared>),
}

/// A digest ready to preview, try or send: settings read, posts chosen and rendered, templates
/// and subscribers loaded.
pub struct Prepared {
    site: PathBuf,
    settings: DigestSettings,
    digest: Digest,
    renderer: Renderer,
    subscribers: Vec<Subscriber>,
    subscribers_path: PathBuf,
    /// Who the store says has left, or came back since the ledger's unsubscribe.
    roster: Roster,
    /// Errors in the subscribers file (those lines are skipped).
    invalid: usize,
    host: String,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    /// The site's secret, which signs the `{token}` of `digest.unsubscribe_url` and the
    /// service's links.
    key: Option<TokenKey>,
    /// `digest.serve_url` and the key its links are signed with, when the service is set up.
    service: Option<(crate::digest::links::ServiceUrl, TokenKey)>,
    list_id: String,
    extra_headers: Vec<(String, String)>,
    state_dir: PathBuf,
    /// The web archive of digests, unless `digest.archive` is empty.
    archive: Option<Archive>,
    /// Problems in the subscribers file (warnings; an error skips its line).
    pub problems: Vec<Problem>,
    /// Warnings that concern the whole digest, in words.
    pub warnings: Vec<String>,
}

/// What a dry run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DryRun {
    /// Messages that would be sent.
    pub would_send: usize,
    /// Subscribers with nothing in their categories.
    pub empty: usize,
}

/// What to do with messages earlier runs did not deliver.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retry {
    /// Send again the messages whose fate is unknown.
    pub unknown: bool,
    /// Send again to subscribers whose server refused permanently (5xx).
    pub failed: bool,
}

/// One subscriber a send did not reach, with the subscribers file's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    /// The subscriber's address, lower-cased as the ledger keys it.
    pub address: String,
    /// What went wrong, as the server or the ledger said it.
    pub error: String,
    /// The line of the subscribers file, or the row's id in the subscriber store (0 when
    /// unknown).
    pub line: usize,
}

/// What became of every subscriber.
#[derive(Debug)]
pub struct Sent {
    /// The period the digest covered.
    pub period: Period,
    /// `via HOST:PORT` or `into OUTBOX`.
    pub destination: String,
    /// The subscribers file (or the subscriber store's file), as messages name it.
    pub subscribers_path: PathBuf,
    /// Messages this run delivered (to the server, or into the outbox).
    pub sent: usize,
    /// Refused by the server, now or in an earlier run (not retried without [`Retry::failed`]).
    pub failed: Vec<Missed>,
    /// Handed over with no answer, now or in an earlier run.
    pub unknown: Vec<Missed>,
    /// Subscribers an earlier run already sent this period's digest to.
    pub already_sent: usize,
    /// Subscribers in the file (or the store) who have unsubscribed since; nothing was sent to
    /// them.
    pub unsubscribed: usize,
    /// Subscribers with nothing in their categories.
    pub empty: usize,
    /// Lines of the subscribers file that are not a subscriber.
    pub invalid: usize,
    /// Why the run stopped early, and how many were left pending.
    pub stopped: Option<(Stop, usize)>,
    /// What became of the period's page in the web archive.
    pub archive: Archived,
}

/// What became of the period's page in the web archive.
#[derive(Debug)]
pub enum Archived {
    /// `digest.archive` is empty: there is no archive.
    Off,
    /// The run stopped: the page is written by the run that completes.
    Skipped,
    /// Written (or found unchanged).
    Written(archive::Written),
    /// Writing failed, and nothing of the archive changed: why.
    Failed(String),
}

impl std::fmt::Display for Sent {
    /// The run's summary line: how many were sent where, failed, unknown, already sent,
    /// unsubscribed, empty and invalid, and why the run stopped, if it did.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} sent {}, {} failed, {} unknown, {} already sent, {} unsubscribed, {} with nothing in their categories, {} invalid in the subscribers file",
            self.period,
            self.sent,
            self.destination,
            self.failed.len(),
            self.unknown.len(),
            self.already_sent,
            self.unsubscribed,
            self.empty,
            self.invalid,
        )?;
        if let Some((stop, pending)) = &self.stopped {
            write!(
                f,
                "; the run stopped ({}): {pending} not sent, left pending for the next run",
                stop.cause
            )?;
        }
        Ok(())
    }
}

impl Sent {
    /// One line per subscriber the run did not reach, `FILE:LINE:1: failed|unknown: address:
    /// error`, failures first.
    pub fn missed_lines(&self) -> Vec<String> {
        let file = self.subscribers_path.display();
        let failed = self
            .failed
            .iter()
            .map(|m| format!("{file}:{}:1: failed: {}: {}", m.line, m.address, m.error));
        let unknown = self.unknown.iter().map(|m| {
            format!(
                "{file}:{}:1: unknown: {}: {} (check the server's log; --resend-unknown sends it again)",
                m.line, m.address, m.error
            )
        });
        failed.chain(unknown).collect()
    }

    /// Whether every message went out (nothing failed, nothing unknown, no stop).
    pub fn all_out(&self) -> bool {
        self.failed.is_empty() && self.unknown.is_empty() && self.stopped.is_none()
    }
}

/// Reads the `digest:` settings, chooses the period's posts, and loads the templates and the
/// subscribers. `posts` may be let go as soon as this returns: the digest keeps what it shows.
pub fn prepare(
    site: &Path,
    config: &SiteConfig,
    posts: &[Post],
    request: &Request,
) -> Result<Prepare, DigestError> {
    // The section's warnings were the site's to report (every command reads it).
    let (settings, _) = DigestSettings::of(config)?;
    let digest = compose::select(site, posts, &request.period, config, &settings)?;
    if digest.post_count == 0 {
        return Ok(Prepare::Empty(request.period.clone()));
    }
    let templates = settings.templates.as_ref().map(|t| site.join(t));
    let renderer = Renderer::new(templates.as_deref(), &settings.subject, config.timezone)?;
    let state_dir = crate::collect::shown(&site.join(&settings.state)).to_path_buf();
    let mut roster = roster::load(
        request.subscribers.as_deref(),
        &site.join(&settings.subscribers),
        &state_dir,
    )?;
    let host = config
        .url
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("localhost")
        .to_string();
    let from: Mailbox = settings
        .from
        .as_deref()
        .ok_or_else(|| DigestError::Setting("set the digest's sender, `from:` (e.g. `Site <digest@example.com>`), under `gazette: digest:` in _config.yml or under `digest:` in gazette.yml".into()))?
        .parse()
        .map_err(|source| DigestError::Address { key: "from", source })?;
    let reply_to: Option<Mailbox> = settings
        .reply_to
        .as_deref()
        .map(|r| r.parse())
        .transpose()
        .map_err(|source| DigestError::Address {
            key: "reply_to",
            source,
        })?;
    let key = TokenKey::load(site, &settings).map_err(|e| match e {
        SecretError::Read { path, source } => DigestError::File {
            what: "reading the secret file",
            path,
            source,
        },
        e @ SecretError::Empty => DigestError::Setting(format!("digest.secret_file: {e}")),
    })?;
    if settings
        .unsubscribe_url
        .as_deref()
        .is_some_and(|u| u.contains("{token}"))
        && key.is_none()
    {
        return Err(DigestError::Setting(format!(
            "digest.unsubscribe_url uses {{token}}: set ${} (or digest.secret_file) to the secret that signs unsubscribe links",
            settings.secret_env
        )));
    }
    let service = match settings.serve_url.as_deref() {
        None => None,
        Some(url) => {
            let url = crate::digest::links::ServiceUrl::parse(url).map_err(DigestError::Setting)?;
            let key = key.clone().ok_or_else(|| {
                    DigestError::Setting(format!(
                        "digest.serve_url is set: set ${} (or digest.secret_file) to the secret that signs its links",
                        settings.secret_env
                    ))
                })?;
            Some((url, key))
        }
    };
    let mut warnings = Vec::new();
    if settings.unsubscribe_url.is_none()
        && settings.unsubscribe_mailto.is_none()
        && service.is_none()
    {
        warnings.push("no digest.unsubscribe_url or unsubscribe_mailto: messages carry no List-Unsubscribe header, which large mailbox providers require".to_string());
    }
    let archive = Archive::of(site, config, &settings, &state_dir);
    if let Some(a) = archive.as_ref().filter(|a| a.url.is_none()) {
        warnings.push(format!(
            "the digest's web archive goes to {}, but its public URL is unknown (set digest.archive_url, or the site's url with the archive inside Jekyll's destination): messages carry no \"view in browser\" link",
            crate::collect::shown(&a.dir).display()
        ));
    }
    let list_id = settings.list_id.clone().unwrap_or_else(|| host.clone());
    let extra_headers = settings
        .smtp
        .as_ref()
        .map(|s| {
            s.headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let invalid = roster.problems.iter().filter(|p| p.is_error()).count();
    let all_problems = std::mem::take(&mut roster.problems);
    Ok(Prepare::Ready(Box::new(Prepared {
        site: site.to_path_buf(),
        settings,
        digest,
        renderer,
        subscribers: std::mem::take(&mut roster.subscribers),
        subscribers_path: roster.path.clone(),
        roster,
        invalid,
        host,
        from,
        reply_to,
        key,
        service,
        list_id,
        extra_headers,
        state_dir,
        archive,
        problems: all_problems,
        warnings,
    })))
}

impl Prepared {
    /// The period the digest covers.
    pub fn period(&self) -> &Period {
        &self.digest.period
    }

    /// How many posts the digest shows.
    pub fn post_count(&self) -> usize {
        self.digest.post_count
    }

    fn composer(&self) -> Composer<'_> {
        Composer::new(
            &self.digest,
            &self.renderer,
            self.settings.unsubscribe_url.is_some() || self.service.is_some(),
            self.settings.unsubscribe_mailto.clone(),
        )
        .with_links(Links {
            preferences: self.service.is_some(),
            view_url: self.view_url(),
            subscribe_url: self.subscribe_url(),
        })
    }

    /// The period's page in the web archive, when there is one and its URL is known.
    pub fn view_url(&self) -> Option<String> {
        self.archive
            .as_ref()
            .and_then(|a| a.page_url(&self.digest.period.label))
    }

    /// The service's sign-up form, when `digest.serve_url` is set.
    fn subscribe_url(&self) -> Option<String> {
        self.service
            .as_ref()
            .map(|(url, _)| format!("{}/subscribe", url.as_str()))
    }

    /// The subscriber's preferences link (`{serve_url}/preferences?token=…`, signed and
    /// expiring after `serve.link_days`), when `serve_url` is set.
    fn preferences_url(&self, address: &str) -> Option<String> {
        let (url, key) = self.service.as_ref()?;
        let days = chrono::TimeDelta::days(i64::from(self.settings.serve.link_days.max(1)));
        // Only an address over 320 bytes cannot be signed; lettre never parses one.
        crate::digest::links::preferences_link(url, key, address, chrono::Utc::now(), days).ok()
    }

    /// Writes the period's page (nobody's data in it), the index and the Atom feed of issues
    /// into the web archive; `Ok(None)` when `digest.archive` is empty.
    pub fn write_archive(&self) -> Result<Option<archive::Written>, DigestError> {
        let Some(archive) = &self.archive else {
            return Ok(None);
        };
        let Some(rendered) = self.composer().archive_page()? else {
            return Err(DigestError::NoPosts);
        };
        let period = &self.digest.period;
        let last_day = period.end - chrono::Duration::days(1);
        let page = archive::Page {
            label: period.label.clone(),
            title: rendered.subject,
            start: period.start.to_rfc3339(),
            last_day: last_day.to_rfc3339(),
            posts: self
                .digest
                .groups
                .iter()
                .flat_map(|g| g.posts.iter().map(|p| p.title.clone()))
                .collect(),
            html: rendered.html,
        };
        let subscribe_url = self.subscribe_url();
        let context = archive::Context {
            site: self.digest.site(),
            subscribe_url: subscribe_url.as_deref(),
            host: &self.host,
        };
        archive
            .write(&page, &self.renderer, &context, chrono::Utc::now())
            .map(Some)
            .map_err(|e| DigestError::Setting(format!("the digest's web archive: {e}")))
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            from: &self.from,
            reply_to: self.reply_to.as_ref(),
            list_id: &self.list_id,
            message_id: String::new(),
            unsubscribe_url: None,
            unsubscribe_mailto: self.settings.unsubscribe_mailto.clone(),
            extra_headers: &self.extra_headers,
        }
    }

    /// The subscriber's unsubscribe URL: the service's (`{serve_url}/unsubscribe?token=…`,
    /// signed and expiring after `serve.link_days`) when `serve_url` is set, else the settings'
    /// template with the address and its token.
    fn unsubscribe_url(&self, address: &str) -> Option<String> {
        if let Some((url, key)) = &self.service {
            let days = chrono::TimeDelta::days(i64::from(self.settings.serve.link_days.max(1)));
            // Only an address over 320 bytes cannot be signed; lettre never parses one.
            return crate::digest::links::unsubscribe_link(
                url,
                key,
                address,
                chrono::Utc::now(),
                days,
            )
            .ok();
        }
        self.settings.unsubscribe_url.as_ref().map(|template| {
            let token = self
                .key
                .as_ref()
                .map(|k| k.legacy_token(address))
                .unwrap_or_default();
            template
                .replace("{address}", &message::query_escape(address))
                .replace("{token}", &token)
        })
    }

    fn job(&self, subscriber: &Subscriber) -> Job {
        Job {
            message_id: message::message_id(
                &self.digest.period.label,
                &subscriber.key(),
                &self.host,
            ),
            unsubscribe_url: self.unsubscribe_url(&subscriber.key()),
            preferences_url: self.preferences_url(&subscriber.key()),
            subscriber: subscriber.clone(),
        }
    }

    /// Writes the whole digest (every category) as the first subscriber would see it, as HTML
    /// for a browser.
    pub fn preview(&self, file: &Path) -> Result<(), DigestError> {
        let sample = self
            .subscribers
            .first()
            .cloned()
            .unwrap_or_else(|| Subscriber {
                address: "reader@example.com".parse().expect("a valid address"),
                name: None,
                categories: Vec::new(),
                line: 0,
            });
        let everyone = Subscriber {
            categories: Vec::new(),
            ..sample
        };
        let url = self.unsubscribe_url(&everyone.key());
        let preferences = self.preferences_url(&everyone.key());
        let personal = Personal {
            unsubscribe_url: url.as_deref(),
            preferences_url: preferences.as_deref(),
        };
        let rendered = self
            .composer()
            .compose_with(&everyone, personal)?
            .ok_or(DigestError::NoPosts)?;
        std::fs::write(file, rendered.html).map_err(|source| DigestError::File {
            what: "writing the preview",
            path: file.to_path_buf(),
            source,
        })
    }

    /// Renders and builds every message, and sends and records nothing.
    pub fn dry_run(&self) -> Result<DryRun, DigestError> {
        let composer = self.composer();
        let envelope = self.envelope();
        let mut result = DryRun {
            would_send: 0,
            empty: 0,
        };
        for s in &self.subscribers {
            let job = self.job(s);
            let personal = Personal {
                unsubscribe_url: job.unsubscribe_url.as_deref(),
                preferences_url: job.preferences_url.as_deref(),
            };
            match composer.compose_with(s, personal)? {
                None => result.empty += 1,
                Some(r) => {
                    let envelope = Envelope {
                        message_id: job.message_id.clone(),
                        ..envelope.clone()
                    };
                    message::build(&envelope, s, &r)?;
                    result.would_send += 1;
                }
            }
        }
        Ok(result)
    }

    /// Sends to every subscriber who has not had this period's digest (nor unsubscribed),
    /// recording each send in the ledger; one run at a time.
    pub fn send(&self, retry: Retry, progress: &dyn Progress) -> Result<Sent, DigestError> {
        let label = &self.digest.period.label;
        let _lock = ledger::lock(&self.state_dir)?;
        let mut ledger = Ledger::open(&self.state_dir)?;
        let unsubscribed = ledger.unsubscribed()?;
        let (current, gone): (Vec<_>, Vec<_>) = self
            .subscribers
            .iter()
            .partition(|s| !self.roster.is_gone(&s.key(), &unsubscribed));
        let jobs: Vec<Job> = current.iter().map(|s| self.job(s)).collect();
        let entries: Vec<(String, String)> = jobs
            .iter()
            .map(|j| (j.subscriber.key(), j.message_id.clone()))
            .collect();
        let rows = ledger.prepare(label, &entries)?;
        let by_address: HashMap<String, &Subscriber> =
            self.subscribers.iter().map(|s| (s.key(), s)).collect();
        let missed = |(address, error): (String, String)| Missed {
            line: by_address.get(&address).map_or(0, |s| s.line),
            address,
            error,
        };
        let mut already = 0;
        let mut empty_before = 0;
        let mut unknown = Vec::new();
        let mut failed = Vec::new();
        let to_send: Vec<Job> = jobs
            .into_iter()
            .filter(|job| {
                let row = rows.get(&job.subscriber.key());
                let error = || row.and_then(|r| r.error.clone()).unwrap_or_default();
                match row.map(|r| (r.state, r.permanent)) {
                    Some((State::Sent, _)) => already += 1,
                    Some((State::Empty, _)) => empty_before += 1,
                    Some((State::Unknown, _)) if !retry.unknown => {
                        unknown.push(missed((job.subscriber.key(), error())))
                    }
                    Some((State::Failed, true)) if !retry.failed => {
                        failed.push(missed((job.subscriber.key(), error())))
                    }
                    _ => return true,
                }
                false
            })
            .collect();
        drop(ledger);

        let transport = match &self.settings.smtp {
            Some(smtp) => Transport::Smtp {
                server: Server::new(smtp, &self.site).map_err(DigestError::Server)?,
                concurrency: smtp.concurrency,
                rate: smtp.rate,
                attempts: smtp.attempts.max(1),
                retry_delay: std::time::Duration::from_millis(smtp.retry_delay_ms),
            },
            None => Transport::Outbox(self.site.join(&self.settings.outbox)),
        };
        let composer = self.composer();
        let envelope = self.envelope();
        let report = send::send_all(
            label,
            &self.state_dir,
            &composer,
            &envelope,
            &transport,
            to_send,
            progress,
        );
        let destination = match &transport {
            Transport::Smtp { server, .. } => format!("via {}", server.address()),
            Transport::Outbox(dir) => format!("into {}", dir.display()),
        };
        // This run's misses first, then earlier runs' (as the summary has always listed them).
        let mut all_failed: Vec<Missed> = report.failed.into_iter().map(missed).collect();
        all_failed.append(&mut failed);
        let mut all_unknown: Vec<Missed> = report.unknown.into_iter().map(missed).collect();
        all_unknown.append(&mut unknown);
        let pending = report.pending.len();
        // The archive is written by a run that completes (failures and unknowns included: the
        // digest went out); its page never depends on who got what.
        let archived = match (&report.stopped, &self.archive) {
            (_, None) => Archived::Off,
            (Some(_), Some(_)) => Archived::Skipped,
            (None, Some(_)) => match self.write_archive() {
                Ok(Some(written)) => Archived::Written(written),
                Ok(None) => Archived::Off,
                Err(e) => Archived::Failed(e.to_string()),
            },
        };
        Ok(Sent {
            period: self.digest.period.clone(),
            destination,
            subscribers_path: crate::collect::shown(&self.subscribers_path).to_path_buf(),
            sent: report.sent.len(),
            failed: all_failed,
            unknown: all_unknown,
            already_sent: already,
            unsubscribed: gone.len() + self.roster.left,
            empty: report.empty.len() + empty_before,
            invalid: self.invalid,
            stopped: report.stopped.map(|stop| (stop, pending)),
            archive: archived,
        })
    }
}

/// Records that `address` wants no more digests, in the ledger every later run reads, and in
/// the subscriber store when the site has one (the store is never created here); `false` when
/// both had already said so.
pub fn unsubscribe(
    site: &Path,
    config: &SiteConfig,
    address: &lettre::Address,
) -> Result<bool, DigestError> {
    let (settings, _) = DigestSettings::of(config)?;
    let state = crate::collect::shown(&site.join(&settings.state)).to_path_buf();
    let in_ledger = Ledger::open(&state)?.unsubscribe(address.as_ref())?;
    let in_store = match SqliteStore::open_existing(&state)? {
        Some(mut store) => store.unsubscribe(address, chrono::Utc::now())?,
        None => false,
    };
    Ok(in_ledger || in_store)
}

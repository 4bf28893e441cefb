//! Sending a digest to every subscriber, exactly once each, with the ledger as the record.
//!
//! Workers (one per SMTP connection) take subscribers from a shared queue. For each: the message
//! is composed, the ledger row is committed as `sending`, the message is sent, and the row is
//! committed as `sent`, `failed` or `unknown`; a subscriber with nothing to read is `empty`. A 4xx
//! is retried with a doubling delay (the row is put back to `pending` while it waits, since the
//! message certainly did not go); a 5xx fails that subscriber and the run goes on. A server that
//! cannot be reached, a failed TLS handshake, refused credentials, a template that fails or a
//! ledger that cannot be written stop every worker: the message being tried goes back to
//! `pending`, as do those not yet tried, so that the next run sends them; none is `failed`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::{FileTransport, Transport as _};

use super::compose::Composer;
use super::ledger::{Ledger, LedgerError};
use super::message::{self, Bodies, Envelope};
pub use super::smtp::FatalKind;
use super::smtp::{Fatal, Outcome, Server, Session};
use super::subscribers::Subscriber;

/// Where messages go.
pub(crate) enum Transport {
    Smtp {
        server: Server,
        concurrency: usize,
        /// Messages per second at most; 0 for no limit.
        rate: f64,
        attempts: u32,
        retry_delay: Duration,
    },
    /// `.eml` files in a folder (lettre's file transport).
    Outbox(PathBuf),
}

/// One message to send.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub subscriber: Subscriber,
    pub message_id: String,
    pub unsubscribe_url: Option<String>,
    /// The subscriber's preferences link, when the service is set up.
    pub preferences_url: Option<String>,
}

/// What happened to the messages of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Subscribers (lower-cased addresses) whose message was delivered.
    pub sent: Vec<String>,
    /// Subscribers whose message was not delivered (refused, or not buildable or writable), with
    /// why.
    pub failed: Vec<(String, String)>,
    /// Subscribers whose message was handed over with no answer from the server, with what
    /// happened.
    pub unknown: Vec<(String, String)>,
    /// Subscribers none of whose categories had posts.
    pub empty: Vec<String>,
    /// Subscribers not sent to because the run stopped (their rows are `pending`).
    pub pending: Vec<String>,
    /// The run was stopped by this (the server cannot be reached, TLS, authentication, a
    /// template, the ledger).
    pub stopped: Option<Stop>,
}

/// Why a run stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// What stopped it, in a few words (for the summary line).
    pub cause: String,
    /// The error in full.
    pub message: String,
}

impl Stop {
    fn new(cause: impl Into<String>, message: impl Into<String>) -> Stop {
        Stop {
            cause: cause.into(),
            message: message.into(),
        }
    }
}

impl From<Fatal> for Stop {
    fn from(fatal: Fatal) -> Stop {
        Stop::new(fatal.kind.to_string(), fatal.message)
    }
}

/// Shared state of a run.
struct Run<'a> {
    digest: &'a str,
    ledger_dir: &'a Path,
    composer: &'a Composer<'a>,
    envelope: &'a Envelope<'a>,
    queue: Mutex<VecDeque<Job>>,
    report: Mutex<Report>,
    stop: AtomicBool,
    next_slot: Mutex<Instant>,
    progress: &'a dyn Progress,
    total: usize,
}

/// Told how a send goes, for a progress bar or log lines: the library draws nothing itself
/// (the command fills this in).
pub trait Progress: Sync {
    /// The send starts, with `total` messages to handle.
    fn start(&self, _total: usize) {}
    /// One more message was handled (sent, failed, unknown or empty): `done` of `total`.
    fn handled(&self, _done: usize, _total: usize) {}
    /// The send is over.
    fn finish(&self) {}
}

/// No progress shown.
pub struct Silent;

impl Progress for Silent {}

/// Sends `jobs`; returns what became of each.
pub(crate) fn send_all(
    digest: &str,
    ledger_dir: &Path,
    composer: &Composer<'_>,
    envelope: &Envelope<'_>,
    transport: &Transport,
    jobs: Vec<Job>,
    progress: &dyn Progress,
) -> Report {
    let total = jobs.len();
    progress.start(total);
    let run = Run {
        digest,
        ledger_dir,
        composer,
        envelope,
        queue: Mutex::new(jobs.into()),
        report: Mutex::new(Report::default()),
        stop: AtomicBool::new(false),
        next_slot: Mutex::new(Instant::now()),
        progress,
        total,
    };
    let workers = match transport {
        Transport::Smtp { concurrency, .. } => (*concurrency).clamp(1, 64),
        Transport::Outbox(_) => 2,
    };
    std::thread::scope(|scope| {
        for _ in 0..workers.min(total.max(1)) {
            scope.spawn(|| {
                if let Err(stop) = worker(&run, transport) {
                    run.stop.store(true, Ordering::SeqCst);
                    let mut report = lock(&run.report);
                    report.stopped.get_or_insert(stop);
                }
            });
        }
    });
    run.progress.finish();
    let left: Vec<String> = lock(&run.queue)
        .drain(..)
        .map(|job| job.subscriber.key())
        .collect();
    let mut report = run
        .report
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    report.pending.extend(left);
    report
}

/// A lock's guard, even after a thread panicked while holding it (the data it guards, lists of
/// outcomes and a queue, stay meaningful).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Notes a subscriber not sent to because the run stopped (its row is `pending`).
fn put_back(run: &Run<'_>, key: String) {
    lock(&run.report).pending.push(key);
}

fn record(run: &Run<'_>, f: impl FnOnce(&mut Report)) {
    let mut report = lock(&run.report);
    f(&mut report);
    let done = report.sent.len() + report.failed.len() + report.unknown.len() + report.empty.len();
    drop(report);
    run.progress.handled(done, run.total);
}

fn wait_for_slot(run: &Run<'_>, rate: f64) {
    if rate <= 0.0 {
        return;
    }
    let interval = Duration::from_secs_f64(1.0 / rate);
    let wait = {
        let mut next = lock(&run.next_slot);
        let now = Instant::now();
        let slot = (*next).max(now);
        *next = slot + interval;
        slot - now
    };
    std::thread::sleep(wait);
}

fn ledger_error(e: LedgerError) -> Stop {
    Stop::new(
        "the ledger failed",
        format!("the ledger failed, so nothing more is sent: {e}"),
    )
}

/// How a message's bodies travel: as they are once the session's connection is known to take
/// them (8BITMIME), encoded before that (the first message of a session) and everywhere else.
fn bodies_for(session: Option<&Session<'_>>) -> Bodies {
    if session.is_some_and(Session::offers_8bitmime) {
        Bodies::EightBit
    } else {
        Bodies::Encoded
    }
}

/// Where one worker's messages go: its own SMTP session (with the retry settings), or the
/// outbox folder.
enum Channel<'s> {
    Smtp {
        // Boxed: a session is large beside the outbox's file transport.
        session: Box<Session<'s>>,
        rate: f64,
        attempts: u32,
        retry_delay: Duration,
    },
    Outbox(FileTransport),
}

impl<'s> Channel<'s> {
    fn open(transport: &'s Transport) -> Result<Channel<'s>, Stop> {
        match transport {
            Transport::Smtp {
                server,
                rate,
                attempts,
                retry_delay,
                ..
            } => Ok(Channel::Smtp {
                session: Box::new(Session::new(server)),
                rate: *rate,
                attempts: *attempts,
                retry_delay: *retry_delay,
            }),
            Transport::Outbox(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Stop::new(
                        "the outbox cannot be written",
                        format!("{}: {e}", dir.display()),
                    )
                })?;
                Ok(Channel::Outbox(FileTransport::new(dir)))
            }
        }
    }

    /// The session, when messages go by SMTP.
    fn session(&self) -> Option<&Session<'s>> {
        match self {
            Channel::Smtp { session, .. } => Some(session),
            Channel::Outbox(_) => None,
        }
    }
}

/// One message to hand over: the job's subscriber, its envelope and rendered email, and the
/// message built with `bodies`.
struct Ready<'j> {
    job: &'j Job,
    key: String,
    envelope: Envelope<'j>,
    rendered: super::render::Rendered,
    message: lettre::Message,
    bodies: Bodies,
}

/// One worker: its own ledger connection and channel; takes jobs until the queue is empty or
/// the run is stopped.
fn worker(run: &Run<'_>, transport: &Transport) -> Result<(), Stop> {
    let ledger = Ledger::open(run.ledger_dir).map_err(ledger_error)?;
    let mut channel = Channel::open(transport)?;
    while !run.stop.load(Ordering::SeqCst) {
        let Some(job) = lock(&run.queue).pop_front() else {
            break;
        };
        let Some(ready) = prepare(run, &ledger, &job, bodies_for(channel.session()))? else {
            continue;
        };
        match &mut channel {
            Channel::Outbox(files) => to_outbox(run, &ledger, files, ready)?,
            Channel::Smtp {
                session,
                rate,
                attempts,
                retry_delay,
            } => by_smtp(
                run,
                &ledger,
                session,
                (*rate, *attempts, *retry_delay),
                ready,
            )?,
        }
    }
    if let Channel::Smtp { session, .. } = channel {
        session.close();
    }
    Ok(())
}

/// Renders and builds one job's message; `None` when the subscriber has nothing to receive
/// (recorded `empty`) or the message cannot be built (recorded `failed`).
fn prepare<'j>(
    run: &Run<'j>,
    ledger: &Ledger,
    job: &'j Job,
    bodies: Bodies,
) -> Result<Option<Ready<'j>>, Stop> {
    let key = job.subscriber.key();
    let personal = super::compose::Personal {
        unsubscribe_url: job.unsubscribe_url.as_deref(),
        preferences_url: job.preferences_url.as_deref(),
    };
    let rendered = match run.composer.compose_with(&job.subscriber, personal) {
        Ok(None) => {
            ledger.empty(run.digest, &key).map_err(ledger_error)?;
            record(run, |r| r.empty.push(key));
            return Ok(None);
        }
        Err(e) => {
            // Not tried: its row stays `pending`.
            put_back(run, key);
            return Err(Stop::new(
                "a template failed",
                format!("rendering the digest failed: {e}"),
            ));
        }
        Ok(Some(r)) => r,
    };
    let envelope = Envelope {
        message_id: job.message_id.clone(),
        unsubscribe_url: job.unsubscribe_url.clone(),
        ..run.envelope.clone()
    };
    match message::build_with(&envelope, &job.subscriber, &rendered, bodies) {
        Ok(message) => Ok(Some(Ready {
            job,
            key,
            envelope,
            rendered,
            message,
            bodies,
        })),
        Err(e) => {
            let e = e.to_string();
            ledger
                .failed(run.digest, &key, &e, true)
                .map_err(ledger_error)?;
            record(run, |r| r.failed.push((key, e)));
            Ok(None)
        }
    }
}

/// Writes one message into the outbox.
fn to_outbox(
    run: &Run<'_>,
    ledger: &Ledger,
    files: &FileTransport,
    ready: Ready<'_>,
) -> Result<(), Stop> {
    let key = ready.key;
    ledger.sending(run.digest, &key).map_err(ledger_error)?;
    match files.send(&ready.message) {
        Ok(_) => {
            ledger.sent(run.digest, &key).map_err(ledger_error)?;
            record(run, |r| r.sent.push(key));
        }
        Err(e) => {
            let error = format!("writing to the outbox: {e}");
            ledger
                .failed(run.digest, &key, &error, false)
                .map_err(ledger_error)?;
            record(run, |r| r.failed.push((key, error)));
        }
    }
    Ok(())
}

/// Hands one message to the SMTP server: retried with a doubling delay on a 4xx, up to
/// `attempts`; recorded sent, unknown (the connection was lost while handing it over) or failed.
fn by_smtp(
    run: &Run<'_>,
    ledger: &Ledger,
    session: &mut Session<'_>,
    (rate, attempts, retry_delay): (f64, u32, Duration),
    ready: Ready<'_>,
) -> Result<(), Stop> {
    let Ready {
        job,
        key,
        envelope,
        rendered,
        mut message,
        bodies: mut built_with,
    } = ready;
    let mut bytes = message.formatted();
    let mut delay = retry_delay;
    let mut attempt = 1;
    loop {
        // A new connection may take other bodies than the one the message was built for:
        // build it again (the same text, so no new failure).
        let now = bodies_for(Some(session));
        if now != built_with {
            if let Ok(m) = message::build_with(&envelope, &job.subscriber, &rendered, now) {
                bytes = m.formatted();
                message = m;
                built_with = now;
            }
        }
        wait_for_slot(run, rate);
        ledger.sending(run.digest, &key).map_err(ledger_error)?;
        match session.send(message.envelope(), &bytes, built_with == Bodies::EightBit) {
            Err(fatal) => {
                // Stopped before anything was handed over: the row goes back to `pending`, for
                // the next run; no subscriber is to blame.
                ledger
                    .pending(run.digest, &key, Some(&fatal.message))
                    .map_err(ledger_error)?;
                put_back(run, key);
                return Err(fatal.into());
            }
            Ok(Outcome::Sent) => {
                ledger.sent(run.digest, &key).map_err(ledger_error)?;
                record(run, |r| r.sent.push(key));
                return Ok(());
            }
            Ok(Outcome::Unknown(text)) => {
                ledger
                    .unknown(run.digest, &key, &text)
                    .map_err(ledger_error)?;
                record(run, |r| r.unknown.push((key, text)));
                return Ok(());
            }
            Ok(Outcome::Refused { error, permanent }) => {
                if permanent || attempt >= attempts {
                    ledger
                        .failed(run.digest, &key, &error, permanent)
                        .map_err(ledger_error)?;
                    record(run, |r| r.failed.push((key, error)));
                    return Ok(());
                }
                // Certainly not sent: `pending` while it waits for its next attempt, or for the
                // next run when this one has been stopped meanwhile.
                ledger
                    .pending(run.digest, &key, Some(&error))
                    .map_err(ledger_error)?;
                if run.stop.load(Ordering::SeqCst) {
                    put_back(run, key);
                    return Ok(());
                }
                std::thread::sleep(delay);
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
        }
    }
}

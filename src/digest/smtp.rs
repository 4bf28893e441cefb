//! One SMTP connection, driven step by step with lettre's client so that every failure is
//! known by where it happened:
//!
//! - refused before the message's bytes were handed over (connection, MAIL, RCPT, DATA):
//!   certainly not delivered, so it can be retried without risk of a duplicate;
//! - a 4xx or 5xx answer to the message itself: not delivered (retried for 4xx);
//! - the connection lost while the message was being handed over or its answer awaited: the
//!   message may or may not have been delivered, so it is `unknown` and never retried silently.
//!
//! A failure to reach the server at all (its name does not resolve, the connection is refused or
//! the host unreachable, the TLS handshake fails) and an authentication failure stop the whole
//! run: retrying cannot help, every further attempt would fail the same way, and no subscriber is
//! to blame. Failures are told apart by their type (`std::io::ErrorKind`, lettre's error kinds)
//! and by the step they happened at, never by their text.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::Error;

use super::settings::{SmtpSettings, TlsMode};

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Sent,
    /// Not delivered. `permanent` for a 5xx answer.
    Refused {
        error: String,
        permanent: bool,
    },
    /// Handed over, but no answer came: delivered or not, nobody knows.
    Unknown(String),
}

/// Why a run had to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatalKind {
    /// The settings cannot work (a missing password, plain SMTP to a remote host…).
    Settings,
    /// The server cannot be reached: no address for its name, connection refused, host or
    /// network unreachable, no answer to the connection.
    Unreachable,
    /// The TLS handshake with the server failed, or it does not offer STARTTLS.
    Tls,
    /// The server refused the credentials.
    Authentication,
}

impl std::fmt::Display for FatalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FatalKind::Settings => "the SMTP settings",
            FatalKind::Unreachable => "the SMTP server cannot be reached",
            FatalKind::Tls => "TLS with the SMTP server failed",
            FatalKind::Authentication => "the SMTP server refused the credentials",
        })
    }
}

/// A failure that ends the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Fatal {
    /// What failed, for callers to tell the cases apart.
    pub kind: FatalKind,
    /// The whole story, in words, for the person running gazette.
    pub message: String,
}

impl Fatal {
    fn new(kind: FatalKind, message: impl Into<String>) -> Fatal {
        Fatal {
            kind,
            message: message.into(),
        }
    }

    fn settings(message: impl Into<String>) -> Fatal {
        Fatal::new(FatalKind::Settings, message)
    }
}

/// Everything needed to open connections, checked once.
#[derive(Clone)]
pub struct Server {
    host: String,
    port: u16,
    mode: TlsMode,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    timeout: Duration,
    hello: ClientId,
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Server {
    /// Checks the settings and reads the password (never kept anywhere but in lettre's
    /// credentials, never printed).
    pub fn new(settings: &SmtpSettings, site: &Path) -> Result<Server, Fatal> {
        if settings.host.trim().is_empty() {
            return Err(Fatal::settings("digest.smtp.host is empty"));
        }
        if settings.tls == TlsMode::None && !is_loopback(&settings.host) && !settings.allow_plain {
            return Err(Fatal::settings(format!(
                "refusing to send without TLS to {}: plain SMTP is only for a loopback host, or with `allow_plain: true`",
                settings.host
            )));
        }
        let tls = match settings.tls {
            TlsMode::None => None,
            _ => {
                let mut builder = TlsParameters::builder(settings.host.clone());
                if let Some(ca) = &settings.ca_file {
                    let path = site.join(ca);
                    let pem = std::fs::read(&path).map_err(|e| {
                        Fatal::settings(format!(
                            "{}: cannot read the CA certificate: {e}",
                            path.display()
                        ))
                    })?;
                    let cert = Certificate::from_pem(&pem).map_err(|e| {
                        Fatal::settings(format!("{}: not a PEM certificate: {e}", path.display()))
                    })?;
                    builder = builder.add_root_certificate(cert);
                }
                Some(
                    builder
                        .build_rustls()
                        .map_err(|e| Fatal::settings(format!("TLS setup: {e}")))?,
                )
            }
        };
        let password = match (&settings.password_env, &settings.password_file) {
            (Some(var), _) if std::env::var_os(var).is_some() => Some(
                std::env::var(var)
                    .map_err(|_| Fatal::settings(format!("${var} is not valid UTF-8")))?,
            ),
            (_, Some(file)) => {
                let path = site.join(file);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Fatal::settings(format!(
                        "{}: cannot read the password file: {e}",
                        path.display()
                    ))
                })?;
                Some(text.lines().next().unwrap_or_default().to_string())
            }
            (Some(var), None) => {
                return Err(Fatal::settings(format!(
                    "${var} (digest.smtp.password_env) is not set"
                )))
            }
            (None, None) => None,
        };
        let credentials = match (&settings.username, password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password)),
            (Some(_), None) => {
                return Err(Fatal::settings(
                    "digest.smtp.username is set but no password_env or password_file",
                ))
            }
            (None, Some(_)) => {
                return Err(Fatal::settings(
                    "a password is configured but no digest.smtp.username",
                ))
            }
            (None, None) => None,
        };
        let hello = match &settings.hello_name {
            Some(name) => ClientId::Domain(name.clone()),
            None => ClientId::default(),
        };
        Ok(Server {
            host: settings.host.clone(),
            port: settings.port(),
            mode: settings.tls,
            tls,
            credentials,
            timeout: Duration::from_secs(settings.timeout_secs.max(1)),
            hello,
        })
    }

    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The chain of an error's causes, for messages and for telling TLS failures apart.
fn chain(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// The I/O errors in an error's chain, outermost first. An `std::io::Error` that wraps another
/// error (as rustls's handshake errors are wrapped) is looked into too: its `source` skips the
/// error it wraps.
fn io_errors(e: &Error) -> Vec<&std::io::Error> {
    let mut out = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            out.push(io);
            if let Some(inner) = io.get_ref() {
                next = Some(inner);
                continue;
            }
        }
        next = err.source();
    }
    out
}

/// Whether an error is the server not answering in time (a socket timeout shows as `TimedOut`
/// or, on Unix, `WouldBlock`).
fn is_timeout(e: &Error) -> bool {
    e.is_timeout()
        || io_errors(e)
            .iter()
            .any(|io| matches!(io.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock))
}

/// The I/O error that says the server cannot be reached at all, when opening the connection
/// failed with one: refused, host or network unreachable, or (on Unix, where a read that times
/// out says `WouldBlock` instead) no answer to the connection itself.
fn unreachable(e: &Error) -> Option<&std::io::Error> {
    io_errors(e).into_iter().find(|io| {
        matches!(
            io.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::NetworkDown
                | ErrorKind::AddrNotAvailable
        ) || (cfg!(unix) && io.kind() == ErrorKind::TimedOut)
    })
}

/// Whether an error met during a TLS handshake is the handshake failing: lettre's TLS kind, an
/// `InvalidData` I/O error carrying the TLS library's error (how rustls reports a certificate
/// or protocol failure; a plain read of bytes that are not UTF-8 carries none), or a failure to
/// set TLS up at all (no I/O error, no SMTP answer).
fn is_tls_failure(e: &Error) -> bool {
    let ios = io_errors(e);
    e.is_tls()
        || ios
            .iter()
            .any(|io| io.kind() == ErrorKind::InvalidData && io.get_ref().is_some())
        || (ios.is_empty()
            && !e.is_response()
            && !e.is_transient()
            && !e.is_permanent()
            && !e.is_client())
}

/// An error for people: a timeout says so.
fn describe(e: &Error, server: &Server) -> String {
    if is_timeout(e) {
        format!(
            "{} did not answer within {} s",
            server.address(),
            server.timeout.as_secs()
        )
    } else {
        chain(e)
    }
}

/// The whole DATA payload, dot-stuffed and terminated, written in one piece: lettre's own
/// `message` writes the terminator separately, which Nagle's algorithm and delayed ACKs turn
/// into a 40 ms pause per message.
struct Payload(String);

impl Payload {
    fn new(message: &str) -> Payload {
        let mut out = String::with_capacity(message.len() + 64);
        if message.starts_with('.') {
            out.push('.');
        }
        // Every line that starts with a dot gets one more (RFC 5321 4.5.2); found with SIMD,
        // as the messages are hundreds of kilobytes.
        let mut last = 0;
        for at in memchr::memmem::find_iter(message.as_bytes(), b"\r\n.") {
            out.push_str(&message[last..at + 3]);
            out.push('.');
            last = at + 3;
        }
        out.push_str(&message[last..]);
        if !out.ends_with("\r\n") {
            out.push_str("\r\n");
        }
        out.push_str(".\r\n");
        Payload(out)
    }
}

impl std::fmt::Display for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A reply after which the server closes the connection.
fn closes(e: &Error) -> bool {
    e.status().is_some_and(|c| u16::from(c) == 421)
}

/// A connection that is opened on first use and reopened after a failure.
pub(crate) struct Session<'a> {
    server: &'a Server,
    conn: Option<SmtpConnection>,
}

impl<'a> Session<'a> {
    pub fn new(server: &'a Server) -> Self {
        Session { server, conn: None }
    }

    /// Opens the connection: TLS as configured, then AUTH.
    fn connect(&mut self) -> Result<SmtpConnection, ConnectError> {
        let s = self.server;
        let fatal = |kind, message: String| ConnectError::Fatal(Fatal::new(kind, message));
        // The name is resolved here, so that a name that does not resolve is known as such.
        let addresses: Vec<SocketAddr> = (s.host.trim_matches(['[', ']']), s.port)
            .to_socket_addrs()
            .map_err(|e| {
                fatal(
                    FatalKind::Unreachable,
                    format!("cannot find the address of {}: {e}", s.host),
                )
            })?
            .collect();
        if addresses.is_empty() {
            return Err(fatal(
                FatalKind::Unreachable,
                format!("cannot find the address of {}: it has none", s.host),
            ));
        }
        let implicit = (s.mode == TlsMode::Implicit)
            .then_some(s.tls.as_ref())
            .flatten();
        let mut conn = SmtpConnection::connect(
            addresses.as_slice(),
            Some(s.timeout),
            &s.hello,
            implicit,
            None,
        )
        .map_err(|e| {
            if let Some(io) = unreachable(&e) {
                let why = if io.kind() == ErrorKind::TimedOut {
                    format!("no answer within {} s", s.timeout.as_secs())
                } else {
                    io.to_string()
                };
                fatal(
                    FatalKind::Unreachable,
                    format!("cannot connect to {}: {why}", s.address()),
                )
            } else if implicit.is_some() && is_tls_failure(&e) {
                fatal(
                    FatalKind::Tls,
                    format!("TLS with {} failed: {}", s.address(), chain(&e)),
                )
            } else {
                ConnectError::Transient(format!("cannot connect: {}", describe(&e, s)))
            }
        })?;
        if s.mode == TlsMode::Starttls {
            if !conn.server_info().supports_feature(Extension::StartTls) {
                conn.abort();
                return Err(fatal(FatalKind::Tls, format!(
                    "{} does not offer STARTTLS; refusing to send in clear (set `tls: implicit` for port 465)",
                    s.address()
                )));
            }
            let Some(params) = s.tls.as_ref() else {
                conn.abort();
                return Err(fatal(
                    FatalKind::Settings,
                    "STARTTLS without TLS parameters".into(),
                ));
            };
            conn.starttls(params, &s.hello).map_err(|e| {
                if e.is_permanent() || is_tls_failure(&e) {
                    fatal(
                        FatalKind::Tls,
                        format!("TLS with {} failed: {}", s.address(), chain(&e)),
                    )
                } else {
                    ConnectError::Transient(format!(
                        "STARTTLS with {}: {}",
                        s.address(),
                        describe(&e, s)
                    ))
                }
            })?;
        }
        if let Some(credentials) = &s.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .map_err(|e| {
                    // A 5xx, or no mechanism both sides know: the same every time.
                    if e.is_permanent() || e.is_client() {
                        fatal(
                            FatalKind::Authentication,
                            format!("authentication at {} failed: {}", s.address(), chain(&e)),
                        )
                    } else {
                        ConnectError::Transient(format!(
                            "authentication at {} deferred: {}",
                            s.address(),
                            describe(&e, s)
                        ))
                    }
                })?;
        }
        Ok(conn)
    }

    /// Drops the connection (after a failure it cannot be trusted).
    fn drop_connection(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.abort();
        }
    }

    /// Whether the open connection takes 8-bit bodies (false when none is open yet).
    pub(crate) fn offers_8bitmime(&self) -> bool {
        self.conn
            .as_ref()
            .is_some_and(|c| c.server_info().supports_feature(Extension::EightBitMime))
    }

    /// Sends one message; `eight_bit` says its bodies went unencoded for a server that offers
    /// 8BITMIME (a connection without it refuses the message for now, to be built again).
    pub fn send(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        eight_bit: bool,
    ) -> Result<Outcome, Fatal> {
        // A connection the server closed since the last message fails at MAIL, before anything
        // was handed over: that is no attempt at all, so it is retried once on a new one.
        let reused = self.conn.is_some();
        match self.try_send(envelope, message, eight_bit)? {
            Attempt::Stale(_) if reused => match self.try_send(envelope, message, eight_bit)? {
                Attempt::Done(outcome) => Ok(outcome),
                Attempt::Stale(error) => Ok(Outcome::Refused {
                    error,
                    permanent: false,
                }),
            },
            Attempt::Stale(error) => Ok(Outcome::Refused {
                error,
                permanent: false,
            }),
            Attempt::Done(outcome) => Ok(outcome),
        }
    }

    fn try_send(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        eight_bit: bool,
    ) -> Result<Attempt, Fatal> {
        let mut conn = match self.connection()? {
            Ok(conn) => conn,
            Err(refused) => return Ok(Attempt::Done(refused)),
        };
        let server = self.server;
        if eight_bit && !conn.server_info().supports_feature(Extension::EightBitMime) {
            // Only after a reconnection to a server that stopped offering it: nothing was sent.
            self.conn = Some(conn);
            return Ok(Attempt::Done(Outcome::Refused {
                error: format!(
                    "{} no longer offers 8BITMIME: the message is built again with encoded bodies",
                    server.address()
                ),
                permanent: false,
            }));
        }
        let mut options = Vec::new();
        if !message.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let steps = conn
            .command(Mail::new(envelope.from().cloned(), options))
            .and_then(|_| {
                envelope
                    .to()
                    .iter()
                    .try_for_each(|to| conn.command(Rcpt::new(to.clone(), vec![])).map(|_| ()))
            })
            .and_then(|_| conn.command(Data));
        if let Err(e) = steps {
            // Before the message is handed over, any failure means it was not delivered.
            let error = describe(&e, server);
            if e.is_transient() || e.is_permanent() {
                let permanent = e.is_permanent();
                // The server answered: after RSET the session goes on, unless it said 421.
                if !closes(&e) && conn.command(Rset).is_ok() {
                    self.conn = Some(conn);
                } else {
                    conn.abort();
                }
                return Ok(Attempt::Done(Outcome::Refused { error, permanent }));
            }
            conn.abort();
            return Ok(Attempt::Stale(error));
        }
        Ok(self.hand_over(conn, message))
    }

    /// The session's connection, or a new one (a connection the server broke is dropped
    /// first); `Ok(Err(refused))` when connecting failed for now (a 4xx greeting…).
    fn connection(&mut self) -> Result<Result<SmtpConnection, Outcome>, Fatal> {
        if self.conn.as_ref().is_some_and(|c| c.has_broken()) {
            self.drop_connection();
        }
        if let Some(conn) = self.conn.take() {
            return Ok(Ok(conn));
        }
        match self.connect() {
            Ok(conn) => Ok(Ok(conn)),
            Err(ConnectError::Fatal(fatal)) => Err(fatal),
            Err(ConnectError::Transient(text)) => Ok(Err(Outcome::Refused {
                error: text,
                permanent: false,
            })),
        }
    }

    /// Sends the message's text after DATA was accepted: sent, refused (the session goes on
    /// unless the server said 421), or unknown when the connection failed while handing it over.
    fn hand_over(&mut self, mut conn: SmtpConnection, message: &[u8]) -> Attempt {
        let server = self.server;
        let sent = match simdutf8::basic::from_utf8(message) {
            Ok(text) => conn.command(Payload::new(text)),
            Err(_) => conn.message(message),
        };
        match sent {
            Ok(_) => {
                self.conn = Some(conn);
                Attempt::Done(Outcome::Sent)
            }
            Err(e) if e.is_transient() || e.is_permanent() => {
                let permanent = e.is_permanent();
                if closes(&e) {
                    conn.abort();
                } else {
                    self.conn = Some(conn);
                }
                Attempt::Done(Outcome::Refused {
                    error: describe(&e, server),
                    permanent,
                })
            }
            Err(e) => {
                conn.abort();
                Attempt::Done(Outcome::Unknown(format!(
                    "the connection to {} failed while the message was handed over: {}",
                    server.address(),
                    describe(&e, server)
                )))
            }
        }
    }

    /// Says goodbye politely.
    pub fn close(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.quit();
        }
    }
}

/// One try over one connection.
enum Attempt {
    Done(Outcome),
    /// The connection failed before the message was handed over, without an SMTP answer.
    Stale(String),
}

enum ConnectError {
    Fatal(Fatal),
    Transient(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_dot_stuffed_and_terminated() {
        for (message, wire) in [
            ("a\r\n.b\r\n..c", "a\r\n..b\r\n...c\r\n.\r\n"),
            (".start\r\n", "..start\r\n.\r\n"),
            ("x\r\n.\r\n.", "x\r\n..\r\n..\r\n.\r\n"),
            ("", "\r\n.\r\n"),
            ("no dots\r\n", "no dots\r\n.\r\n"),
        ] {
            assert_eq!(Payload::new(message).0, wire, "{message:?}");
        }
    }
}

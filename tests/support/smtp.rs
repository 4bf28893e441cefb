//! SMTP servers that listen on 127.0.0.1 inside the test process, for the digest's tests. With
//! `pub use`, this module also hands on the rest a digest test needs: the test PKI
//! ([`super::pki`]), runs of the real binary with a deadline ([`super::run`]), and digest sites
//! in temporary folders ([`super::digest_site`]).
//!
//! Two servers:
//! - [`MailinServer`]: mailin-embedded, for the well-behaved case, with STARTTLS (a certificate
//!   signed by a CA made at test time) and AUTH PLAIN/LOGIN.
//! - [`ScriptServer`]: a small SMTP server over plain TCP written here, whose every answer a
//!   test can script (4xx, 5xx, dropped connections, stalls), for the faults mailin cannot make.
//!
//! Both record what they accepted: a message counts as received once its final `.` has been
//! read and the server decided to accept it (before the `250` is written).

#![allow(dead_code)]

pub use super::digest_site::*;
pub use super::pki::*;
pub use super::run::*;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The SMTP password every test that authenticates uses; it must never be printed.
pub const PASSWORD: &str = "Tr0ub4dor&3-gazette-test-pw";
pub const USER: &str = "digest-bot";
/// The environment variable the site's `password_env` names.
pub const PASSWORD_ENV: &str = "GAZETTE_TEST_SMTP_PASSWORD";

// ------------------------------------------------------------------------------------------
// What servers received

/// One message a server accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    /// The connection it came on (0 for the first).
    pub conn: usize,
    /// The MAIL FROM parameters as sent (`BODY=8BITMIME`); the scripted server only.
    pub params: String,
}

impl Mail {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parsable message")
    }
}

#[derive(Debug, Default)]
struct Log {
    mails: Vec<Mail>,
    /// Messages whose data was read but that the script made the server drop unanswered and
    /// not deliver.
    lost: Vec<Mail>,
    /// Connections accepted (the scripted server only: mailin does not say).
    connections: usize,
    /// (mechanism, user, password) of every AUTH.
    auths: Vec<(String, String, String)>,
    /// Every RCPT TO seen, accepted or not.
    rcpts: Vec<String>,
}

/// What a server saw, shared with its threads.
#[derive(Clone, Default)]
pub struct Record(Arc<Mutex<Log>>);

impl Record {
    fn with<T>(&self, f: impl FnOnce(&mut Log) -> T) -> T {
        f(&mut self.0.lock().unwrap())
    }
    pub fn mails(&self) -> Vec<Mail> {
        self.with(|l| l.mails.clone())
    }
    pub fn lost(&self) -> Vec<Mail> {
        self.with(|l| l.lost.clone())
    }
    /// Messages received, by (lower-cased) recipient.
    pub fn by_rcpt(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for m in self.mails() {
            for to in &m.to {
                *out.entry(to.to_lowercase()).or_insert(0) += 1;
            }
        }
        out
    }
    pub fn count(&self) -> usize {
        self.with(|l| l.mails.len())
    }
    pub fn connections(&self) -> usize {
        self.with(|l| l.connections)
    }
    pub fn auths(&self) -> Vec<(String, String, String)> {
        self.with(|l| l.auths.clone())
    }
    /// How many times `address` was given in RCPT TO.
    pub fn rcpt_attempts(&self, address: &str) -> usize {
        self.with(|l| {
            l.rcpts
                .iter()
                .filter(|r| r.eq_ignore_ascii_case(address))
                .count()
        })
    }
    /// The one message to `address` (panics unless there is exactly one).
    pub fn only_to(&self, address: &str) -> Mail {
        let found: Vec<Mail> = self
            .mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect();
        assert_eq!(found.len(), 1, "messages to {address}");
        found.into_iter().next().unwrap()
    }
}

fn strip_brackets(text: &str) -> String {
    let t = text.trim();
    match (t.find('<'), t.find('>')) {
        (Some(a), Some(b)) if a < b => t[a + 1..b].to_string(),
        _ => t.split_whitespace().next().unwrap_or("").to_string(),
    }
}

// ------------------------------------------------------------------------------------------
// mailin-embedded

/// A well-behaved SMTP server (mailin-embedded) on 127.0.0.1. It runs until the test process
/// ends (mailin has no shutdown); each test starts its own on its own port.
pub struct MailinServer {
    pub port: u16,
    pub record: Record,
}

#[derive(Clone)]
struct MailinHandler {
    record: Record,
    /// Credentials accepted; AUTH is offered (and required) only when set.
    accept: Option<(String, String)>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl mailin_embedded::Handler for MailinHandler {
    fn helo(&mut self, _ip: std::net::IpAddr, _domain: &str) -> mailin_embedded::Response {
        mailin_embedded::response::OK
    }
    fn mail(
        &mut self,
        _ip: std::net::IpAddr,
        _domain: &str,
        from: &str,
    ) -> mailin_embedded::Response {
        self.from = strip_brackets(from);
        self.to.clear();
        self.data.clear();
        mailin_embedded::response::OK
    }
    fn rcpt(&mut self, to: &str) -> mailin_embedded::Response {
        let to = strip_brackets(to);
        self.record.with(|l| l.rcpts.push(to.clone()));
        self.to.push(to);
        mailin_embedded::response::OK
    }
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> mailin_embedded::Response {
        self.data.clear();
        mailin_embedded::response::OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }
    fn data_end(&mut self) -> mailin_embedded::Response {
        let mail = Mail {
            from: self.from.clone(),
            to: std::mem::take(&mut self.to),
            data: std::mem::take(&mut self.data),
            conn: 0,
            params: String::new(),
        };
        self.record.with(|l| l.mails.push(mail));
        mailin_embedded::response::OK
    }
    fn auth_plain(
        &mut self,
        _authorization_id: &str,
        authentication_id: &str,
        password: &str,
    ) -> mailin_embedded::Response {
        self.check("PLAIN", authentication_id, password)
    }
    fn auth_login(&mut self, username: &str, password: &str) -> mailin_embedded::Response {
        self.check("LOGIN", username, password)
    }
}

impl MailinHandler {
    fn check(&mut self, mechanism: &str, user: &str, password: &str) -> mailin_embedded::Response {
        self.record.with(|l| {
            l.auths
                .push((mechanism.into(), user.to_string(), password.to_string()))
        });
        match &self.accept {
            Some((u, p)) if u == user && p == password => mailin_embedded::response::AUTH_OK,
            _ => mailin_embedded::response::INVALID_CREDENTIALS,
        }
    }
}

/// rustls needs one process-wide crypto provider when more than one is compiled in.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl MailinServer {
    /// Starts a server: with STARTTLS when `tls` is given, and requiring AUTH (PLAIN or LOGIN)
    /// that accepts only `accept` when that is given (mailin offers AUTH only over TLS).
    pub fn start(tls: Option<&Pki>, accept: Option<(&str, &str)>) -> MailinServer {
        install_crypto_provider();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let record = Record::default();
        let handler = MailinHandler {
            record: record.clone(),
            accept: accept.map(|(u, p)| (u.to_string(), p.to_string())),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = mailin_embedded::Server::new(handler);
        server
            .with_name("mx.test.invalid")
            .with_num_threads(16)
            .with_tcp_listener(listener);
        if let Some(pki) = tls {
            server
                .with_ssl(mailin_embedded::SslConfig::SelfSigned {
                    cert_path: pki.cert.to_string_lossy().into_owned(),
                    key_path: pki.key.to_string_lossy().into_owned(),
                })
                .unwrap();
        }
        if accept.is_some() {
            server
                .with_auth(mailin_embedded::AuthMechanism::Plain)
                .with_auth(mailin_embedded::AuthMechanism::Login);
        }
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        MailinServer { port, record }
    }
}

// ------------------------------------------------------------------------------------------
// A scriptable SMTP server

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Before the greeting.
    Connect,
    Ehlo,
    Mail,
    /// RCPT TO this address.
    Rcpt(String),
    /// The DATA command.
    Data,
    /// The message's final `.` was read.
    DataEnd,
    Rset,
    Quit,
}

/// What the script sees at each step.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The connection, 0 for the first.
    pub conn: usize,
    /// Messages accepted on this connection so far.
    pub on_conn: usize,
    /// Messages accepted by the server so far.
    pub accepted: usize,
    pub step: Step,
    /// The transaction's recipients accepted so far.
    pub rcpts: Vec<String>,
    /// For `Rcpt`, and for `Data`/`DataEnd` (of the first recipient): how many times this
    /// address has been given in RCPT TO, this time included.
    pub attempt: usize,
}

impl Ctx {
    /// The transaction's first recipient (or the one being given in RCPT TO), lower-cased.
    pub fn rcpt(&self) -> String {
        match &self.step {
            Step::Rcpt(a) => a.to_lowercase(),
            _ => self
                .rcpts
                .first()
                .map(|a| a.to_lowercase())
                .unwrap_or_default(),
        }
    }
}

/// The server's answer to a step.
#[derive(Debug, Clone)]
pub enum Act {
    /// What a normal server says (and at `DataEnd`: accept the message).
    Normal,
    /// Wait, then act normally.
    Delay(Duration),
    /// This answer (at `DataEnd`, the message counts as received only for a 2xx).
    Reply(u16, &'static str),
    /// This answer, then close the connection.
    ReplyClose(u16, &'static str),
    /// Close the connection without answering (at `DataEnd`: the message is not delivered).
    Close,
    /// At `DataEnd`: the message is delivered, but the connection is closed before the answer.
    AcceptClose,
    /// Say nothing and keep the connection open until the server is dropped (or a minute).
    Stall,
}

type Script = Arc<dyn Fn(&Ctx) -> Act + Send + Sync>;

struct Shared {
    record: Record,
    script: Mutex<Script>,
    stop: AtomicBool,
    conns: AtomicUsize,
    accepted: AtomicUsize,
    rcpt_seen: Mutex<HashMap<String, usize>>,
}

/// An SMTP server on 127.0.0.1 over plain TCP whose answers a script decides. Stopped when
/// dropped.
pub struct ScriptServer {
    pub port: u16,
    pub record: Record,
    shared: Arc<Shared>,
}

impl ScriptServer {
    pub fn start(script: impl Fn(&Ctx) -> Act + Send + Sync + 'static) -> ScriptServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let record = Record::default();
        let shared = Arc::new(Shared {
            record: record.clone(),
            script: Mutex::new(Arc::new(script)),
            stop: AtomicBool::new(false),
            conns: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            rcpt_seen: Mutex::new(HashMap::new()),
        });
        let accept_shared = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn = accept_shared.conns.fetch_add(1, Ordering::SeqCst);
                accept_shared.record.with(|l| l.connections += 1);
                let shared = accept_shared.clone();
                std::thread::spawn(move || {
                    let _ = session(stream, conn, &shared);
                });
            }
        });
        ScriptServer {
            port,
            record,
            shared,
        }
    }

    /// A server that behaves.
    pub fn normal() -> ScriptServer {
        ScriptServer::start(|_| Act::Normal)
    }

    /// Replaces the script (for the connections' next steps).
    pub fn set_script(&self, script: impl Fn(&Ctx) -> Act + Send + Sync + 'static) {
        *self.shared.script.lock().unwrap() = Arc::new(script);
    }

    pub fn connections(&self) -> usize {
        self.shared.conns.load(Ordering::SeqCst)
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

enum Flow {
    /// Answered with this code; go on.
    Go(u16),
    /// The connection is over.
    End,
}

fn stall(shared: &Shared) {
    let until = Instant::now() + Duration::from_secs(60);
    while !shared.stop.load(Ordering::SeqCst) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Carries out `act` where a normal server would answer `normal`.
fn answer(w: &mut TcpStream, shared: &Shared, act: Act, normal: &str) -> std::io::Result<Flow> {
    let code_of = |text: &str| text[..3].parse::<u16>().unwrap();
    match act {
        Act::Normal => {
            w.write_all(normal.as_bytes())?;
            Ok(Flow::Go(code_of(normal)))
        }
        Act::Delay(d) => {
            std::thread::sleep(d);
            w.write_all(normal.as_bytes())?;
            Ok(Flow::Go(code_of(normal)))
        }
        Act::Reply(code, text) => {
            write!(w, "{code} {text}\r\n")?;
            Ok(Flow::Go(code))
        }
        Act::ReplyClose(code, text) => {
            write!(w, "{code} {text}\r\n")?;
            w.flush()?;
            let _ = w.shutdown(Shutdown::Both);
            Ok(Flow::End)
        }
        Act::Close | Act::AcceptClose => {
            let _ = w.shutdown(Shutdown::Both);
            Ok(Flow::End)
        }
        Act::Stall => {
            stall(shared);
            let _ = w.shutdown(Shutdown::Both);
            Ok(Flow::End)
        }
    }
}

fn session(stream: TcpStream, conn: usize, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut w = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut on_conn = 0;
    let mut from = String::new();
    let mut params = String::new();
    let mut rcpts: Vec<String> = Vec::new();
    let mut attempt = 0;
    let ctx = |step: Step, on_conn: usize, rcpts: &[String], attempt: usize| Ctx {
        conn,
        on_conn,
        accepted: shared.accepted.load(Ordering::SeqCst),
        step,
        rcpts: rcpts.to_vec(),
        attempt,
    };
    let decide = |c: &Ctx| {
        let script = shared.script.lock().unwrap().clone();
        script(c)
    };

    let c = ctx(Step::Connect, 0, &[], 0);
    if let Flow::End = answer(
        &mut w,
        shared,
        decide(&c),
        "220 script.test ESMTP ready\r\n",
    )? {
        return Ok(());
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let verb = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => {
                let normal = if verb == "EHLO" {
                    "250-script.test\r\n250-8BITMIME\r\n250 SIZE 20000000\r\n"
                } else {
                    "250 script.test\r\n"
                };
                let c = ctx(Step::Ehlo, on_conn, &rcpts, 0);
                if let Flow::End = answer(&mut w, shared, decide(&c), normal)? {
                    return Ok(());
                }
            }
            "MAIL" => {
                rcpts.clear();
                attempt = 0;
                let c = ctx(Step::Mail, on_conn, &rcpts, 0);
                match answer(&mut w, shared, decide(&c), "250 sender ok\r\n")? {
                    Flow::End => return Ok(()),
                    Flow::Go(code) if (200..300).contains(&code) => {
                        from = strip_brackets(text.split_once(':').map_or("", |x| x.1));
                        params = text.split_once('>').map_or("", |x| x.1).trim().to_string();
                    }
                    Flow::Go(_) => {}
                }
            }
            "RCPT" => {
                let to = strip_brackets(text.split_once(':').map_or("", |x| x.1));
                let seen = {
                    let mut seen = shared.rcpt_seen.lock().unwrap();
                    let n = seen.entry(to.to_lowercase()).or_insert(0);
                    *n += 1;
                    *n
                };
                shared.record.with(|l| l.rcpts.push(to.clone()));
                let c = ctx(Step::Rcpt(to.clone()), on_conn, &rcpts, seen);
                match answer(&mut w, shared, decide(&c), "250 recipient ok\r\n")? {
                    Flow::End => return Ok(()),
                    Flow::Go(code) if (200..300).contains(&code) => {
                        if rcpts.is_empty() {
                            attempt = seen;
                        }
                        rcpts.push(to);
                    }
                    Flow::Go(_) => {}
                }
            }
            "DATA" => {
                if rcpts.is_empty() {
                    w.write_all(b"503 no valid recipients\r\n")?;
                    continue;
                }
                let c = ctx(Step::Data, on_conn, &rcpts, attempt);
                match answer(
                    &mut w,
                    shared,
                    decide(&c),
                    "354 end data with <CR><LF>.<CR><LF>\r\n",
                )? {
                    Flow::End => return Ok(()),
                    Flow::Go(354) => {}
                    Flow::Go(_) => continue,
                }
                // The message, dot-unstuffed, up to the lone `.`.
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if reader.read_until(b'\n', &mut line)? == 0 {
                        // The client went away in the middle of the message.
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    let body: &[u8] = if line.starts_with(b".") {
                        &line[1..]
                    } else {
                        &line
                    };
                    data.extend_from_slice(body);
                }
                let mail = Mail {
                    from: from.clone(),
                    to: std::mem::take(&mut rcpts),
                    data,
                    conn,
                    params: params.clone(),
                };
                let c = Ctx {
                    rcpts: mail.to.clone(),
                    ..ctx(Step::DataEnd, on_conn, &[], attempt)
                };
                let act = decide(&c);
                let delivered = match &act {
                    Act::Normal | Act::Delay(_) | Act::AcceptClose => true,
                    Act::Reply(code, _) | Act::ReplyClose(code, _) => (200..300).contains(code),
                    Act::Close | Act::Stall => false,
                };
                if delivered {
                    on_conn += 1;
                    shared.accepted.fetch_add(1, Ordering::SeqCst);
                    shared.record.with(|l| l.mails.push(mail));
                } else if matches!(act, Act::Close | Act::Stall) {
                    shared.record.with(|l| l.lost.push(mail));
                }
                if let Flow::End = answer(&mut w, shared, act, "250 queued\r\n")? {
                    return Ok(());
                }
            }
            "RSET" => {
                rcpts.clear();
                let c = ctx(Step::Rset, on_conn, &rcpts, 0);
                if let Flow::End = answer(&mut w, shared, decide(&c), "250 reset\r\n")? {
                    return Ok(());
                }
            }
            "NOOP" => w.write_all(b"250 ok\r\n")?,
            "QUIT" => {
                let c = ctx(Step::Quit, on_conn, &rcpts, 0);
                let _ = answer(&mut w, shared, decide(&c), "221 bye\r\n");
                let _ = w.shutdown(Shutdown::Both);
                return Ok(());
            }
            _ => w.write_all(b"502 command not implemented\r\n")?,
        }
    }
}

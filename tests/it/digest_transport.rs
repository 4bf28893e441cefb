//! `gazette digest` over the transports the other tests leave out: implicit TLS from the first
//! byte (port 465 style), against an SMTP server written here on rustls, and the `rate:` limit,
//! against the scriptable server of tests/smtp_server.
//!
//! Every run of the binary has a deadline, and no run may print the SMTP password.

use crate::support::smtp as smtp_server;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use smtp_server::*;

fn addresses(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("s{i}@example.com")).collect()
}

fn each_once(addresses: &[String]) -> BTreeMap<String, usize> {
    addresses.iter().map(|a| (a.clone(), 1)).collect()
}

/// The subject of the small site's 2022-W02 digest.
const SUBJECT: &str = "小站 2022-W02";
const SENDER: &str = "digest@news.example.org";

/// A small site with two posts in 2022-W02 and `subscribers`, with the `smtp:` keys `keys`
/// (over the defaults of [`smtp_block`]).
fn small_site(port: u16, keys: &[&str], subscribers: &[String]) -> Site {
    let site = Site::new(&small_config(&smtp_block(port, keys)));
    site.write(
        "_posts/2022-01-11-news.md",
        post("一条新闻", "2022-01-11 10:00:00 +0800", "news"),
    );
    site.write(
        "_posts/2022-01-13-more.md",
        post("另一条新闻", "2022-01-13 18:30:00 +0800", "news"),
    );
    let list: String = subscribers.iter().map(|a| format!("- {a}\n")).collect();
    site.write("subscribers.yml", list);
    site
}

// ------------------------------------------------------------------------------------------
// An SMTP server speaking TLS from the first byte

#[derive(Debug, Default)]
struct TlsLog {
    /// TCP connections accepted.
    connections: usize,
    /// TLS handshakes that completed.
    handshakes: usize,
    /// For every AUTH: whether it carried the expected user and password.
    auths: Vec<bool>,
    mails: Vec<Mail>,
}

/// An SMTP server on 127.0.0.1 with implicit TLS (rustls, the certificate of a [`Pki`]) and
/// AUTH PLAIN, required before MAIL, accepting only [`USER`]/[`PASSWORD`]. Stopped when dropped.
struct ImplicitTlsServer {
    port: u16,
    log: Arc<Mutex<TlsLog>>,
    stop: Arc<AtomicBool>,
}

impl ImplicitTlsServer {
    fn start(pki: &Pki) -> ImplicitTlsServer {
        install_crypto_provider();
        let certs = CertificateDer::pem_slice_iter(&std::fs::read(&pki.cert).unwrap())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(&std::fs::read(&pki.key).unwrap()).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(TlsLog::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (accept_log, accept_stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn = {
                    let mut log = accept_log.lock().unwrap();
                    log.connections += 1;
                    log.connections - 1
                };
                let (config, log) = (config.clone(), accept_log.clone());
                std::thread::spawn(move || {
                    let _ = tls_session(stream, config, conn, &log);
                });
            }
        });
        ImplicitTlsServer { port, log, stop }
    }

    fn with<T>(&self, f: impl FnOnce(&TlsLog) -> T) -> T {
        f(&self.log.lock().unwrap())
    }

    fn mails(&self) -> Vec<Mail> {
        self.with(|l| l.mails.clone())
    }

    fn by_rcpt(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for m in self.mails() {
            for to in &m.to {
                *out.entry(to.to_lowercase()).or_insert(0) += 1;
            }
        }
        out
    }
}

impl Drop for ImplicitTlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// The address between `<` and `>` in a MAIL FROM or RCPT TO argument.
fn angle(text: &str) -> String {
    match (text.find('<'), text.find('>')) {
        (Some(a), Some(b)) if a < b => text[a + 1..b].to_string(),
        _ => text.split_whitespace().next().unwrap_or("").to_string(),
    }
}

type Tls = BufReader<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>;

fn say(tls: &mut Tls, text: &str) -> std::io::Result<()> {
    let stream = tls.get_mut();
    stream.write_all(text.as_bytes())?;
    stream.flush()
}

fn read_line(tls: &mut Tls, line: &mut Vec<u8>) -> std::io::Result<bool> {
    line.clear();
    Ok(tls.read_until(b'\n', line)? > 0)
}

fn tls_session(
    mut tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    conn: usize,
    log: &Mutex<TlsLog>,
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    tcp.set_nodelay(true)?;
    let mut server = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    // The handshake comes first: nothing, not even the greeting, goes in clear.
    while server.is_handshaking() {
        server.complete_io(&mut tcp)?;
    }
    log.lock().unwrap().handshakes += 1;
    let mut tls: Tls = BufReader::new(rustls::StreamOwned::new(server, tcp));

    say(&mut tls, "220 localhost ESMTP implicit TLS ready\r\n")?;
    let plain_blob = base64(format!("\0{USER}\0{PASSWORD}").as_bytes());
    let mut authenticated = false;
    let mut from = String::new();
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        if !read_line(&mut tls, &mut line)? {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let mut words = text.split_whitespace();
        let verb = words.next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => say(
                &mut tls,
                "250-localhost\r\n250-AUTH PLAIN\r\n250-8BITMIME\r\n250 SIZE 20000000\r\n",
            )?,
            "HELO" => say(&mut tls, "250 localhost\r\n")?,
            "AUTH" => {
                if !words
                    .next()
                    .is_some_and(|m| m.eq_ignore_ascii_case("PLAIN"))
                {
                    say(&mut tls, "504 only PLAIN\r\n")?;
                    continue;
                }
                let blob = match words.next() {
                    Some(blob) => blob.to_string(),
                    None => {
                        say(&mut tls, "334 \r\n")?;
                        if !read_line(&mut tls, &mut line)? {
                            return Ok(());
                        }
                        String::from_utf8_lossy(&line).trim().to_string()
                    }
                };
                let ok = blob == plain_blob;
                log.lock().unwrap().auths.push(ok);
                if ok {
                    authenticated = true;
                    say(&mut tls, "235 2.7.0 authentication succeeded\r\n")?;
                } else {
                    say(&mut tls, "535 5.7.8 invalid credentials\r\n")?;
                }
            }
            "MAIL" => {
                if !authenticated {
                    say(&mut tls, "530 5.7.0 authentication required\r\n")?;
                    continue;
                }
                from = angle(text.split_once(':').map_or("", |x| x.1));
                rcpts.clear();
                say(&mut tls, "250 sender ok\r\n")?;
            }
            "RCPT" => {
                rcpts.push(angle(text.split_once(':').map_or("", |x| x.1)));
                say(&mut tls, "250 recipient ok\r\n")?;
            }
            "DATA" => {
                if rcpts.is_empty() {
                    say(&mut tls, "503 no valid recipients\r\n")?;
                    continue;
                }
                say(&mut tls, "354 end data with <CR><LF>.<CR><LF>\r\n")?;
                // The message, dot-unstuffed, up to the lone `.`.
                let mut data = Vec::new();
                loop {
                    if !read_line(&mut tls, &mut line)? {
                        // The client went away in the middle of the message.
                        return Ok(());
                    }
                    if line == b".\r\n" {
                        break;
                    }
                    data.extend_from_slice(line.strip_prefix(b".").unwrap_or(&line));
                }
                let mail = Mail {
                    from: from.clone(),
                    to: std::mem::take(&mut rcpts),
                    data,
                    conn,
                    params: String::new(),
                };
                log.lock().unwrap().mails.push(mail);
                say(&mut tls, "250 queued\r\n")?;
            }
            "RSET" => {
                rcpts.clear();
                say(&mut tls, "250 reset\r\n")?;
            }
            "NOOP" => say(&mut tls, "250 ok\r\n")?,
            "QUIT" => {
                say(&mut tls, "221 bye\r\n")?;
                let stream = tls.get_mut();
                stream.conn.send_close_notify();
                let _ = stream.flush();
                return Ok(());
            }
            _ => say(&mut tls, "502 command not implemented\r\n")?,
        }
    }
}

// ------------------------------------------------------------------------------------------
// The tests

/// A site sending with implicit TLS to localhost:`port`, trusting the CA `ca_pem`.
fn implicit_site(port: u16, ca_pem: &str, subscribers: &[String]) -> Site {
    let site = small_site(
        port,
        &[
            "host: localhost",
            "tls: implicit",
            "ca_file: test-ca.pem",
            &format!("username: {USER}"),
            &format!("password_env: {PASSWORD_ENV}"),
            "concurrency: 3",
        ],
        subscribers,
    );
    site.write("test-ca.pem", ca_pem);
    site
}

#[test]
fn implicit_tls_on_connect_delivers_each_message_once() {
    let pki = Pki::new(&["localhost"]);
    let server = ImplicitTlsServer::start(&pki);
    let all = addresses(6);
    let site = implicit_site(server.port, &pki.ca_pem, &all);
    let out = site.digest_env(&["--week", "2022-W02"], &[(PASSWORD_ENV, PASSWORD)]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let via = format!("via localhost:{}", server.port);
    assert_eq!(out.stdout, summary(W02, &via, [6, 0, 0, 0, 0, 0, 0]));
    assert_eq!(out.stderr, "gazette: 6/6 messages handled\n");
    // (Every run is checked for this; said here too because it is this test's point.)
    assert_no_secret(&out.stdout);
    assert_no_secret(&out.stderr);

    assert_eq!(server.by_rcpt(), each_once(&all));
    for address in &all {
        let found: Vec<Mail> = server
            .mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect();
        assert_eq!(found.len(), 1, "messages to {address}");
        let mail = &found[0];
        assert_eq!(mail.from, SENDER, "envelope sender");
        assert_eq!(mail.to, vec![address.clone()], "envelope recipient");
        let m = mail.parsed();
        let to = m.to().expect("a To header").first().unwrap();
        assert_eq!(to.address(), Some(address.as_str()));
        assert_eq!(m.subject(), Some(SUBJECT));
        let from = m.from().expect("a From header").first().unwrap();
        assert_eq!(from.address(), Some(SENDER));
    }
    let (handshakes, auths) = server.with(|l| (l.handshakes, l.auths.clone()));
    assert!(handshakes >= 1, "{handshakes}");
    assert!(!auths.is_empty(), "AUTH was used");
    assert!(
        auths.iter().all(|ok| *ok),
        "every AUTH carried the configured user and password: {auths:?}"
    );

    // A certificate from a CA the site does not trust: the handshake fails, the run stops at
    // once, as a TLS failure (not retried per message), and nothing is sent.
    let stranger = Pki::new(&["localhost"]);
    let server = ImplicitTlsServer::start(&pki);
    let site = implicit_site(server.port, &stranger.ca_pem, &all);
    let out = site.digest_env(&["--week", "2022-W02"], &[(PASSWORD_ENV, PASSWORD)]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    let via = format!("via localhost:{}", server.port);
    assert_eq!(
        out.stdout,
        stopped_summary(
            W02,
            &via,
            [0, 0, 0, 0, 0, 0, 0],
            "TLS with the SMTP server failed",
            6
        )
    );
    assert!(
        out.stderr.starts_with("gazette: the run stopped: ") && out.stderr.contains("TLS"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert_no_secret(&out.stdout);
    assert_no_secret(&out.stderr);
    let (connections, handshakes, auths, mails) =
        server.with(|l| (l.connections, l.handshakes, l.auths.len(), l.mails.len()));
    assert_eq!(handshakes, 0, "no handshake may complete");
    assert_eq!(auths, 0, "no credentials were sent");
    assert_eq!(mails, 0);
    // One try per worker at most (`concurrency: 3`): a failure retried per message would make
    // up to `attempts` (3) connections for each of the 6 subscribers.
    assert!(
        (1..=3).contains(&connections),
        "connections: {connections}\n{out:#?}"
    );
}

#[test]
fn the_rate_limit_spaces_messages() {
    const N: usize = 10;
    const RATE: f64 = 20.0;
    let arrivals = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let recorder = arrivals.clone();
    let server = ScriptServer::start(move |c| {
        if c.step == Step::DataEnd {
            recorder.lock().unwrap().push(Instant::now());
        }
        Act::Normal
    });
    let all = addresses(N);
    let site = small_site(
        server.port,
        &["tls: none", "rate: 20", "concurrency: 4"],
        &all,
    );
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(
            W02,
            &format!("via 127.0.0.1:{}", server.port),
            [N, 0, 0, 0, 0, 0, 0]
        )
    );
    assert_eq!(server.record.by_rcpt(), each_once(&all));

    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), N, "one DATA end per message");
    let first = *arrivals.iter().min().unwrap();
    let last = *arrivals.iter().max().unwrap();
    // A lower bound only: at most RATE messages a second means N messages span at least
    // (N - 1) / RATE seconds (less a little for the first one's connection set-up).
    // A lower bound only, with room for the first connection's set-up on a busy machine: without
    // the limit the span is about 40 ms, with it about 450 ms.
    let floor = Duration::from_secs_f64((N - 1) as f64 / RATE) - Duration::from_millis(150);
    assert!(
        last - first >= floor,
        "{N} messages at rate {RATE}/s arrived within {:?} (at least {floor:?} expected)",
        last - first
    );
}

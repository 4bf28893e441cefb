//! `gazette serve` end to end: the real binary on 127.0.0.1, spoken to over loopback with
//! hand-written HTTP/1.1, its mails caught by a real SMTP server (mailin) or in the outbox and
//! read with mail-parser, and the digest run in between.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use gazette::digest::store::{SqliteStore, Status, SubscriberStore};
use gazette::serve::token::{Claims, Purpose, Subject, TokenKey};

use crate::support::smtp::*;

const READER: &str = "reader@example.org";

/// The example's posts, a digest that mails through `smtp` (or the outbox), and the service's
/// settings (`serve` lines, indented under `serve:`).
fn config(smtp: &str, serve: &[&str]) -> String {
    let mut serve_block = String::from("    serve:\n      request_timeout_secs: 5\n");
    for line in serve {
        serve_block.push_str(&format!("      {line}\n"));
    }
    format!(
        r#"title: 财经新闻镜像
url: "https://finews.example.com"
baseurl: ""
timezone: Asia/Shanghai
lang: zh-CN
permalink: date
gazette:
  category_names:
    xinhuashe: 新华社
  digest:
    from: "财经新闻镜像 <digest@finews.example.com>"
    subject: "{{{{site.title}}}} {{{{period.label}}}}"
    secret_file: digest-secret.txt
    state: _gazette
    outbox: _gazette/outbox
    serve_url: "https://news.example.org/newsletter/"
{serve_block}{smtp}"#
    )
}

/// A running `gazette serve`, killed if a test ends without stopping it.
struct Serve {
    child: Option<Child>,
    addr: SocketAddr,
    stdout: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Serve {
    fn start(site: &Site) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(["serve", "--site", ".", "--listen", "127.0.0.1:0"])
            .current_dir(site.path())
            .env_remove("GAZETTE_SECRET")
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gazette serve starts");
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let first = stdout
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("gazette serve printed no address within 60 s")
            });
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        Serve {
            child: Some(child),
            addr,
            stdout,
            stderr,
        }
    }

    fn request(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        request(self.addr, method, target, headers, body)
    }

    fn get(&self, target: &str) -> Resp {
        self.request("GET", target, &[], b"")
    }

    fn post_form(&self, target: &str, body: &str) -> Resp {
        self.request(
            "POST",
            target,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
    }

    /// SIGTERM, then the exit status (within 30 s), what it printed after the address, and its
    /// standard error.
    fn terminate(mut self) -> (Option<i32>, String, String) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let started = Instant::now();
        let code = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code();
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("gazette serve did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let rest: Vec<String> = self.stdout.try_iter().collect();
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        (code, rest.join("\n"), stderr.join().unwrap())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

/// One HTTP/1.1 request on its own connection (`Connection: close`), read to the end.
fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    let mut has_length = false;
    for (name, value) in headers {
        has_length |= name.eq_ignore_ascii_case("content-length");
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has_length && (method == "POST" || !body.is_empty()) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    // The server may close while a refused body is still unsent: what it answered is kept.
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer to {method} {target}: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: body.to_string(),
    }
}

fn assert_security_headers(resp: &Resp) {
    let h = &resp.headers;
    let csp = h.get("content-security-policy").map(String::as_str);
    assert!(
        csp.is_some_and(|c| c.starts_with(
            "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'"
        )),
        "{resp:?}"
    );
    assert_eq!(
        h.get("x-content-type-options").map(String::as_str),
        Some("nosniff")
    );
    assert_eq!(
        h.get("referrer-policy").map(String::as_str),
        Some("no-referrer")
    );
    assert_eq!(h.get("x-frame-options").map(String::as_str), Some("DENY"));
}

/// The path and query of a link to the service (`https://news.example.org/newsletter/…`), to
/// send to the address the test service listens on.
fn local_target(link: &str) -> String {
    link.strip_prefix("https://news.example.org/newsletter")
        .unwrap_or_else(|| panic!("not a link to the service: {link}"))
        .to_string()
}

/// The first link to the service in a text.
fn service_link(text: &str, route: &str) -> String {
    let start = text
        .find(&format!("https://news.example.org/newsletter/{route}?"))
        .unwrap_or_else(|| panic!("no {route} link in {text}"));
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '>' || c == '"')
        .next()
        .unwrap()
        .to_string()
}

/// Waits (at most 10 s) until the SMTP server has `count` mails to `to`; returns the last.
fn mail_to(server: &MailinServer, to: &str, count: usize) -> Mail {
    let started = Instant::now();
    loop {
        let mails: Vec<Mail> = server
            .record
            .mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .collect();
        if mails.len() >= count {
            return mails[count - 1].clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{count} mails to {to} did not arrive; got {}",
            mails.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mails_to(server: &MailinServer, to: &str) -> usize {
    server
        .record
        .mails()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .count()
}

fn status_of(site: &Site, address: &str) -> Option<Status> {
    let store = SqliteStore::open_existing(&site.path().join("_gazette"))
        .unwrap()
        .expect("a store");
    store
        .get(&address.parse().unwrap())
        .unwrap()
        .map(|s| s.status)
}

fn site_key(site: &Site) -> TokenKey {
    let secret = std::fs::read_to_string(site.path().join("digest-secret.txt")).unwrap();
    TokenKey::new(secret.trim().as_bytes()).unwrap()
}

/// A token with one character of its signed part changed.
fn tampered(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// Signs up `address` and returns the confirmation link mailed to it (the `nth` mail to it).
fn sign_up(serve: &Serve, server: &MailinServer, address: &str, nth: usize) -> String {
    let body = format!(
        "address={}&name=%E8%AF%BB%E8%80%85&return_to=%2F2022%2F01%2F",
        address.replace('@', "%40")
    );
    let resp = serve.post_form("/subscribe", &body);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert!(resp.body.contains("请查收邮件"), "{}", resp.body);
    assert!(
        resp.body
            .contains("href=\"https://finews.example.com/2022/01/\""),
        "the page links back to the checked return_to: {}",
        resp.body
    );
    let mail = mail_to(server, address, nth);
    let parsed = mail.parsed();
    assert!(parsed.subject().unwrap().contains("请确认订阅"));
    service_link(&parsed.body_text(0).unwrap(), "confirm")
}

#[test]
fn sign_up_confirm_digest_then_one_click_unsubscribe_and_back() {
    let server = MailinServer::start(None, None);
    // Three sign-ups of one address below: allowed.
    let site = Site::example(&config(
        &smtp_block(server.port, &["tls: none"]),
        &["address_burst: 3"],
    ));
    let serve = Serve::start(&site);

    // The form: in Chinese, the site's categories, every security header.
    let form = serve.get("/subscribe");
    assert_eq!(form.status, 200);
    assert_security_headers(&form);
    assert!(form.body.contains("<html lang=\"zh-CN\">"));
    assert!(
        form.body.contains("value=\"xinhuashe\"> 新华社"),
        "{}",
        form.body
    );
    assert!(form.body.contains("action=\"subscribe\""));

    // Sign up: a confirmation mail; nothing subscribed yet.
    let confirm = sign_up(&serve, &server, READER, 1);
    assert_eq!(status_of(&site, READER), Some(Status::Pending));

    // A tampered confirmation link is refused and confirms nothing.
    let token = confirm.split_once("token=").unwrap().1;
    let resp = serve.get(&format!("/confirm?token={}", tampered(token)));
    assert_eq!(resp.status, 400, "{resp:?}");
    assert_eq!(status_of(&site, READER), Some(Status::Pending));

    // The link confirms, once.
    let resp = serve.get(&local_target(&confirm));
    assert_eq!(resp.status, 200, "{resp:?}");
    assert!(resp.body.contains("订阅成功"));
    assert_security_headers(&resp);
    assert_eq!(status_of(&site, READER), Some(Status::Confirmed));
    let replay = serve.get(&local_target(&confirm));
    assert_eq!(replay.status, 410, "{replay:?}");

    // The digest goes to the new subscriber, with the service's one-click link.
    let out = site.digest(&["--week", "2022-W01"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let digest = mail_to(&server, READER, 2);
    let parsed = digest.parsed();
    assert!(parsed.subject().unwrap().contains("2022-W01"));
    let header = parsed
        .header_raw("List-Unsubscribe")
        .expect("List-Unsubscribe");
    let unsubscribe = service_link(header, "unsubscribe");
    assert_eq!(
        parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    let target = local_target(&unsubscribe);

    // Opening the link shows a button and changes nothing (scanners open links).
    let page = serve.get(&target);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page
        .body
        .contains("name=\"List-Unsubscribe\" value=\"One-Click\""));
    // Handlebars writes `=` in attributes as `&#x3D;`, which browsers read back as `=`.
    assert!(
        page.body.contains("href=\"preferences?token&#x3D;v1."),
        "{}",
        page.body
    );
    assert_eq!(status_of(&site, READER), Some(Status::Confirmed));

    // Tampered, foreign and expired unsubscribe tokens change nothing.
    let token = target.split_once("token=").unwrap().1;
    let one_click = "List-Unsubscribe=One-Click";
    let resp = serve.post_form(
        &format!("/unsubscribe?token={}", tampered(token)),
        one_click,
    );
    assert_eq!(resp.status, 400, "{resp:?}");
    let claims = |expires| Claims {
        purpose: Purpose::Unsubscribe,
        subject: Subject::Address(READER.into()),
        expires,
        data: Vec::new(),
    };
    let foreign = TokenKey::new(b"another site's secret")
        .unwrap()
        .issue(&claims(Utc::now() + TimeDelta::days(1)))
        .unwrap();
    let resp = serve.post_form(&format!("/unsubscribe?token={foreign}"), one_click);
    assert_eq!(resp.status, 400, "{resp:?}");
    let expired = site_key(&site)
        .issue(&claims(Utc::now() - TimeDelta::days(1)))
        .unwrap();
    let resp = serve.post_form(&format!("/unsubscribe?token={expired}"), one_click);
    assert_eq!(resp.status, 410, "{resp:?}");
    // A confirmation token is no unsubscribe token.
    let confirm_token = confirm.split_once("token=").unwrap().1;
    let resp = serve.post_form(&format!("/unsubscribe?token={confirm_token}"), one_click);
    assert_eq!(resp.status, 400, "{resp:?}");
    // Without the RFC 8058 body, nothing happens either.
    let resp = serve.post_form(&target, "");
    assert_eq!(resp.status, 400, "{resp:?}");
    assert_eq!(status_of(&site, READER), Some(Status::Confirmed));

    // The one-click POST with the digest's own URL unsubscribes at once.
    let resp = serve.post_form(&target, one_click);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_security_headers(&resp);
    assert_eq!(status_of(&site, READER), Some(Status::Unsubscribed));

    // The next digest leaves them out.
    let before = mails_to(&server, READER);
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("0 sent"), "{out:?}");
    assert_eq!(mails_to(&server, READER), before);

    // Signing up again and confirming brings them back.
    let confirm = sign_up(&serve, &server, READER, before + 1);
    assert_eq!(status_of(&site, READER), Some(Status::Pending));
    let resp = serve.get(&local_target(&confirm));
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(status_of(&site, READER), Some(Status::Confirmed));

    // Signing up an address that is subscribed: the same page, and a preferences mail.
    let resp = serve.post_form("/subscribe", "address=reader%40example.org");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert!(resp.body.contains("请查收邮件"));
    let mail = mail_to(&server, READER, before + 2);
    let text = mail.parsed().body_text(0).unwrap().into_owned();
    let preferences = local_target(&service_link(&text, "preferences"));
    let page = serve.get(&preferences);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("value=\"xinhuashe\""));
    let resp = serve.post_form(&preferences, "categories=xinhuashe");
    assert_eq!(resp.status, 200, "{resp:?}");
    let store = SqliteStore::open_existing(&site.path().join("_gazette"))
        .unwrap()
        .unwrap();
    let row = store.get(&READER.parse().unwrap()).unwrap().unwrap();
    assert_eq!(row.categories, vec!["xinhuashe".to_string()]);
    let resp = serve.post_form(&preferences, "categories=nope");
    assert_eq!(resp.status, 400, "{resp:?}");

    let (code, stdout, stderr) = serve.terminate();
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("stopped"), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains(READER),
        "an address reached the log: {stderr}"
    );
}

#[test]
fn floods_oversized_bodies_and_bad_forms_are_refused() {
    // Into the outbox; five requests at once per client; the proxy on 127.0.0.1 is trusted.
    let site = Site::example(&config(
        "",
        &[
            "client_burst: 5",
            "client_interval_secs: 600",
            "address_burst: 2",
            "trusted_proxies: [127.0.0.1]",
        ],
    ));
    let serve = Serve::start(&site);
    let outbox = site.path().join("_gazette/outbox");
    let mails = || std::fs::read_dir(&outbox).map_or(0, |d| d.count());

    // A body over the limit: 413 before it is read, with the security headers.
    let resp = serve.request(
        "POST",
        "/subscribe",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", "10000000"),
        ],
        b"",
    );
    assert_eq!(resp.status, 413, "{resp:?}");
    assert_security_headers(&resp);

    // An unknown page: 404, with the headers too.
    let resp = serve.get("/admin");
    assert_eq!(resp.status, 404, "{resp:?}");
    assert_security_headers(&resp);
    // No token, or a malformed one: refused.
    assert_eq!(serve.get("/unsubscribe").status, 400);
    assert_eq!(serve.get("/confirm?token=v1.AAAA").status, 400);
    assert_eq!(serve.get("/preferences?token=abc").status, 400);

    // A wrong form is shown again with its errors, every value escaped, and mails nothing.
    let resp = serve.request(
        "POST",
        "/subscribe",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Forwarded-For", "192.0.2.1"),
        ],
        b"address=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E&categories=nope",
    );
    assert_eq!(resp.status, 400, "{resp:?}");
    assert!(!resp.body.contains("<script>"), "{}", resp.body);
    assert!(resp.body.contains("&lt;script&gt;"), "{}", resp.body);
    assert!(resp.body.contains("本站没有这个栏目"), "{}", resp.body);
    assert_eq!(mails(), 0);

    // One address, from three clients behind the proxy: the third sign-up is limited.
    for (i, client) in ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
        .iter()
        .enumerate()
    {
        let resp = serve.request(
            "POST",
            "/subscribe",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("X-Forwarded-For", client),
            ],
            b"address=stranger%40example.org",
        );
        let expected = if i < 2 { 200 } else { 429 };
        assert_eq!(resp.status, expected, "sign-up {i}: {resp:?}");
    }
    assert_eq!(mails(), 2);

    // A flood from one client: five pass, then 429 with Retry-After; mails stop too.
    let mut statuses = Vec::new();
    for i in 0..12 {
        let resp = serve.request(
            "POST",
            "/subscribe",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("X-Forwarded-For", "198.51.100.7"),
            ],
            format!("address=flood{i}%40example.org").as_bytes(),
        );
        if resp.status == 429 {
            assert!(resp.headers.contains_key("retry-after"), "{resp:?}");
            assert_security_headers(&resp);
        }
        statuses.push(resp.status);
    }
    assert_eq!(statuses[..5], [200; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|&s| s == 429), "{statuses:?}");
    assert_eq!(mails(), 7);
    // Another client is not held back by the flood.
    let resp = serve.request(
        "POST",
        "/subscribe",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Forwarded-For", "198.51.100.8"),
        ],
        b"address=someone%40example.org",
    );
    assert_eq!(resp.status, 200, "{resp:?}");

    // The outbox mail is a confirmation whose link works, once.
    assert_eq!(mails(), 8);
    let (code, _, stderr) = serve.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains("@example.org"),
        "an address reached the log: {stderr}"
    );
}

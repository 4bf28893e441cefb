//! The pages of `gazette serve`, and the sign-up snippet `gazette build` writes, as a browser
//! shows them: the real service on 127.0.0.1, each page rendered by headless Chromium (Debian's
//! `chromium`) into a PNG screenshot and a dump of its DOM, with Chromium's log read for
//! Content-Security-Policy violations.
//!
//! Without `chromium` (or a Chinese font) the tests say so loudly and check nothing in the
//! browser, unless `GAZETTE_REQUIRE_CHROMIUM=1` (CI sets it), which makes a missing one fail.
//!
//! A screenshot counts when it is a well-formed PNG (signature, every chunk's length and CRC,
//! IHDR first, IDAT, IEND last) of the window's size, and is not blank: no PNG decoder is among
//! the dependencies, so it is compared with a screenshot of an empty page taken the same way,
//! which compresses to a few kilobytes while a page with text and fields takes several times
//! that.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use gazette::serve::links::{preferences_link, unsubscribe_link, ServiceUrl};
use gazette::serve::token::TokenKey;

use crate::support::smtp::*;

const SERVICE: &str = "https://news.example.org/newsletter";
/// The window Chromium renders into, and so the screenshot's size.
const WIDTH: u32 = 800;
const HEIGHT: u32 = 900;
/// How long one Chromium run may take before it is killed and the test fails.
const CHROMIUM_DEADLINE: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------------------------------
// Chromium

/// The `chromium` to render with, or `None` (said loudly) when it or a Chinese font is missing
/// and `GAZETTE_REQUIRE_CHROMIUM=1` is not set; with it set, a missing one fails the test.
fn chromium() -> Option<PathBuf> {
    let required = std::env::var("GAZETTE_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    });
    let Some(found) = found else {
        assert!(
            !required,
            "GAZETTE_REQUIRE_CHROMIUM=1 but no `chromium` on PATH (Debian: apt-get install chromium)"
        );
        eprintln!(
            "SKIPPED: no `chromium` on PATH, so the pages were not rendered in a browser \
             (Debian: apt-get install chromium; set GAZETTE_REQUIRE_CHROMIUM=1 to fail instead)"
        );
        return None;
    };
    // Without a font that has Chinese glyphs the Chinese pages show boxes, and the screenshots
    // would check nothing of them.
    let fonts = Command::new("fc-list")
        .arg(":lang=zh")
        .stderr(Stdio::null())
        .output();
    let has_cjk = fonts.is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if !has_cjk {
        assert!(
            !required,
            "GAZETTE_REQUIRE_CHROMIUM=1 but no font with Chinese glyphs (Debian: apt-get install fonts-wqy-microhei)"
        );
        eprintln!(
            "SKIPPED: no font with Chinese glyphs (`fc-list :lang=zh` lists none), so the pages \
             were not rendered in a browser (Debian: apt-get install fonts-wqy-microhei)"
        );
        return None;
    }
    Some(found)
}

/// What Chromium made of one page.
struct Shot {
    png: Vec<u8>,
    /// The DOM after loading (`--dump-dom`).
    dom: String,
    /// Chromium's log (`--enable-logging=stderr`): console messages, CSP violations among them.
    log: String,
}

/// Renders `url` with a fresh profile in `dir`, saving the screenshot as `dir/NAME.png`.
fn render(chromium: &Path, dir: &Path, name: &str, url: &str) -> Shot {
    let png_path = dir.join(format!("{name}.png"));
    let profile = dir.join(format!("profile-{name}"));
    let run = Program::new(chromium)
        .name("chromium")
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png_path.display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg("--dump-dom")
        .arg(url)
        .env("HOME", dir)
        .deadline(CHROMIUM_DEADLINE)
        .run();
    assert_eq!(run.code, Some(0), "chromium failed on {url}: {run:?}");
    let png = std::fs::read(&png_path)
        .unwrap_or_else(|e| panic!("no screenshot of {url} ({e}): {}", run.stderr));
    Shot {
        png,
        dom: run.stdout,
        log: run.stderr,
    }
}

/// The CRC-32 of PNG chunks (ISO 3309, reflected, polynomial 0xEDB88320).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Checks that `png` is a well-formed PNG (signature, each chunk's length and CRC, IHDR first,
/// some IDAT, IEND last) and returns its width, height and the size of its image data.
fn png_info(png: &[u8]) -> Result<(u32, u32, usize), String> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let rest = png.strip_prefix(SIGNATURE).ok_or("no PNG signature")?;
    let mut at = 0;
    let mut chunks = Vec::new();
    let mut size = None;
    let mut idat = 0;
    while at < rest.len() {
        let header = rest.get(at..at + 8).ok_or("a truncated chunk header")?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = String::from_utf8_lossy(&header[4..8]).into_owned();
        let body = rest
            .get(at + 8..at + 8 + length)
            .ok_or_else(|| format!("chunk {kind} runs past the end"))?;
        let crc = rest
            .get(at + 8 + length..at + 12 + length)
            .ok_or_else(|| format!("chunk {kind} has no CRC"))?;
        let expected = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32(&rest[at + 4..at + 8 + length]) != expected {
            return Err(format!("chunk {kind}'s CRC is wrong"));
        }
        match kind.as_str() {
            "IHDR" if length == 13 => {
                let w = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                let h = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                size = Some((w, h));
            }
            "IDAT" => idat += length,
            _ => {}
        }
        chunks.push(kind);
        at += 12 + length;
    }
    if chunks.first().map(String::as_str) != Some("IHDR") {
        return Err(format!("IHDR is not the first chunk: {chunks:?}"));
    }
    if chunks.last().map(String::as_str) != Some("IEND") {
        return Err(format!("IEND is not the last chunk: {chunks:?}"));
    }
    if idat == 0 {
        return Err("no image data".into());
    }
    let (w, h) = size.ok_or("no valid IHDR")?;
    Ok((w, h, idat))
}

/// The reference for "blank": an empty page whose own policy forbids its inline style, so that
/// its run also shows how Chromium logs a CSP violation (without which "no violation in the
/// log" would prove nothing).
struct Blank {
    image_data: usize,
}

impl Blank {
    fn take(chromium: &Path, dir: &Path) -> Blank {
        let url = "data:text/html,<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
                   content=\"default-src %27none%27\"><style>body{margin:0}</style></head><body></body></html>";
        let shot = render(chromium, dir, "blank", url);
        let (w, h, image_data) = png_info(&shot.png).unwrap();
        assert_eq!((w, h), (WIDTH, HEIGHT));
        assert!(
            csp_violations(&shot.log).len() == 1,
            "Chromium did not log the empty page's CSP violation as expected, so its log \
             cannot show violations on the pages: {}",
            shot.log
        );
        Blank { image_data }
    }

    /// Checks a page's screenshot and log: a PNG of the window's size, well above blank, and
    /// no CSP violation.
    fn check(&self, what: &str, shot: &Shot) {
        let (w, h, image_data) =
            png_info(&shot.png).unwrap_or_else(|e| panic!("{what}: not a valid PNG: {e}"));
        assert_eq!((w, h), (WIDTH, HEIGHT), "{what}: the screenshot's size");
        assert!(
            image_data > 3 * self.image_data && image_data > self.image_data + 8_000,
            "{what}: the screenshot looks blank: {image_data} bytes of image data against \
             {} for an empty page",
            self.image_data
        );
        let violations = csp_violations(&shot.log);
        assert!(
            violations.is_empty(),
            "{what}: the page breaks its own Content-Security-Policy: {violations:?}"
        );
        // No external resource at all: nothing to load, so nothing CSP could block either.
        for external in [
            "<script", "<link", "<img", "<iframe", "src=", "url(", "@import",
        ] {
            assert!(
                !shot.dom.contains(external),
                "{what}: the page loads something ({external}): {}",
                shot.dom
            );
        }
    }
}

/// Chromium's log lines that report a Content-Security-Policy violation.
fn csp_violations(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("Content Security Policy"))
        .collect()
}

// ------------------------------------------------------------------------------------------
// The service

/// A running `gazette serve` on 127.0.0.1 (mail into the outbox), killed when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
}

impl Serve {
    fn start(site: &Site) -> Serve {
        let mut child = Command::new(gazette_bin())
            .args(["serve", "--site", ".", "--listen", "127.0.0.1:0"])
            .current_dir(site.path())
            .env_remove("GAZETTE_SECRET")
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gazette serve starts");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading so that the service never blocks on a full pipe.
            for _ in lines {}
        });
        let Ok(first) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gazette serve printed no address within 60 s");
        };
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no address in {first:?}");
        };
        Serve { child, addr }
    }

    /// The page at `target` (a path and query) of the running service.
    fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }

    /// A form POST on its own connection; the status and body.
    fn post_form(&self, target: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let head = format!(
            "POST {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP answer to POST {target}: {text:?}"));
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, body.to_string())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The example's posts with `lang` and `title`, mail into the outbox, the service at
/// [`SERVICE`]; `extra` lines go under `gazette:` (two spaces).
fn config(lang: &str, title: &str, extra: &str) -> String {
    format!(
        r#"title: "{title}"
url: "https://finews.example.com"
baseurl: ""
timezone: Asia/Shanghai
lang: {lang}
permalink: date
gazette:
{extra}  digest:
    from: "{title} <digest@finews.example.com>"
    subject: "{{{{site.title}}}} {{{{period.label}}}}"
    category_order: [xinhuashe, zhengquanribao]
    secret_file: digest-secret.txt
    state: _gazette
    outbox: _gazette/outbox
    serve_url: "{SERVICE}/"
"#
    )
}

/// The path and query of a link to the service.
fn local_target(link: &str) -> String {
    link.strip_prefix(SERVICE)
        .unwrap_or_else(|| panic!("not a link to the service: {link}"))
        .to_string()
}

/// The one confirmation mail in the outbox: its link to `/confirm`.
fn confirmation_link(site: &Site) -> String {
    let outbox = site.path().join("_gazette/outbox");
    let mails: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .unwrap_or_else(|e| panic!("{}: {e}", outbox.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let bytes = std::fs::read(&mails[0]).unwrap();
    let mail = mail_parser::MessageParser::default()
        .parse(&bytes)
        .expect("a parsable mail");
    let text = mail.body_text(0).expect("a text body").into_owned();
    let start = text
        .find(&format!("{SERVICE}/confirm?token="))
        .unwrap_or_else(|| panic!("no confirmation link in {text}"));
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '>' || c == '"')
        .next()
        .unwrap()
        .to_string()
}

fn site_key(site: &Site) -> TokenKey {
    let secret = std::fs::read_to_string(site.path().join("digest-secret.txt")).unwrap();
    TokenKey::new(secret.trim().as_bytes()).unwrap()
}

/// What the pages of one language must show.
struct Expected {
    lang: &'static str,
    subscribe: &'static [&'static str],
    confirmed: &'static str,
    unsubscribe: &'static str,
    preferences: &'static str,
}

/// Signs `reader` up, confirms in the browser, then renders the unsubscribe and preferences
/// pages: each screenshot checked, each DOM holding the page's fields and texts.
fn render_every_page(
    chromium: &Path,
    site: &Site,
    expected: &Expected,
    reader: &str,
) -> Vec<(String, PathBuf)> {
    let shots = tempfile::Builder::new()
        .prefix("gazette-chromium-")
        .tempdir()
        .unwrap();
    let dir = shots.path();
    let blank = Blank::take(chromium, dir);
    let serve = Serve::start(site);
    let mut saved = Vec::new();
    let mut keep = |name: &str, shot: &Shot| {
        // Kept beside the test's temporary folder for a person to look at, when asked.
        if let Some(to) = std::env::var_os("GAZETTE_SCREENSHOTS") {
            let to = PathBuf::from(to).join(format!("{}-{name}.png", expected.lang));
            if std::fs::create_dir_all(to.parent().unwrap()).is_ok()
                && std::fs::write(&to, &shot.png).is_ok()
            {
                saved.push((name.to_string(), to));
            }
        }
    };

    // The sign-up form.
    let shot = render(chromium, dir, "subscribe", &serve.url("/subscribe"));
    blank.check("/subscribe", &shot);
    assert!(
        shot.dom
            .contains(&format!("<html lang=\"{}\">", expected.lang)),
        "{}",
        shot.dom
    );
    for field in [
        "name=\"address\" type=\"email\" required",
        "name=\"name\" type=\"text\"",
        "type=\"checkbox\" name=\"categories\" value=\"xinhuashe\"",
        "<button type=\"submit\">",
    ] {
        assert!(
            shot.dom.contains(field),
            "/subscribe lacks {field}: {}",
            shot.dom
        );
    }
    for text in expected.subscribe {
        assert!(
            shot.dom.contains(text),
            "/subscribe lacks {text}: {}",
            shot.dom
        );
    }
    keep("subscribe", &shot);

    // Sign up (the form's own fields), then open the mailed link in the browser: it confirms.
    let (status, body) = serve.post_form(
        "/subscribe",
        &format!(
            "address={}&categories=xinhuashe",
            reader.replace('@', "%40")
        ),
    );
    assert_eq!(status, 200, "{body}");
    let confirm = confirmation_link(site);
    let shot = render(
        chromium,
        dir,
        "confirm",
        &serve.url(&local_target(&confirm)),
    );
    blank.check("/confirm", &shot);
    assert!(
        shot.dom.contains(expected.confirmed),
        "/confirm: {}",
        shot.dom
    );
    keep("confirm", &shot);

    // The unsubscribe page: one button, the one-click field; it unsubscribes nobody.
    let key = site_key(site);
    let service = ServiceUrl::parse(SERVICE).unwrap();
    let now = Utc::now();
    let link = unsubscribe_link(&service, &key, reader, now, TimeDelta::days(1)).unwrap();
    let shot = render(
        chromium,
        dir,
        "unsubscribe",
        &serve.url(&local_target(&link)),
    );
    blank.check("/unsubscribe", &shot);
    for text in [
        "name=\"List-Unsubscribe\" value=\"One-Click\"",
        reader,
        expected.unsubscribe,
    ] {
        assert!(
            shot.dom.contains(text),
            "/unsubscribe lacks {text}: {}",
            shot.dom
        );
    }
    keep("unsubscribe", &shot);

    // The preferences page: the categories, the chosen one checked, and a way to leave.
    let link = preferences_link(&service, &key, reader, now, TimeDelta::days(1)).unwrap();
    let shot = render(
        chromium,
        dir,
        "preferences",
        &serve.url(&local_target(&link)),
    );
    blank.check("/preferences", &shot);
    for text in [
        "value=\"xinhuashe\" checked=\"\"",
        "value=\"zhengquanribao\">",
        "name=\"List-Unsubscribe\" value=\"One-Click\"",
        expected.preferences,
    ] {
        assert!(
            shot.dom.contains(text),
            "/preferences lacks {text}: {}",
            shot.dom
        );
    }
    keep("preferences", &shot);
    saved
}

#[test]
fn the_chinese_pages_render_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let site = Site::example(&config(
        "zh-CN",
        "财经新闻镜像",
        "  category_names:\n    xinhuashe: 新华社\n    zhengquanribao: 证券日报\n",
    ));
    let saved = render_every_page(
        &chromium,
        &site,
        &Expected {
            lang: "zh-CN",
            subscribe: &[
                "订阅每周摘要",
                "电子邮件地址",
                "称呼（可选）",
                "> 新华社</label>",
            ],
            confirmed: "订阅成功",
            unsubscribe: "退订",
            preferences: "您的订阅",
        },
        "reader@example.org",
    );
    for (name, path) in saved {
        eprintln!("screenshot of {name}: {}", path.display());
    }
}

#[test]
fn the_english_pages_render_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let site = Site::example(&config("en", "Market Notes", ""));
    let saved = render_every_page(
        &chromium,
        &site,
        &Expected {
            lang: "en",
            subscribe: &[
                "Subscribe to the weekly digest",
                "Email address",
                "Name (optional)",
            ],
            confirmed: "You are subscribed",
            unsubscribe: "Unsubscribe",
            preferences: "Your subscription",
        },
        "reader@example.net",
    );
    for (name, path) in saved {
        eprintln!("screenshot of {name}: {}", path.display());
    }
}

// ------------------------------------------------------------------------------------------
// The form snippet of `gazette build`

/// Checks that `html` is a well-formed fragment: every element closed in order (void ones
/// need not be), attributes double-quoted, no raw `<`, `>` or `&` in text or attribute values
/// but character references, no script or style; returns the element names met.
fn check_fragment(html: &str) -> Result<BTreeSet<String>, String> {
    const VOID: &[&str] = &["br", "input", "hr", "img", "meta", "link"];
    let mut open: Vec<String> = Vec::new();
    let mut names = BTreeSet::new();
    let check_text = |text: &str| -> Result<(), String> {
        if text.contains('>') {
            return Err(format!("a raw > in {text:?}"));
        }
        for (at, _) in text.match_indices('&') {
            let entity = &text[at..];
            let end = entity.find(';').ok_or(format!("a raw & in {text:?}"))?;
            let name = &entity[1..end];
            let ok = name.starts_with('#')
                || (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()));
            if !ok {
                return Err(format!("a raw & in {text:?}"));
            }
        }
        Ok(())
    };
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        check_text(&rest[..lt])?;
        let gt = rest[lt..].find('>').ok_or("a tag that does not end")? + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(top) if top == name => continue,
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.is_empty() || matches!(name.as_str(), "script" | "style") {
            return Err(format!("a tag that is not allowed: <{tag}>"));
        }
        // Attributes: name, or name="value" with the value escaped.
        let mut attrs = tag[name.len()..].trim_start();
        while !attrs.is_empty() {
            let attr: String = attrs
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if attr.is_empty() {
                return Err(format!("a malformed attribute in <{tag}>"));
            }
            attrs = &attrs[attr.len()..];
            if let Some(value) = attrs.strip_prefix("=\"") {
                let end = value
                    .find('"')
                    .ok_or(format!("an unquoted value in <{tag}>"))?;
                let value_text = &value[..end];
                if value_text.contains('<') {
                    return Err(format!("a raw < in <{tag}>"));
                }
                check_text(value_text)?;
                attrs = &value[end + 1..];
            } else if attrs.starts_with('=') {
                return Err(format!("an unquoted value in <{tag}>"));
            }
            attrs = attrs.trim_start();
        }
        if !VOID.contains(&name.as_str()) {
            open.push(name.clone());
        }
        names.insert(name);
    }
    check_text(rest)?;
    if !open.is_empty() {
        return Err(format!("elements left open: {open:?}"));
    }
    Ok(names)
}

#[test]
fn the_fragment_checker_refuses_broken_markup() {
    assert!(check_fragment("<form><p>a &amp; b</p><input name=\"x\"></form>").is_ok());
    for bad in [
        "<form><p>a</form>",
        "<p>a & b</p>",
        "<p>a > b</p>",
        "<input value=\"<b>\">",
        "<input value=x>",
        "<script>alert(1)</script>",
        "<p>",
        "<p",
    ] {
        assert!(check_fragment(bad).is_err(), "{bad}");
    }
}

#[test]
fn build_writes_the_sign_up_snippet_that_the_service_accepts_and_chromium_shows() {
    let extra = "  category_names:\n    xinhuashe: 新华社 <速递> & \"快讯\"\n    zhengquanribao: 证券日报\n";
    let site = Site::example(&config("zh-CN", "财经新闻镜像", extra));
    let run = site.build();
    assert_eq!(run.code, Some(0), "{run:?}");
    let snippet = site.read_out("subscribe.html");

    // Posts to the service, with its fields; the categories in the digest's order, escaped.
    assert!(
        snippet.starts_with(&format!(
            "<form class=\"gazette-subscribe\" method=\"post\" action=\"{SERVICE}/subscribe\""
        )),
        "{snippet}"
    );
    let names = check_fragment(&snippet).unwrap_or_else(|e| panic!("{e}:\n{snippet}"));
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["br", "button", "fieldset", "form", "input", "label", "legend", "p"]
    );
    for field in [
        "name=\"address\" type=\"email\" required",
        "name=\"name\" type=\"text\"",
        "<input type=\"hidden\" name=\"return_to\" value=\"https://finews.example.com/\">",
        "电子邮件地址",
        "称呼（可选）",
        "<button type=\"submit\">订阅每周摘要</button>",
    ] {
        assert!(snippet.contains(field), "lacks {field}: {snippet}");
    }
    let boxes: Vec<&str> = snippet
        .lines()
        .filter(|l| l.contains("type=\"checkbox\""))
        .collect();
    assert_eq!(
        boxes[..2],
        [
            "<label><input type=\"checkbox\" name=\"categories\" value=\"xinhuashe\"> 新华社 &lt;速递&gt; &amp; \"快讯\"</label><br>",
            "<label><input type=\"checkbox\" name=\"categories\" value=\"zhengquanribao\"> 证券日报</label><br>",
        ],
        "{snippet}"
    );
    // Every category of the posts that are not drafts, once.
    assert_eq!(boxes.len(), 6, "{snippet}");

    // Recorded like every file, byte-stable: a second build rewrites nothing.
    let manifest = site.read_out(".gazette-files");
    assert!(
        manifest.lines().any(|l| l == "subscribe.html"),
        "{manifest}"
    );
    let again = site.build();
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(again.stdout.contains(": 0 files written"), "{again:?}");
    assert_eq!(site.read_out("subscribe.html"), snippet);

    // The service takes what the snippet sends (its fields, and no other), and links back to
    // the site.
    let fields: BTreeSet<&str> = snippet
        .split(" name=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(
        fields.into_iter().collect::<Vec<_>>(),
        ["address", "categories", "name", "return_to"],
        "{snippet}"
    );
    let serve = Serve::start(&site);
    let (status, body) = serve.post_form(
        "/subscribe",
        "address=snippet%40example.org&name=%E8%AF%BB%E8%80%85&categories=xinhuashe\
         &categories=zhengquanribao&return_to=https%3A%2F%2Ffinews.example.com%2F",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("请查收邮件"), "{body}");
    assert!(
        body.contains("href=\"https://finews.example.com/\""),
        "{body}"
    );
    drop(serve);

    // Shown in a browser, inside a minimal page.
    if let Some(chromium) = chromium() {
        let shots = tempfile::Builder::new()
            .prefix("gazette-chromium-")
            .tempdir()
            .unwrap();
        let dir = shots.path();
        let blank = Blank::take(&chromium, dir);
        let page = dir.join("page.html");
        std::fs::write(
            &page,
            format!(
                "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\">\
                 <title>财经新闻镜像</title></head>\n<body>\n<h1>财经新闻镜像</h1>\n{snippet}</body>\n</html>\n"
            ),
        )
        .unwrap();
        let shot = render(
            &chromium,
            dir,
            "snippet",
            &format!("file://{}", page.display()),
        );
        blank.check("subscribe.html in a page", &shot);
        for shown in [
            "<form class=\"gazette-subscribe\" method=\"post\"",
            "name=\"address\"",
            "value=\"xinhuashe\"> 新华社 &lt;速递&gt; &amp; \"快讯\"</label><br>",
            "订阅每周摘要</button>",
        ] {
            assert!(shot.dom.contains(shown), "lacks {shown}: {}", shot.dom);
        }
        if let Some(to) = std::env::var_os("GAZETTE_SCREENSHOTS") {
            let to = PathBuf::from(to).join("zh-CN-snippet.png");
            if std::fs::write(&to, &shot.png).is_ok() {
                eprintln!("screenshot of subscribe.html: {}", to.display());
            }
        }
    }

    // Without serve_url the next build removes it (it is in the manifest).
    site.write(
        "_config.yml",
        config("zh-CN", "财经新闻镜像", extra)
            .replace(&format!("    serve_url: \"{SERVICE}/\"\n"), ""),
    );
    let run = site.build();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(!site.out().join("subscribe.html").exists(), "{run:?}");
    let manifest = site.read_out(".gazette-files");
    assert!(
        !manifest.lines().any(|l| l == "subscribe.html"),
        "{manifest}"
    );
}

// ------------------------------------------------------------------------------------------
// The service's benchmark

/// `bench/run.py --serve-only` (which runs `bench/serve.py`) at a tiny size with this test's
/// binary, so that the script keeps working: every request answered 200, the store and the
/// outbox as the requests left them, a clean SIGTERM, and the report's section. Nothing is
/// timed here; the figures are thrown away.
#[test]
fn the_serve_benchmark_runs_end_to_end_at_a_tiny_size() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.md");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/run.py");
    let run = Program::new("python3")
        .arg(&script)
        .args([
            "--serve-only",
            "--serve-signups",
            "20",
            "--serve-unsubscribes",
            "12",
            "--serve-threads",
            "3",
            "--serve-time-limit",
            "60",
            "--gazette",
            gazette_bin(),
        ])
        .arg("--out")
        .arg(&report)
        .deadline(Duration::from_secs(120))
        .run();
    assert_eq!(run.code, Some(0), "{run:?}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.contains("## Subscription service (`gazette serve`)"),
        "{text}"
    );
    for row in [
        "| sign-up, `POST /subscribe` (mail into the outbox) | 20 |",
        "| one-click unsubscribe, `POST /unsubscribe?token=…` | 12 |",
        "| 20 × 200 |",
        "| 12 × 200 |",
        "| idle, after start (target < 30) |",
    ] {
        assert!(text.contains(row), "lacks {row}: {text}");
    }
    assert!(!text.contains("FAILED"), "{text}");
    // Only the service's section: no corpus was generated or timed.
    assert!(!text.contains("## Targets"), "{text}");
}

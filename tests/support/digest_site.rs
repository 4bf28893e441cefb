//! Digest sites in temporary folders (the example's posts, a subscribers file, SMTP settings), and what their runs are expected to print and record.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use super::site;
use super::smtp::*;

// ------------------------------------------------------------------------------------------
// Sites

/// A digest site: the shared [`site::Site`] (its folder, `write`, `path`, runs of the binary),
/// with the digest's own runs. Its runs have `TZ=America/New_York` (the site's zone must be the
/// one that counts) and are not checked for their exit: every test looks at it.
pub struct Site {
    site: site::Site,
}

impl Deref for Site {
    type Target = site::Site;

    fn deref(&self) -> &site::Site {
        &self.site
    }
}

/// The bundled example site's folder.
pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("example")
}

/// The `_config.yml` of the bundled example (its digest settings) followed by `smtp` (already
/// indented under `gazette: digest:`, or empty for the outbox).
pub fn example_config(smtp: &str) -> String {
    format!(
        r#"title: 财经新闻镜像
description: gazette 示例站点
url: "https://finews.example.com"
baseurl: ""
timezone: Asia/Shanghai
lang: zh-CN
permalink: date
author:
  name: 财经新闻镜像编辑部
  email: editor@finews.example.com
gazette:
  category_names:
    xinhuashe: 新华社
    zhengquanribao: 证券日报
    jingjicankaobao: 经济参考报
    zhongguolaodongbaozhangbao: 中国劳动保障报
  digest:
    from: "财经新闻镜像 <digest@finews.example.com>"
    subject: "{{{{site.title}}}} · 每周摘要 {{{{period.label}}}}"
    subscribers: subscribers.yml
    category_order: [xinhuashe, zhongguolaodongbaozhangbao, zhengquanribao, jingjicankaobao, markets, english]
    unsubscribe_mailto: unsubscribe@finews.example.com
    unsubscribe_url: "https://finews.example.com/unsubscribe?address={{address}}&token={{token}}"
    secret_file: digest-secret.txt
    state: _gazette
    outbox: _gazette/outbox
{smtp}"#
    )
}

/// A small site's `_config.yml` (Shanghai time, state in `.gazette`), then `smtp`.
pub fn small_config(smtp: &str) -> String {
    format!(
        r#"title: 小站
url: "https://news.example.org"
timezone: Asia/Shanghai
lang: zh-CN
gazette:
  digest:
    from: "小站 <digest@news.example.org>"
    subject: "{{{{site.title}}}} {{{{period.label}}}}"
    unsubscribe_mailto: leave@news.example.org
{smtp}"#
    )
}

/// An `smtp:` block for `gazette: digest:` pointing at 127.0.0.1:`port`, fast retries, plus
/// `extra` lines (`key: value`, one a line).
pub fn smtp_block(port: u16, extra: &[&str]) -> String {
    let mut keys: Vec<String> = vec![
        "host: 127.0.0.1".into(),
        format!("port: {port}"),
        "timeout_secs: 3".into(),
        "retry_delay_ms: 10".into(),
        "attempts: 3".into(),
        "concurrency: 2".into(),
        "hello_name: client.test".into(),
    ];
    for e in extra {
        let key = e.split(':').next().unwrap();
        keys.retain(|k| k.split(':').next().unwrap() != key);
        keys.push(e.to_string());
    }
    let mut out = String::from("    smtp:\n");
    for k in keys {
        out.push_str("      ");
        out.push_str(&k);
        out.push('\n');
    }
    out
}

/// A post's file.
pub fn post(title: &str, date: &str, categories: &str) -> String {
    format!(
        "---\nlayout: post\ntitle: {}\ndate: {date}\ncategories: {categories}\n---\n{title} 的正文。\n",
        serde_json::to_string(title).unwrap()
    )
}

impl Site {
    pub fn new(config: &str) -> Site {
        Site {
            site: site::Site::options()
                .prefix("gazette-digest-")
                .tz("America/New_York")
                .expect(Expect::Anything)
                .create(config),
        }
    }

    /// The bundled example's posts, drafts, subscribers and secret, with `config`.
    pub fn example(config: &str) -> Site {
        let site = Site::new(config);
        let from = example_dir();
        for folder in ["_posts", "_drafts"] {
            for entry in std::fs::read_dir(from.join(folder)).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name();
                site.write(
                    &format!("{folder}/{}", name.to_string_lossy()),
                    std::fs::read(entry.path()).unwrap(),
                );
            }
        }
        for file in ["subscribers.yml", "digest-secret.txt"] {
            site.write(file, std::fs::read(from.join(file)).unwrap());
        }
        site
    }

    /// `gazette digest --site . ARGS` in the site's folder.
    pub fn digest(&self, args: &[&str]) -> Run {
        self.digest_env(args, &[])
    }

    pub fn digest_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.start_digest(args, env).wait()
    }

    pub fn start_digest(&self, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut all = vec!["digest", "--site", "."];
        all.extend_from_slice(args);
        self.gazette(&all).envs(env).start()
    }

    /// `gazette unsubscribe --site . ADDRESS`.
    pub fn unsubscribe(&self, address: &str) -> Run {
        self.run(&["unsubscribe", "--site", ".", address])
    }
}

/// The summary line a run prints for a week of `2022-W02`-style label.
pub fn summary(
    period: &str,
    destination: &str,
    [sent, failed, unknown, already, unsubscribed, empty, invalid]: [usize; 7],
) -> String {
    format!(
        "{period}: {sent} sent {destination}, {failed} failed, {unknown} unknown, {already} already sent, {unsubscribed} unsubscribed, {empty} with nothing in their categories, {invalid} invalid in the subscribers file\n"
    )
}

/// The summary line of a run that was stopped: the counts, then what stopped it and how many
/// subscribers were left `pending` for the next run.
pub fn stopped_summary(
    period: &str,
    destination: &str,
    counts: [usize; 7],
    cause: &str,
    pending: usize,
) -> String {
    let line = summary(period, destination, counts);
    format!(
        "{}; the run stopped ({cause}): {pending} not sent, left pending for the next run\n",
        line.trim_end()
    )
}

/// The destination a summary names for a plain SMTP server on the loopback at `port`.
pub fn via(port: u16) -> String {
    format!("via 127.0.0.1:{port}")
}

/// A `2022-W02` run that the SMTP server at `port` stopped by refusing the credentials before
/// anything was sent: exit code 2, nothing counted, four left pending, and the server's own
/// words on stderr (and never the password).
pub fn assert_credentials_refused(out: &Run, port: u16) {
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert_eq!(
        out.stdout,
        stopped_summary(
            W02,
            &via(port),
            [0, 0, 0, 0, 0, 0, 0],
            "the SMTP server refused the credentials",
            4
        )
    );
    assert_eq!(
        out.stderr,
        format!(
            "gazette: the run stopped: authentication at 127.0.0.1:{port} failed: permanent error (535): Invalid credentials\n"
        )
    );
}

/// The ledger's rows for `digest` (`2022-W02`): state by address. `state` is the site's state
/// folder (`.gazette` by default).
pub fn ledger_states(site: &Site, state: &str, digest: &str) -> BTreeMap<String, String> {
    let conn = rusqlite::Connection::open(site.path().join(state).join("ledger.sqlite3")).unwrap();
    let mut stmt = conn
        .prepare("SELECT address, state FROM sends WHERE digest = ?1")
        .unwrap();
    let rows = stmt
        .query_map([digest], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

pub const W02: &str = "2022-W02 (2022-01-10 to 2022-01-16)";

// ------------------------------------------------------------------------------------------
// Small helpers

pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A small seeded generator (xorshift64*), so that "random" points are the same every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// In `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// The `Message-ID` gazette derives for (digest, address) on a site whose host is `domain`:
/// `<gazette.DIGEST.HEX@DOMAIN>`, HEX the first 12 bytes of SHA-256("DIGEST\0address").
pub fn expected_message_id(digest: &str, address: &str, domain: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(format!("{digest}\0{}", address.to_lowercase()).as_bytes());
    let hex: String = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("gazette.{digest}.{hex}@{domain}")
}

/// The unsubscribe token: HMAC-SHA256 of the lower-cased address, first 16 bytes in hex.
pub fn expected_token(secret: &[u8], address: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(address.to_lowercase().as_bytes());
    mac.finalize().into_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

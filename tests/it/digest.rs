//! `gazette digest` end to end: the real binary, a site in a temporary folder, and a real SMTP
//! server on 127.0.0.1 in this process (mailin-embedded, with STARTTLS and AUTH where it matters).
//! Faults (4xx, 5xx, dropped connections, stalls, kills) are in tests/digest_faults.rs.

use crate::support::smtp as smtp_server;

use std::collections::BTreeMap;
use std::net::ToSocketAddrs;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use smtp_server::*;

/// The example's posts in 2022-W02 (drafts and `published: false` left out): title as the
/// digest shows it, URL, categories.
const W02_POSTS: &[(&str, &str, &[&str])] = &[
    (
        "年末物价运行总体平稳 食品价格涨幅回落",
        "https://finews.example.com/xinhuashe/2022/01/13/wujia-yunxing-pingwen.html",
        &["xinhuashe"],
    ),
    (
        "春节前夕各地集中开展根治欠薪冬季专项行动",
        "https://finews.example.com/xinhuashe/2022/01/16/genzhi-qianxin.html",
        &["xinhuashe"],
    ),
    (
        "人社部门开展节前重点企业用工保障专项服务",
        "https://finews.example.com/zhongguolaodongbaozhangbao/2022/01/10/renshe-yonggong-fuwu.html",
        &["zhongguolaodongbaozhangbao"],
    ),
    (
        "多地推进新就业形态劳动者权益保障落地见效",
        "https://finews.example.com/zhongguolaodongbaozhangbao/2022/01/12/xinjiuye-xingtai-quanyi.html",
        &["zhongguolaodongbaozhangbao"],
    ),
    (
        "两融余额稳中有升 & 券商\"开门红\"业务布局提速",
        "https://finews.example.com/zhengquanribao/2022/01/10/quanshang-kaimenhong.html",
        &["zhengquanribao"],
    ),
    (
        "上市公司年报预约披露启动 业绩预告进入密集期",
        "https://finews.example.com/zhengquanribao/2022/01/14/nianbao-yugao.html",
        &["zhengquanribao"],
    ),
    (
        "专项债发力前置 基建投资有望企稳回升",
        "https://finews.example.com/jingjicankaobao/2022/01/11/zhuanxiangzhai-qianzhi.html",
        &["jingjicankaobao"],
    ),
    (
        "农产品冷链物流建设提速 产地“最先一公里”短板加快补齐",
        "https://finews.example.com/jingjicankaobao/2022/01/15/lenglian-wuliu.html",
        &["jingjicankaobao"],
    ),
    (
        "Reading the Bond Market: What the Yield Curve Is Saying",
        "https://finews.example.com/markets/english/2022/01/11/reading-the-bond-market.html",
        &["markets", "english"],
    ),
    (
        "Week Ahead: Earnings Season Kicks Off",
        "https://finews.example.com/markets/2022/01/14/week-ahead-earnings-season.html",
        &["markets"],
    ),
];

/// Posts that must never be in the W02 digest: the W01 posts, the draft, the unpublished post.
const NOT_W02: &[&str] = &[
    "多地出台措施稳定节前重要民生商品供应",
    "职业技能培训向新业态新职业延伸",
    "Notes on China's Labour Market Data",
    "Preview: The Upcoming Rate Decision",
    "北向资金周度流向观察",
];

/// The example's subscribers: address, name, categories.
const SUBSCRIBERS: &[(&str, Option<&str>, &[&str])] = &[
    ("li.ming@example.com", Some("李明"), &[]),
    (
        "wang.fang@example.com",
        Some("王芳"),
        &["zhongguolaodongbaozhangbao", "xinhuashe"],
    ),
    (
        "jane.doe@example.org",
        Some("Jane Doe"),
        &["markets", "english"],
    ),
    ("reader@example.net", None, &[]),
];

const SUBJECT_W02: &str = "财经新闻镜像 · 每周摘要 2022-W02";
const SECRET: &str = "example-secret-for-the-bundled-site-only";

/// A title given with HTML in it: tags are dropped (as jekyll-feed's `strip_html` does and
/// gazette's feeds do), entities decoded, and the result escaped again in the HTML part.
const TRICKY_TITLE_SOURCE: &str = "粗体<b>&</b>与&lt;b&gt;标记";
const TRICKY_TITLE_TEXT: &str = "粗体 & 与<b>标记";
const TRICKY_TITLE_HTML: &str = "粗体 &amp; 与&lt;b&gt;标记";
const TRICKY_URL: &str = "https://finews.example.com/xinhuashe/2022/01/12/escape-test.html";

/// Text as it stands escaped in an HTML text node (after CSS inlining re-serialized the
/// document, quotes in text are plain).
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn query_escape(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The header section of a raw message.
fn raw_headers(data: &[u8]) -> &[u8] {
    let end = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header section");
    &data[..end]
}

/// Every `href`/`src` value in an HTML document.
fn links(html: &str) -> Vec<String> {
    let re = regex::Regex::new(r#"(?i)\b(?:href|src)\s*=\s*"([^"]*)""#).unwrap();
    re.captures_iter(html).map(|c| c[1].to_string()).collect()
}

/// The text and HTML parts of a `multipart/alternative` message, checking its structure.
fn alternative_parts(message: &mail_parser::Message<'_>) -> (String, String) {
    let root = message.content_type().expect("a Content-Type");
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    let PartType::Multipart(children) = &message.parts[0].body else {
        panic!("the root part is not multipart");
    };
    assert_eq!(children.len(), 2, "text and HTML");
    let text_part = &message.parts[children[0] as usize];
    let html_part = &message.parts[children[1] as usize];
    for (part, subtype) in [(text_part, "plain"), (html_part, "html")] {
        let ct = part.content_type().unwrap();
        assert_eq!((ct.ctype(), ct.subtype()), ("text", Some(subtype)));
        assert!(
            ct.attribute("charset")
                .is_some_and(|c| c.eq_ignore_ascii_case("utf-8")),
            "{ct:?}"
        );
    }
    let PartType::Text(text) = &text_part.body else {
        panic!("the first part is not text")
    };
    let PartType::Html(html) = &html_part.body else {
        panic!("the second part is not HTML")
    };
    // Lines end in CRLF on the wire.
    (text.replace("\r\n", "\n"), html.replace("\r\n", "\n"))
}

/// The posts one subscriber should get.
fn posts_for(categories: &[&str], extra: &[(&str, &str, &[&str])]) -> Vec<(String, String)> {
    W02_POSTS
        .iter()
        .chain(extra)
        .filter(|(_, _, cats)| categories.is_empty() || cats.iter().any(|c| categories.contains(c)))
        .map(|(t, u, _)| (t.to_string(), u.to_string()))
        .collect()
}

fn mailin_plain_site() -> (MailinServer, Site) {
    let server = MailinServer::start(None, None);
    let site = Site::example(&example_config(&smtp_block(server.port, &["tls: none"])));
    (server, site)
}

#[test]
fn starttls_with_auth_plain_sends_each_subscriber_exactly_one_correct_message() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let server = MailinServer::start(Some(&pki), Some((USER, PASSWORD)));
    let smtp = smtp_block(
        server.port,
        &[
            "tls: starttls",
            &format!("username: {USER}"),
            &format!("password_env: {PASSWORD_ENV}"),
            "ca_file: test-ca.pem",
        ],
    );
    let site = Site::example(&example_config(&smtp));
    site.write("test-ca.pem", &pki.ca_pem);
    site.write(
        "_posts/2022-01-12-escape-test.md",
        post(
            TRICKY_TITLE_SOURCE,
            "2022-01-12 09:00:00 +0800",
            "xinhuashe",
        ),
    );
    let env = [(PASSWORD_ENV, PASSWORD)];

    let out = site.digest_env(&["--week", "2022-W02"], &env);
    let via = format!("via 127.0.0.1:{}", server.port);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stdout, summary(W02, &via, [4, 0, 0, 0, 0, 0, 0]));
    assert_eq!(out.stderr, "gazette: 4/4 messages handled\n");

    // Authenticated with PLAIN, the configured user and the password from the environment,
    // once per connection (at most `concurrency: 2`).
    let auths = server.record.auths();
    assert!((1..=2).contains(&auths.len()), "{auths:?}");
    for a in &auths {
        assert_eq!(a, &("PLAIN".into(), USER.into(), PASSWORD.into()));
    }

    let expected: BTreeMap<String, usize> = SUBSCRIBERS
        .iter()
        .map(|(a, _, _)| (a.to_string(), 1))
        .collect();
    assert_eq!(server.record.by_rcpt(), expected);

    let tricky: &[(&str, &str, &[&str])] = &[(TRICKY_TITLE_TEXT, TRICKY_URL, &["xinhuashe"])];
    let mut first_ids = BTreeMap::new();
    for (address, name, categories) in SUBSCRIBERS {
        let mail = server.record.only_to(address);
        assert_eq!(mail.from, "digest@finews.example.com", "envelope sender");
        assert_eq!(mail.to, vec![address.to_string()], "envelope recipient");

        // Every header is ASCII: the Chinese names and subject are RFC 2047 encoded.
        let headers = raw_headers(&mail.data);
        assert!(headers.is_ascii(), "{}", String::from_utf8_lossy(headers));
        let headers = String::from_utf8_lossy(headers);
        assert!(headers.contains("Subject: =?utf-8?"), "{headers}");
        assert!(headers.contains("From: =?utf-8?"), "{headers}");

        let m = mail.parsed();
        let from = m.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("财经新闻镜像"));
        assert_eq!(from.address(), Some("digest@finews.example.com"));
        let to = m.to().unwrap().first().unwrap();
        assert_eq!(to.name(), *name);
        assert_eq!(to.address(), Some(*address));
        assert_eq!(m.subject(), Some(SUBJECT_W02));
        let date = m.date().expect("a Date header");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!(
            (date.to_timestamp() - now).abs() < 3600,
            "Date is the time of sending: {date}"
        );
        let id = expected_message_id("2022-W02", address, "finews.example.com");
        assert_eq!(m.message_id(), Some(id.as_str()));
        first_ids.insert(address.to_string(), id);
        assert_eq!(
            m.header_raw("List-Id").map(str::trim),
            Some("<finews.example.com>")
        );
        let token = expected_token(SECRET.as_bytes(), address);
        assert_eq!(token.len(), 32);
        assert_eq!(
            unfold(m.header_raw("List-Unsubscribe").unwrap()),
            format!(
                "<https://finews.example.com/unsubscribe?address={0}&token={token}>, <mailto:unsubscribe@finews.example.com?subject=unsubscribe%20{0}>",
                query_escape(address)
            )
        );
        assert_eq!(
            m.header_raw("List-Unsubscribe-Post").map(str::trim),
            Some("List-Unsubscribe=One-Click")
        );

        let (text, html) = alternative_parts(&m);
        // HTML: CSS inlined, links absolute, data escaped.
        assert!(!html.to_lowercase().contains("<style"), "{html}");
        assert!(html.contains(" style=\""), "{html}");
        let found = links(&html);
        assert!(!found.is_empty());
        for link in &found {
            assert!(
                link.starts_with("https://finews.example.com/"),
                "a link that is not absolute: {link:?}"
            );
        }
        assert!(!html.contains("<b>") && !html.contains("<b "), "{html}");
        assert!(html.contains(&format!(
            "https://finews.example.com/unsubscribe?address={}&amp;token={token}",
            query_escape(address)
        )));
        assert!(text.contains(&format!(
            "退订：https://finews.example.com/unsubscribe?address={}&token={token}",
            query_escape(address)
        )));
        if let Some(name) = name {
            assert!(text.contains(&format!("{name}，您好：")), "{text}");
            assert!(html.contains(&format!("{name}，您好：")), "{html}");
        } else {
            assert!(!text.contains("您好"), "{text}");
        }

        // Exactly the posts of their categories, each with its title and URL.
        let wanted = posts_for(categories, tricky);
        for (title, url) in &wanted {
            assert!(
                text.contains(&format!("* {title}\n")),
                "{address}: {title}\n{text}"
            );
            assert!(
                text.contains(&format!("  {url}\n")),
                "{address}: {url}\n{text}"
            );
            assert!(
                html.contains(&html_escape(title)),
                "{address}: {title}\n{html}"
            );
            assert!(
                html.contains(&format!("href=\"{url}\"")),
                "{address}: {url}"
            );
        }
        assert_eq!(
            text.matches("\n* ").count(),
            wanted.len(),
            "{address}: one entry per post\n{text}"
        );
        for (title, url, _) in W02_POSTS.iter().chain(tricky) {
            if !wanted.iter().any(|(t, _)| t == title) {
                assert!(!text.contains(title), "{address} got {title}");
                assert!(!html.contains(&html_escape(title)), "{address} got {title}");
                assert!(!text.contains(url) && !html.contains(url));
            }
        }
        for title in NOT_W02 {
            assert!(!text.contains(title) && !html.contains(&html_escape(title)));
        }
        if wanted.iter().any(|(t, _)| t == TRICKY_TITLE_TEXT) {
            assert!(html.contains(TRICKY_TITLE_HTML), "{html}");
        }
        assert!(text.contains(&format!("2022-01-10 — 2022-01-16 · {} 篇", wanted.len())));
    }

    // Sent again from a fresh ledger, every message keeps its Message-ID.
    std::fs::remove_dir_all(site.path().join("_gazette")).unwrap();
    let again = site.digest_env(&["--week", "2022-W02"], &env);
    assert_eq!(again.code, Some(0), "{again:#?}");
    assert_eq!(again.stdout, summary(W02, &via, [4, 0, 0, 0, 0, 0, 0]));
    assert_eq!(server.record.count(), 8);
    for (address, id) in &first_ids {
        let ids: Vec<String> = server
            .record
            .mails()
            .iter()
            .filter(|m| m.to == vec![address.clone()])
            .map(|m| m.parsed().message_id().unwrap().to_string())
            .collect();
        assert_eq!(ids, vec![id.clone(), id.clone()], "{address}");
    }
}

#[test]
fn a_rerun_sends_nothing_and_an_unsubscribed_address_gets_nothing_later() {
    let (server, site) = mailin_plain_site();
    let via = format!("via 127.0.0.1:{}", server.port);

    let first = site.digest(&["--week", "2022-W02"]);
    assert_eq!(first.code, Some(0), "{first:#?}");
    assert_eq!(first.stdout, summary(W02, &via, [4, 0, 0, 0, 0, 0, 0]));
    assert_eq!(server.record.count(), 4);

    let rerun = site.digest(&["--week", "2022-W02"]);
    assert_eq!(rerun.code, Some(0), "{rerun:#?}");
    assert_eq!(rerun.stdout, summary(W02, &via, [0, 0, 0, 4, 0, 0, 0]));
    assert_eq!(rerun.stderr, "");
    assert_eq!(server.record.count(), 4, "a rerun sends nothing");

    let out = site.unsubscribe("Wang.Fang@Example.com");
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        "Wang.Fang@Example.com is unsubscribed: no later digest goes to it\n"
    );
    let out = site.unsubscribe("wang.fang@example.com");
    assert_eq!(
        out.stdout,
        "wang.fang@example.com was already unsubscribed\n"
    );

    // A new week with a 新华社 post: wang.fang (who takes 新华社) is unsubscribed, jane.doe
    // (markets, english) has nothing.
    site.write(
        "_posts/2022-01-18-w03-news.md",
        post("第三周的新闻", "2022-01-18 10:00:00 +0800", "xinhuashe"),
    );
    let w03 = site.digest(&["--week", "2022-W03"]);
    assert_eq!(w03.code, Some(0), "{w03:#?}");
    assert_eq!(
        w03.stdout,
        summary(
            "2022-W03 (2022-01-17 to 2022-01-23)",
            &via,
            [2, 0, 0, 0, 1, 1, 0]
        )
    );
    let counts = server.record.by_rcpt();
    assert_eq!(counts["li.ming@example.com"], 2);
    assert_eq!(counts["reader@example.net"], 2);
    assert_eq!(counts["wang.fang@example.com"], 1);
    assert_eq!(counts["jane.doe@example.org"], 1);
    for m in server.record.mails().iter().skip(4) {
        assert_eq!(
            m.parsed().subject(),
            Some("财经新闻镜像 · 每周摘要 2022-W03")
        );
    }

    // And W02 again: still nothing, the unsubscribed address counted apart.
    let rerun = site.digest(&["--week", "2022-W02"]);
    assert_eq!(rerun.stdout, summary(W02, &via, [0, 0, 0, 3, 1, 0, 0]));
    assert_eq!(server.record.count(), 6);
}

#[test]
fn an_empty_week_sends_nothing_even_when_forced() {
    let (server, site) = mailin_plain_site();
    let out = site.digest(&["--week", "2022-W05"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        "2022-W05 (2022-01-31 to 2022-02-06): no posts, so no digest was sent\n"
    );
    assert_eq!(out.stderr, "");
    assert_eq!(server.record.count(), 0);
    assert!(
        !site.path().join("_gazette").exists(),
        "nothing is recorded"
    );

    // Forced: still nothing, since nobody gets an empty digest; the run says so.
    let out = site.digest(&["--week", "2022-W05", "--force"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        "2022-W05 (2022-01-31 to 2022-02-06): no posts, so no digest was sent (even with --force: nobody gets an empty digest)\n"
    );
    assert_eq!(out.stderr, "");
    assert_eq!(server.record.count(), 0);
    assert!(!site.path().join("_gazette").exists());
}

#[test]
fn weeks_are_cut_at_monday_midnight_in_the_sites_zone() {
    let server = MailinServer::start(None, None);
    let site = Site::new(&small_config(&smtp_block(server.port, &["tls: none"])));
    site.write("subscribers.yml", "- reader@example.org\n");
    let posts = [
        (
            "2022-01-09-w01-last.md",
            "W01 周日深夜",
            "2022-01-09 23:59:00 +0800",
        ),
        // 02:00 on Monday in +0800 is still Sunday in UTC.
        (
            "2022-01-10-monday-2am.md",
            "W02 周一凌晨",
            "2022-01-10 02:00:00 +0800",
        ),
        // The same instant written in UTC.
        (
            "2022-01-09-sunday-utc.md",
            "W02 UTC 周日",
            "2022-01-09 18:00:00 +0000",
        ),
        (
            "2022-01-16-sunday-late.md",
            "W02 周日深夜",
            "2022-01-16 23:59:00 +0800",
        ),
        (
            "2022-01-17-next-monday.md",
            "W03 周一零点",
            "2022-01-17 00:00:00 +0800",
        ),
        // 16:00 UTC on Sunday is 00:00 Monday in +0800: next week.
        (
            "2022-01-16-sunday-utc-late.md",
            "W03 UTC 周日",
            "2022-01-16 16:00:00 +0000",
        ),
    ];
    for (file, title, date) in posts {
        site.write(&format!("_posts/{file}"), post(title, date, "news"));
    }
    let mut sent = 0;
    for (week, label) in [
        ("2022-W01", "2022-W01 (2022-01-03 to 2022-01-09)"),
        ("2022-W02", W02),
        ("2022-W03", "2022-W03 (2022-01-17 to 2022-01-23)"),
    ] {
        let out = site.digest(&["--week", week]);
        assert_eq!(out.code, Some(0), "{out:#?}");
        assert_eq!(
            out.stdout,
            summary(
                label,
                &format!("via 127.0.0.1:{}", server.port),
                [1, 0, 0, 0, 0, 0, 0]
            )
        );
        sent += 1;
        let mails = server.record.mails();
        assert_eq!(mails.len(), sent);
        let m = mails.last().unwrap().parsed();
        assert_eq!(m.subject(), Some(format!("小站 {week}").as_str()));
        let (text, _) = alternative_parts(&m);
        let short = &week[5..];
        for (_, title, _) in posts {
            assert_eq!(
                text.contains(title),
                title.starts_with(short),
                "{week}: {title}\n{text}"
            );
        }
        if week == "2022-W02" {
            // Shown in the site's zone, not the machine's (TZ=America/New_York).
            assert!(text.contains("2022-01-10 02:00 星期一"), "{text}");
            assert!(text.contains("2022-01-16 23:59 星期日"), "{text}");
        }
    }
}

#[test]
fn invalid_and_duplicate_subscribers_are_reported_by_line_and_skipped() {
    let server = MailinServer::start(None, None);
    let site = Site::new(&small_config(&smtp_block(server.port, &["tls: none"])));
    site.write(
        "_posts/2022-01-11-news.md",
        post("一条新闻", "2022-01-11 10:00:00 +0800", "news"),
    );
    site.write(
        "subscribers.yml",
        "- address: a@example.com\n  name: 甲\n- not-an-address\n- address: A@Example.com\n- address: b@example.com\n- address: \"c@\"\n- b@example.com\n",
    );
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(
            W02,
            &format!("via 127.0.0.1:{}", server.port),
            [2, 0, 0, 0, 0, 0, 2]
        )
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 5, "{}", out.stderr);
    assert!(
        lines[0]
            .starts_with("subscribers.yml:3:1: error: `not-an-address` is not an email address (")
            && lines[0].ends_with("): skipped"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "subscribers.yml:4:1: warning: A@Example.com is listed more than once: only the first is used"
    );
    assert!(
        lines[2].starts_with("subscribers.yml:6:1: error: `c@` is not an email address (")
            && lines[2].ends_with("): skipped"),
        "{}",
        lines[2]
    );
    assert_eq!(
        lines[3],
        "subscribers.yml:7:1: warning: b@example.com is listed more than once: only the first is used"
    );
    assert_eq!(lines[4], "gazette: 2/2 messages handled");
    let expected: BTreeMap<String, usize> = [("a@example.com", 1), ("b@example.com", 1)]
        .into_iter()
        .map(|(a, n)| (a.to_string(), n))
        .collect();
    assert_eq!(server.record.by_rcpt(), expected);
    assert_eq!(
        server
            .record
            .only_to("a@example.com")
            .parsed()
            .to()
            .unwrap()
            .first()
            .unwrap()
            .name(),
        Some("甲"),
        "the first of the duplicates is the one used"
    );
}

#[test]
fn dry_run_sends_and_records_nothing_and_preview_writes_html() {
    let (server, site) = mailin_plain_site();
    let dry = format!(
        "{W02}: dry run: 4 messages would be sent (10 posts; 0 subscribers have nothing in their categories); nothing was sent or recorded\n"
    );
    let out = site.digest(&["--week", "2022-W02", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stdout, dry);
    assert_eq!(out.stderr, "");

    let out = site.digest(&[
        "--week",
        "2022-W02",
        "--dry-run",
        "--preview",
        "preview.html",
    ]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        format!("preview written to preview.html\n{dry}")
    );
    assert_eq!(server.record.count(), 0);
    assert!(server.record.auths().is_empty());
    assert_eq!(server.record.rcpt_attempts("li.ming@example.com"), 0);
    assert!(
        !site.path().join("_gazette").exists(),
        "nothing is recorded"
    );

    // The preview: the whole digest (every category) as the first subscriber sees it.
    let html = std::fs::read_to_string(site.path().join("preview.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("李明，您好："));
    assert!(!html.to_lowercase().contains("<style"));
    for (title, url, _) in W02_POSTS {
        assert!(html.contains(&html_escape(title)), "{title}");
        assert!(html.contains(&format!("href=\"{url}\"")), "{url}");
    }
    for link in links(&html) {
        assert!(link.starts_with("https://finews.example.com/"), "{link}");
    }

    // A real run with --preview both writes it and sends.
    std::fs::remove_file(site.path().join("preview.html")).unwrap();
    let out = site.digest(&["--week", "2022-W02", "--preview", "again.html"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        format!(
            "preview written to again.html\n{}",
            summary(
                W02,
                &format!("via 127.0.0.1:{}", server.port),
                [4, 0, 0, 0, 0, 0, 0]
            )
        )
    );
    assert_eq!(
        std::fs::read_to_string(site.path().join("again.html")).unwrap(),
        html
    );
    assert_eq!(server.record.count(), 4);
}

#[test]
fn without_smtp_messages_are_written_to_the_outbox() {
    let site = Site::example(&example_config(""));
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, "into ./_gazette/outbox", [4, 0, 0, 0, 0, 0, 0])
    );
    assert_eq!(out.stderr, "gazette: 4/4 messages handled\n");

    let outbox = site.path().join("_gazette/outbox");
    let read_outbox = || {
        let mut files: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    };
    let files = read_outbox();
    assert_eq!(files.len(), 4, "{files:?}");
    let mut seen = Vec::new();
    for file in &files {
        assert_eq!(file.extension().unwrap(), "eml");
        let bytes = std::fs::read(file).unwrap();
        let m = MessageParser::default()
            .parse(&bytes)
            .expect("parsable .eml");
        let to = m.to().unwrap().first().unwrap();
        let address = to.address().unwrap().to_string();
        let (_, name, categories) = SUBSCRIBERS
            .iter()
            .find(|(a, _, _)| *a == address)
            .expect("a subscriber");
        assert_eq!(to.name(), *name);
        assert_eq!(m.subject(), Some(SUBJECT_W02));
        assert_eq!(
            m.message_id(),
            Some(expected_message_id("2022-W02", &address, "finews.example.com").as_str())
        );
        assert!(m.date().is_some());
        assert!(m.header_raw("List-Unsubscribe").is_some());
        let (text, html) = alternative_parts(&m);
        for (title, url) in posts_for(categories, &[]) {
            assert!(
                text.contains(&title) && text.contains(&url),
                "{address}: {title}"
            );
            assert!(html.contains(&html_escape(&title)));
        }
        seen.push(address);
    }
    seen.sort();
    let mut all: Vec<String> = SUBSCRIBERS.iter().map(|(a, _, _)| a.to_string()).collect();
    all.sort();
    assert_eq!(seen, all);

    let rerun = site.digest(&["--week", "2022-W02"]);
    assert_eq!(
        rerun.stdout,
        summary(W02, "into ./_gazette/outbox", [0, 0, 0, 4, 0, 0, 0])
    );
    assert_eq!(read_outbox(), files, "a rerun writes nothing");
}

#[test]
fn plain_smtp_goes_to_loopback_hosts() {
    for host in ["127.0.0.1", "localhost"] {
        let (server, site) = {
            let server = MailinServer::start(None, None);
            let site = Site::example(&example_config(&smtp_block(
                server.port,
                &["tls: none", &format!("host: {host}")],
            )));
            (server, site)
        };
        let out = site.digest(&["--week", "2022-W02"]);
        assert_eq!(out.code, Some(0), "{host}: {out:#?}");
        assert_eq!(
            out.stdout,
            summary(
                W02,
                &format!("via {host}:{}", server.port),
                [4, 0, 0, 0, 0, 0, 0]
            )
        );
        assert_eq!(server.record.count(), 4);
    }
}

/// A host name (not `localhost`, not an IP literal) that this machine's /etc/hosts maps to
/// 127.0.0.1 only: a non-loopback *name* that nonetheless reaches our server, so that the test
/// can see that gazette did not connect, and never sends anything off the machine.
fn loopback_alias() -> Option<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap();
        let mut fields = line.split_whitespace();
        let Some(ip) = fields.next() else { continue };
        if ip != "127.0.0.1" {
            continue;
        }
        for name in fields {
            if name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok() {
                continue;
            }
            let resolved: Vec<_> = match (name, 25).to_socket_addrs() {
                Ok(a) => a.collect(),
                Err(_) => continue,
            };
            if !resolved.is_empty()
                && resolved
                    .iter()
                    .all(|a| a.ip() == std::net::IpAddr::from([127, 0, 0, 1]))
            {
                return Some(name.to_string());
            }
        }
    }
    None
}

#[test]
fn plain_smtp_to_a_host_name_that_is_not_loopback_is_refused_before_connecting() {
    let Some(alias) = loopback_alias() else {
        eprintln!("no /etc/hosts alias of 127.0.0.1 here: nothing to test safely");
        return;
    };
    let server = ScriptServer::normal();
    let site = Site::example(&example_config(&smtp_block(
        server.port,
        &["tls: none", &format!("host: {alias}")],
    )));
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "gazette: refusing to send without TLS to {alias}: plain SMTP is only for a loopback host, or with `allow_plain: true`\n"
        )
    );
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(server.connections(), 0, "no connection was made");

    // The same name does reach this server once plain SMTP is explicitly allowed.
    let site = Site::example(&example_config(&smtp_block(
        server.port,
        &["tls: none", &format!("host: {alias}"), "allow_plain: true"],
    )));
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(server.record.count(), 4);
    assert!(server.connections() >= 1);
}

#[test]
fn uncategorized_posts_get_no_empty_feed_link() {
    let site = Site::new(&small_config(""));
    site.write("subscribers.yml", "- reader@example.org\n");
    site.write(
        "_posts/2022-01-11-no-category.md",
        "---\ntitle: 没有分类的文章\ndate: 2022-01-11 10:00:00 +0800\n---\n正文。\n",
    );
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let file = std::fs::read_dir(site.path().join(".gazette/outbox"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(file).unwrap();
    let m = MessageParser::default().parse(&bytes).unwrap();
    let (text, html) = alternative_parts(&m);
    assert!(text.contains("没有分类的文章"));
    for link in links(&html) {
        assert!(
            link.starts_with("https://news.example.org/") || link.starts_with("mailto:"),
            "a link that is not absolute: {link:?}"
        );
    }
    for line in text.lines() {
        assert_ne!(line.trim(), "RSS:", "an RSS line without a URL\n{text}");
    }
}

//! The subscriber store end to end: `gazette subscribers import|export|list` with the real
//! binary, then `gazette digest` into the outbox reading the store (the `.eml` files parsed with
//! mail-parser), and `gazette unsubscribe` marking the store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gazette::digest::store::{Confirmation, SignUp, SqliteStore, SubscriberStore};
use mail_parser::MessageParser;

use crate::support::site::{Expect, Run, Site};

const CONFIG: &str = r#"title: 财经新闻镜像
url: "https://finews.example.com"
timezone: Asia/Shanghai
lang: zh-CN
permalink: date
gazette:
  digest:
    from: "财经新闻镜像 <digest@finews.example.com>"
    subject: "{{site.title}} {{period.label}}"
    subscribers: subscribers.yml
    unsubscribe_mailto: unsubscribe@finews.example.com
    state: _gazette
    outbox: _gazette/outbox
"#;

/// The subscribers file the settings name: left there, stale, once the site has a store.
const STALE: &str = "- address: stale@example.com\n  name: Stale\n";

const PEOPLE_YML: &str = "# who gets the digest
- address: li.ming@example.com
  name: 李明
- address: wang.fang@example.com
  name: 王芳
  categories: [zhongguolaodongbaozhangbao, xinhuashe]
- not-an-address
- address: LI.MING@example.com
";

const MORE_CSV: &str = "address,name,categories
jane.doe@example.org,\"Doe, Jane\",xinhuashe english
bad address,,
reader@example.net,,
";

/// The bundled example's posts with [`CONFIG`] and the stale subscribers file; its runs have
/// `TZ=UTC` and must not panic.
fn store_site() -> Site {
    let site = Site::options()
        .prefix("gazette-subscribers-")
        .expect(Expect::NoPanic)
        .create(CONFIG);
    site.write("subscribers.yml", STALE);
    let posts = Path::new(env!("CARGO_MANIFEST_DIR")).join("example/_posts");
    for entry in std::fs::read_dir(posts).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        site.write(
            &format!("_posts/{}", name.to_string_lossy()),
            std::fs::read(entry.path()).unwrap(),
        );
    }
    site
}

/// What the tests below ask of a site with a store.
trait Store {
    fn on_site(&self, args: &[&str]) -> Run;
    fn ok(&self, args: &[&str]) -> Run;
    fn list(&self) -> (Vec<String>, String);
    fn outbox(&self) -> BTreeSet<PathBuf>;
}

impl Store for Site {
    /// `gazette ARGS --site .` in the site's folder.
    fn on_site(&self, args: &[&str]) -> Run {
        self.gazette(args).args(["--site", "."]).run()
    }

    fn ok(&self, args: &[&str]) -> Run {
        let out = self.on_site(args);
        assert_eq!(out.code, Some(0), "{args:?}: {out:#?}");
        out
    }

    /// `gazette subscribers list`'s rows (without the counts line), and the counts line.
    fn list(&self) -> (Vec<String>, String) {
        let out = self.ok(&["subscribers", "list"]);
        let mut lines: Vec<String> = out.stdout.lines().map(String::from).collect();
        let counts = lines.pop().expect("a counts line");
        (lines, counts)
    }

    fn outbox(&self) -> BTreeSet<PathBuf> {
        match std::fs::read_dir(self.path().join("_gazette/outbox")) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => BTreeSet::new(),
        }
    }
}

/// The `To:` of each message: address, name.
fn recipients<'a>(files: impl IntoIterator<Item = &'a PathBuf>) -> BTreeSet<(String, String)> {
    files
        .into_iter()
        .map(|file| {
            assert_eq!(file.extension().unwrap(), "eml");
            let bytes = std::fs::read(file).unwrap();
            let m = MessageParser::default()
                .parse(&bytes)
                .expect("a parsable .eml");
            let to = m.to().unwrap().first().unwrap();
            (
                to.address().unwrap().to_string(),
                to.name().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn pair(address: &str, name: &str) -> (String, String) {
    (address.to_string(), name.to_string())
}

#[test]
fn imported_subscribers_round_trip_and_get_the_digest_and_unsubscribe_excludes_one() {
    let site = store_site();
    site.write("people.yml", PEOPLE_YML);
    site.write("more.csv", MORE_CSV);

    // Import: invalid lines and duplicates reported by line, as the digest reports them.
    let out = site.ok(&["subscribers", "import", "people.yml"]);
    assert_eq!(
        out.stdout,
        "people.yml imported into _gazette/subscribers.sqlite3: 2 added, 0 updated, 0 unchanged, 0 kept unsubscribed, 0 unsubscribed as the ledger records, 1 invalid lines skipped\n"
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(
        lines[0].starts_with("people.yml:7:1: error: `not-an-address` is not an email address ("),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "people.yml:8:1: warning: LI.MING@example.com is listed more than once: only the first is used"
    );
    let out = site.ok(&["subscribers", "import", "more.csv"]);
    assert!(
        out.stdout.contains(": 2 added, 0 updated, 0 unchanged"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .starts_with("more.csv:3:1: error: `bad address` is not an email address ("),
        "{}",
        out.stderr
    );

    let (rows, counts) = site.list();
    assert_eq!(
        rows,
        [
            "li.ming@example.com\tconfirmed\t(all)",
            "wang.fang@example.com\tconfirmed\tzhongguolaodongbaozhangbao xinhuashe",
            "jane.doe@example.org\tconfirmed\txinhuashe english",
            "reader@example.net\tconfirmed\t(all)",
        ]
    );
    assert_eq!(
        counts,
        "4 subscribers in _gazette/subscribers.sqlite3: 4 confirmed, 0 pending, 0 unsubscribed"
    );

    // Export, as YAML and CSV, and import each into a new site: the same rows.
    let yaml = site.ok(&["subscribers", "export"]).stdout;
    let out = site.ok(&["subscribers", "export", "--out", "all.csv"]);
    assert_eq!(out.stdout, "4 confirmed subscribers exported to all.csv\n");
    let csv = std::fs::read_to_string(site.path().join("all.csv")).unwrap();
    assert!(csv.starts_with("address,name,categories\n"), "{csv}");
    for (name, text) in [("back.yml", &yaml), ("back.csv", &csv)] {
        let other = store_site();
        other.write(name, text);
        let out = other.ok(&["subscribers", "import", name]);
        assert!(
            out.stdout.contains(": 4 added, 0 updated"),
            "{}",
            out.stdout
        );
        assert_eq!(out.stderr, "", "{name}");
        assert_eq!(
            other.list(),
            (rows.clone(), counts.clone()),
            "{name}:\n{text}"
        );
    }
    // Into the same store: nothing changes.
    site.write("back.yml", &yaml);
    let out = site.ok(&["subscribers", "import", "back.yml"]);
    assert!(
        out.stdout.contains(": 0 added, 0 updated, 4 unchanged"),
        "{}",
        out.stdout
    );

    // A sign-up not confirmed yet (as the service will make one) gets nothing.
    let mut store = SqliteStore::open(&site.path().join("_gazette")).unwrap();
    let signed_up = store
        .add_pending(
            &"new.reader@example.com".parse().unwrap(),
            None,
            &[],
            chrono::Utc::now(),
        )
        .unwrap();
    assert!(matches!(signed_up, SignUp::Pending(_)));
    drop(store);

    // The digest reads the store: the four confirmed subscribers, not the stale file.
    let out = site.ok(&["digest", "--week", "2022-W02"]);
    assert!(
        out.stdout.contains(": 4 sent into ./_gazette/outbox, 0 failed, 0 unknown, 0 already sent, 0 unsubscribed, 0 with nothing in their categories, 0 invalid"),
        "{out:#?}"
    );
    let w02 = site.outbox();
    assert_eq!(
        recipients(&w02),
        BTreeSet::from([
            pair("li.ming@example.com", "李明"),
            pair("wang.fang@example.com", "王芳"),
            pair("jane.doe@example.org", "Doe, Jane"),
            pair("reader@example.net", ""),
        ])
    );

    // Unsubscribing marks the store's row, and the next digest leaves it out.
    let out = site.ok(&["unsubscribe", "wang.fang@example.com"]);
    assert_eq!(
        out.stdout,
        "wang.fang@example.com is unsubscribed: no later digest goes to it\n"
    );
    let (rows_now, counts_now) = site.list();
    assert_eq!(
        rows_now[1],
        "wang.fang@example.com\tunsubscribed\tzhongguolaodongbaozhangbao xinhuashe"
    );
    assert_eq!(
        counts_now,
        "5 subscribers in _gazette/subscribers.sqlite3: 3 confirmed, 1 pending, 1 unsubscribed"
    );
    let out = site.ok(&["digest", "--week", "2022-W01"]);
    assert!(
        out.stdout.contains(
            ": 3 sent into ./_gazette/outbox, 0 failed, 0 unknown, 0 already sent, 1 unsubscribed"
        ),
        "{out:#?}"
    );
    let w01: Vec<PathBuf> = site.outbox().difference(&w02).cloned().collect();
    assert_eq!(
        recipients(&w01),
        BTreeSet::from([
            pair("li.ming@example.com", "李明"),
            pair("jane.doe@example.org", "Doe, Jane"),
            pair("reader@example.net", ""),
        ])
    );
    // Exported, only the confirmed are left; an import does not bring the unsubscribed back.
    let exported = site
        .ok(&["subscribers", "export", "--format", "csv"])
        .stdout;
    assert!(!exported.contains("wang.fang"), "{exported}");
    let out = site.ok(&["subscribers", "import", "people.yml"]);
    assert!(
        out.stdout
            .contains(": 0 added, 0 updated, 1 unchanged, 1 kept unsubscribed"),
        "{}",
        out.stdout
    );

    // Signing up again and confirming brings them back, despite the ledger's older unsubscribe.
    let mut store = SqliteStore::open(&site.path().join("_gazette")).unwrap();
    let wang: lettre::Address = "wang.fang@example.com".parse().unwrap();
    let SignUp::Pending(token) = store
        .add_pending(&wang, Some("王芳"), &[], chrono::Utc::now())
        .unwrap()
    else {
        panic!("an unsubscribed address signs up again as pending");
    };
    let confirmed = store
        .confirm(&token, chrono::Utc::now(), chrono::TimeDelta::hours(1))
        .unwrap();
    assert!(
        matches!(confirmed, Confirmation::Confirmed(_)),
        "{confirmed:?}"
    );
    drop(store);
    let before = site.outbox();
    let out = site.ok(&["digest", "--since", "2022-01-10", "--until", "2022-01-15"]);
    assert!(out.stdout.contains(": 4 sent into"), "{out:#?}");
    let again: Vec<PathBuf> = site.outbox().difference(&before).cloned().collect();
    assert!(
        recipients(&again).contains(&pair("wang.fang@example.com", "王芳")),
        "{again:?}"
    );

    // --subscribers FILE still forces a file over the store.
    let out = site.ok(&[
        "digest",
        "--week",
        "2022-W01",
        "--dry-run",
        "--subscribers",
        "subscribers.yml",
    ]);
    assert!(
        out.stdout.contains("dry run: 1 messages would be sent"),
        "{out:#?}"
    );
}

#[test]
fn a_site_without_a_store_keeps_its_file_and_gets_no_store() {
    let site = store_site();
    let out = site.ok(&["subscribers", "list"]);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("_gazette/subscribers.sqlite3 does not exist"),
        "{}",
        out.stderr
    );
    let out = site.on_site(&["subscribers", "export"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stderr.contains("there is no subscriber store"),
        "{}",
        out.stderr
    );
    site.ok(&["unsubscribe", "someone@example.com"]);
    let out = site.ok(&["digest", "--week", "2022-W02"]);
    assert!(out.stdout.contains(": 1 sent into"), "{out:#?}");
    assert_eq!(
        recipients(&site.outbox()),
        BTreeSet::from([pair("stale@example.com", "Stale")])
    );
    assert!(!site.path().join("_gazette/subscribers.sqlite3").exists());
}

#[test]
fn an_unfaithful_file_imports_nothing_and_a_ledger_unsubscribe_is_kept() {
    let site = store_site();
    // Unsubscribed before the store existed: the ledger records it.
    site.ok(&["unsubscribe", "reader@example.net"]);
    site.write(
        "open.csv",
        "address,name\njane.doe@example.org,\"Jane\nreader@example.net,Reader\n",
    );
    let out = site.on_site(&["subscribers", "import", "open.csv"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stderr
            .starts_with("open.csv:2:1: error: invalid CSV: a quoted field runs"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("nothing was imported"),
        "{}",
        out.stderr
    );
    assert!(!site.path().join("_gazette/subscribers.sqlite3").exists());

    site.write("more.csv", MORE_CSV);
    let out = site.ok(&["subscribers", "import", "more.csv"]);
    assert!(
        out.stdout.contains(": 2 added, 0 updated, 0 unchanged, 0 kept unsubscribed, 1 unsubscribed as the ledger records"),
        "{}",
        out.stdout
    );
    let (rows, _) = site.list();
    assert_eq!(
        rows,
        [
            "jane.doe@example.org\tconfirmed\txinhuashe english",
            "reader@example.net\tunsubscribed\t(all)",
        ]
    );
    let out = site.ok(&["digest", "--week", "2022-W02"]);
    assert!(
        out.stdout.contains(
            ": 1 sent into ./_gazette/outbox, 0 failed, 0 unknown, 0 already sent, 1 unsubscribed"
        ),
        "{out:#?}"
    );
    assert_eq!(
        recipients(&site.outbox()),
        BTreeSet::from([pair("jane.doe@example.org", "Doe, Jane")])
    );
}

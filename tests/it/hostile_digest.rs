//! Hostile input and faults, round two: the digest's traps: an SMTP server that is not there, broken subscriber files, settings split between files, templates, empty weeks, and what the ledger and the summary say.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

use crate::support::smtp::*;

fn addresses(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("s{i}@example.com")).collect()
}

fn each_once(addresses: &[String]) -> BTreeMap<String, usize> {
    addresses.iter().map(|a| (a.clone(), 1)).collect()
}

fn all_in(addresses: &[String], state: &str) -> BTreeMap<String, String> {
    addresses
        .iter()
        .map(|a| (a.clone(), state.to_string()))
        .collect()
}

/// Two posts in 2022-W02, both in `news`.
fn write_posts(site: &Site) {
    site.write(
        "_posts/2022-01-11-news.md",
        post("一条新闻", "2022-01-11 10:00:00 +0800", "news"),
    );
    site.write(
        "_posts/2022-01-13-more.md",
        post("另一条新闻", "2022-01-13 18:30:00 +0800", "news"),
    );
}

/// A small site sending in clear to 127.0.0.1:`port` with `extra` smtp settings, its
/// subscribers one a line in subscribers.yml.
fn site(port: u16, extra: &[&str], subscribers: &[String]) -> Site {
    let mut keys = vec!["tls: none"];
    keys.extend_from_slice(extra);
    let site = Site::new(&small_config(&smtp_block(port, &keys)));
    write_posts(&site);
    let list: String = subscribers.iter().map(|a| format!("- {a}\n")).collect();
    site.write("subscribers.yml", list);
    site
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

// ------------------------------------------------------------------------------------------
// 15. A server that cannot be reached stops the run at once; nobody is marked failed.

#[test]
fn an_smtp_server_that_is_not_listening_stops_the_run_at_once_and_leaves_everyone_pending() {
    let all = addresses(20);
    let port = closed_port();
    // Slow retries: a connection failure retried per subscriber would take many seconds.
    let site = site(
        port,
        &["attempts: 4", "retry_delay_ms: 400", "concurrency: 2"],
        &all,
    );
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.elapsed < Duration::from_secs(5),
        "it took {:?}",
        out.elapsed
    );
    assert_eq!(
        out.stdout,
        stopped_summary(
            W02,
            &via(port),
            [0, 0, 0, 0, 0, 0, 0],
            "the SMTP server cannot be reached",
            20
        )
    );
    assert!(
        out.stderr.starts_with(&format!(
            "gazette: the run stopped: cannot connect to 127.0.0.1:{port}: "
        )),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "one message: {}", out.stderr);
    assert!(out.reported("failed").is_empty());
    assert_eq!(
        ledger_states(&site, ".gazette", "2022-W02"),
        all_in(&all, "pending"),
        "nobody is marked failed for the server's absence"
    );

    // Once the server is there, the next run sends to everyone, once.
    let server = ScriptServer::normal();
    site.write(
        "_config.yml",
        small_config(&smtp_block(server.port, &["tls: none"])),
    );
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [20, 0, 0, 0, 0, 0, 0])
    );
    assert_eq!(server.record.by_rcpt(), each_once(&all));
    assert_eq!(
        ledger_states(&site, ".gazette", "2022-W02"),
        all_in(&all, "sent")
    );
}

#[test]
fn a_server_name_that_does_not_resolve_stops_the_run_at_once() {
    let all = addresses(5);
    let site = Site::new(&small_config(&smtp_block(
        2525,
        &[
            "host: smtp.gazette-test.invalid",
            "tls: none",
            "allow_plain: true",
            "attempts: 4",
            "retry_delay_ms: 400",
        ],
    )));
    write_posts(&site);
    let list: String = all.iter().map(|a| format!("- {a}\n")).collect();
    site.write("subscribers.yml", list);
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert_eq!(
        out.stdout,
        stopped_summary(
            W02,
            "via smtp.gazette-test.invalid:2525",
            [0, 0, 0, 0, 0, 0, 0],
            "the SMTP server cannot be reached",
            5
        )
    );
    assert!(
        out.stderr.starts_with(
            "gazette: the run stopped: cannot find the address of smtp.gazette-test.invalid: "
        ),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert_eq!(
        ledger_states(&site, ".gazette", "2022-W02"),
        all_in(&all, "pending")
    );
}

#[test]
fn a_tls_handshake_that_fails_stops_the_run_and_leaves_everyone_pending() {
    // Implicit TLS to a server that speaks plain SMTP: the handshake cannot succeed.
    let server = ScriptServer::normal();
    let all = addresses(6);
    let site = Site::new(&small_config(&smtp_block(
        server.port,
        &["tls: implicit", "attempts: 4", "concurrency: 2"],
    )));
    write_posts(&site);
    let list: String = all.iter().map(|a| format!("- {a}\n")).collect();
    site.write("subscribers.yml", list);
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert_eq!(
        out.stdout,
        stopped_summary(
            W02,
            &via(server.port),
            [0, 0, 0, 0, 0, 0, 0],
            "TLS with the SMTP server failed",
            6
        )
    );
    assert!(
        out.stderr.starts_with(&format!(
            "gazette: the run stopped: TLS with 127.0.0.1:{} failed: ",
            server.port
        )),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        (1..=2).contains(&server.connections()),
        "one try per connection: {}",
        server.connections()
    );
    assert_eq!(server.record.count(), 0);
    assert_eq!(
        ledger_states(&site, ".gazette", "2022-W02"),
        all_in(&all, "pending")
    );
}

// ------------------------------------------------------------------------------------------
// 16. A CSV quote left open is an error naming its line, before anything is sent.

#[test]
fn a_csv_quote_left_open_stops_the_run_before_anything_is_sent() {
    let server = ScriptServer::normal();
    let site = site(server.port, &[], &[]);
    site.write(
        "_config.yml",
        small_config(&format!(
            "    subscribers: subscribers.csv\n{}",
            smtp_block(server.port, &["tls: none"])
        )),
    );
    // Line 3's quote is never closed: lines 4 and 5 would become part of Bo's name.
    site.write(
        "subscribers.csv",
        "address,name,categories\n\
         ann@example.com,Ann,news\n\
         bo@example.com,\"Bo,news\n\
         cy@example.com,Cy,news\n\
         di@example.com,Di,news\n",
    );
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with(
            "gazette: subscribers.csv:3:1: error: invalid CSV: a quoted field runs from line 3 to line 5"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(server.connections(), 0, "nothing was sent");
    assert!(
        !site.path().join(".gazette/ledger.sqlite3").exists(),
        "nothing was recorded"
    );

    // Closed, every row is read and sent.
    site.write(
        "subscribers.csv",
        "address,name,categories\n\
         ann@example.com,Ann,news\n\
         bo@example.com,\"Bo\",news\n\
         cy@example.com,Cy,news\n\
         di@example.com,Di,news\n",
    );
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(server.record.count(), 4);
}

// ------------------------------------------------------------------------------------------
// 17. `digest:` in gazette.yml is merged key by key into _config.yml's, `smtp:` too.

#[test]
fn gazette_yml_merges_the_digest_section_key_by_key() {
    // bo's messages are always deferred: how often he is tried shows which `attempts` holds.
    let server = ScriptServer::start(|c| match &c.step {
        Step::Rcpt(a) if a.eq_ignore_ascii_case("bo@example.com") => {
            Act::Reply(451, "try again later")
        }
        _ => Act::Normal,
    });
    // _config.yml: the sender and the server (3 attempts); gazette.yml: the subscribers file
    // and 1 attempt.
    let site = site(server.port, &["attempts: 3"], &[]);
    site.write(
        "gazette.yml",
        "digest:\n  subscribers: people.yml\n  smtp:\n    attempts: 1\n",
    );
    site.write("people.yml", "- ann@example.com\n- bo@example.com\n");
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [1, 1, 0, 0, 0, 0, 0])
    );
    assert_eq!(out.reported("failed"), ["bo@example.com"]);
    assert_eq!(server.record.rcpt_attempts("bo@example.com"), 1);
    let mail = server.record.only_to("ann@example.com");
    assert_eq!(
        mail.from, "digest@news.example.org",
        "`from` of _config.yml"
    );
}

#[test]
fn a_bad_digest_setting_is_reported_in_the_file_that_holds_it() {
    let server = ScriptServer::normal();
    let site = site(server.port, &[], &addresses(1));
    // The bad value is in _config.yml; gazette.yml sets other digest keys.
    site.write(
        "_config.yml",
        small_config(&format!(
            "    excerpt_chars: many\n{}",
            smtp_block(server.port, &["tls: none"])
        )),
    );
    site.write("gazette.yml", "digest:\n  list_id: news.example.org\n");
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stderr
            .starts_with("_config.yml:10:5: error: gazette setting `digest.excerpt_chars`: "),
        "{}",
        out.stderr
    );

    // The bad value is in gazette.yml, below `smtp:`.
    site.write(
        "_config.yml",
        small_config(&smtp_block(server.port, &["tls: none"])),
    );
    site.write(
        "gazette.yml",
        "# the server's port\ndigest:\n  smtp:\n    port: seventy\n",
    );
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stderr
            .starts_with("gazette.yml:4:5: error: gazette setting `digest.smtp.port`: "),
        "{}",
        out.stderr
    );

    // An unknown key below `smtp:` in gazette.yml is a warning (which `check` shows) pointing
    // at it there.
    site.write(
        "gazette.yml",
        "digest:\n  smtp:\n    attempts: 2\n    hots: mail.example.org\n",
    );
    let out = site.run(&["check", "--site", "."]);
    assert!(
        out.stderr.contains(
            "gazette.yml:4:5: warning: unknown gazette setting `digest.smtp.hots` is ignored"
        ),
        "{out:#?}"
    );
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(server.record.count(), 1);
}

// ------------------------------------------------------------------------------------------
// 18. A templates folder that does not exist is an error.

#[test]
fn a_templates_folder_that_does_not_exist_is_an_error_naming_it() {
    let server = ScriptServer::normal();
    let site = site(server.port, &[], &addresses(2));
    site.write("gazette.yml", "digest:\n  templates: _digset\n");
    site.write("_digest/digest.txt.hbs", "{{post_count}} 篇\n");
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stderr.starts_with("gazette: _digset:1:1: error: the `digest: templates:` setting names this folder, which cannot be read: "),
        "{}",
        out.stderr
    );
    assert_eq!(server.connections(), 0);
}

// ------------------------------------------------------------------------------------------
// 19. --force never sends an empty digest.

#[test]
fn force_on_an_empty_week_sends_nothing_and_says_so() {
    let server = ScriptServer::normal();
    let site = site(server.port, &[], &addresses(3));
    let out = site.digest(&["--week", "2022-W05", "--force"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        "2022-W05 (2022-01-31 to 2022-02-06): no posts, so no digest was sent (even with --force: nobody gets an empty digest)\n"
    );
    assert_eq!(out.stderr, "");
    assert_eq!(server.connections(), 0);
    assert!(!site.path().join(".gazette/ledger.sqlite3").exists());
}

// ------------------------------------------------------------------------------------------
// 20. The ledger and the summary agree.

#[test]
fn wrong_credentials_leave_every_row_pending_and_the_summary_says_the_run_stopped() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let server = MailinServer::start(Some(&pki), Some((USER, "the-right-password")));
    let all = addresses(4);
    let keys = [
        "tls: starttls".to_string(),
        format!("username: {USER}"),
        format!("password_env: {PASSWORD_ENV}"),
        "ca_file: test-ca.pem".into(),
    ];
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let site = Site::new(&small_config(&smtp_block(server.port, &keys)));
    site.write("test-ca.pem", &pki.ca_pem);
    write_posts(&site);
    let list: String = all.iter().map(|a| format!("- {a}\n")).collect();
    site.write("subscribers.yml", list);
    let out = site.digest_env(&["--week", "2022-W02"], &[(PASSWORD_ENV, PASSWORD)]);
    assert_credentials_refused(&out, server.port);
    assert_eq!(
        ledger_states(&site, ".gazette", "2022-W02"),
        all_in(&all, "pending"),
        "the ledger says what the summary says: nobody failed"
    );
}

#[test]
fn subscribers_with_nothing_to_read_are_recorded_empty_and_counted() {
    let server = ScriptServer::normal();
    let site = site(server.port, &[], &[]);
    site.write(
        "subscribers.yml",
        "- ann@example.com\n- address: bo@example.com\n  categories: [sports]\n",
    );
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [1, 0, 0, 0, 0, 1, 0])
    );
    let expected: BTreeMap<String, String> = [
        ("ann@example.com".to_string(), "sent".to_string()),
        ("bo@example.com".to_string(), "empty".to_string()),
    ]
    .into_iter()
    .collect();
    assert_eq!(ledger_states(&site, ".gazette", "2022-W02"), expected);

    // A rerun finds both settled.
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [0, 0, 0, 1, 0, 1, 0])
    );
    assert_eq!(ledger_states(&site, ".gazette", "2022-W02"), expected);
    assert_eq!(server.record.count(), 1);
}

#[test]
fn a_template_helper_failing_at_render_time_names_the_file_and_line() {
    let server = ScriptServer::normal();
    let all = addresses(2);
    let site = site(server.port, &[], &all);
    site.write("gazette.yml", "digest:\n  templates: _digest\n");
    // `date` needs an RFC 3339 date; the site's title is not one.
    site.write(
        "_digest/digest.txt.hbs",
        "{{site.title}}\n\n{{date site.title \"%Y\"}}\n",
    );
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.starts_with(
            "gazette: the run stopped: rendering the digest failed: _digest/digest.txt.hbs:3:"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("is not an RFC 3339 date"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stdout,
        stopped_summary(
            W02,
            &via(server.port),
            [0, 0, 0, 0, 0, 0, 0],
            "a template failed",
            2
        )
    );
    assert_eq!(server.record.count(), 0);
    assert_eq!(
        ledger_states(&site, ".gazette", "2022-W02"),
        all_in(&all, "pending")
    );
}

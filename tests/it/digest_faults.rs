//! `gazette digest` when things go wrong: temporary and permanent refusals, dropped and
//! stalled connections, a server that says 421, bad credentials, a certificate for another
//! host, two runs at once, kills in the middle of a run, and ledgers it must not touch.
//!
//! Most tests use the scriptable SMTP server of tests/smtp_server (plain TCP on 127.0.0.1, so
//! `tls: none`); the TLS and AUTH ones use mailin-embedded. Every run of the binary has a
//! deadline, and no run may print the SMTP password.

use crate::support::smtp as smtp_server;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use smtp_server::*;

fn addresses(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("s{i}@example.com")).collect()
}

/// A small site with two posts in 2022-W02, `subscribers` one a line (so the i-th is on line
/// i), sending to 127.0.0.1:`port` in clear with `extra` smtp settings.
fn site(port: u16, extra: &[&str], subscribers: &[String]) -> Site {
    let mut keys = vec!["tls: none"];
    keys.extend_from_slice(extra);
    let site = Site::new(&small_config(&smtp_block(port, &keys)));
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

fn week(site: &Site) -> Run {
    site.digest(&["--week", "2022-W02"])
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(a, n)| (a.to_string(), *n)).collect()
}

fn each_once(addresses: &[String]) -> BTreeMap<String, usize> {
    addresses.iter().map(|a| (a.clone(), 1)).collect()
}

/// The stderr lines that are not the progress line.
fn report_lines(out: &Run) -> Vec<String> {
    out.stderr
        .lines()
        .filter(|l| !l.starts_with("gazette: ") || !l.ends_with("messages handled"))
        .map(String::from)
        .collect()
}

#[test]
fn temporary_refusals_are_retried_and_each_recipient_gets_exactly_one() {
    let all = addresses(5);
    // s2: 451 to RCPT the first time; s4: 451 to the message itself the first time; s5: 452
    // to DATA the first time.
    let server = ScriptServer::start(|c| match (&c.step, c.rcpt().as_str(), c.attempt) {
        (Step::Rcpt(_), "s2@example.com", 1) => Act::Reply(451, "4.3.0 try again later"),
        (Step::DataEnd, "s4@example.com", 1) => Act::Reply(451, "4.3.0 queue full"),
        (Step::Data, "s5@example.com", 1) => Act::Reply(452, "4.3.1 no room"),
        _ => Act::Normal,
    });
    let site = site(server.port, &["concurrency: 1"], &all);
    let out = week(&site);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [5, 0, 0, 0, 0, 0, 0])
    );
    assert_eq!(out.stderr, "gazette: 5/5 messages handled\n");
    assert_eq!(server.record.by_rcpt(), each_once(&all));
    for (a, n) in [("s1", 1), ("s2", 2), ("s3", 1), ("s4", 2), ("s5", 2)] {
        assert_eq!(
            server.record.rcpt_attempts(&format!("{a}@example.com")),
            n,
            "{a}"
        );
    }
}

#[test]
fn a_temporary_refusal_that_lasts_fails_the_address_and_a_rerun_retries_it() {
    let all = addresses(4);
    let server = ScriptServer::start(|c| match (&c.step, c.rcpt().as_str()) {
        (Step::Rcpt(_), "s2@example.com") => Act::Reply(451, "4.7.1 greylisted"),
        _ => Act::Normal,
    });
    let site = site(server.port, &["attempts: 3"], &all);
    let out = week(&site);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [3, 1, 0, 0, 0, 0, 0])
    );
    assert_eq!(
        report_lines(&out),
        ["subscribers.yml:2:1: failed: s2@example.com: transient error (451): 4.7.1 greylisted"]
    );
    assert_eq!(server.record.rcpt_attempts("s2@example.com"), 3);
    assert_eq!(
        server.record.by_rcpt(),
        counts(&[
            ("s1@example.com", 1),
            ("s3@example.com", 1),
            ("s4@example.com", 1)
        ])
    );

    // A rerun tries it again (it was never delivered), and only it.
    let out = week(&site);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [0, 1, 0, 3, 0, 0, 0])
    );
    assert_eq!(server.record.rcpt_attempts("s2@example.com"), 6);
    assert_eq!(server.record.count(), 3);

    server.set_script(|_| Act::Normal);
    let out = week(&site);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [1, 0, 0, 3, 0, 0, 0])
    );
    assert_eq!(server.record.by_rcpt(), each_once(&all));
}

#[test]
fn a_permanent_refusal_fails_that_address_only_and_is_retried_only_when_asked() {
    let all = addresses(5);
    // s3: 550 to RCPT; s5: 554 to the message itself.
    let server = ScriptServer::start(|c| match (&c.step, c.rcpt().as_str()) {
        (Step::Rcpt(_), "s3@example.com") => Act::Reply(550, "5.1.1 no such user"),
        (Step::DataEnd, "s5@example.com") => Act::Reply(554, "5.7.1 rejected as spam"),
        _ => Act::Normal,
    });
    let site = site(server.port, &[], &all);
    let out = week(&site);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [3, 2, 0, 0, 0, 0, 0])
    );
    let mut lines = report_lines(&out);
    lines.sort();
    assert_eq!(
        lines,
        [
            "subscribers.yml:3:1: failed: s3@example.com: permanent error (550): 5.1.1 no such user",
            "subscribers.yml:5:1: failed: s5@example.com: permanent error (554): 5.7.1 rejected as spam",
        ]
    );
    assert_eq!(server.record.rcpt_attempts("s3@example.com"), 1, "no retry");
    assert_eq!(server.record.rcpt_attempts("s5@example.com"), 1, "no retry");
    let delivered = counts(&[
        ("s1@example.com", 1),
        ("s2@example.com", 1),
        ("s4@example.com", 1),
    ]);
    assert_eq!(server.record.by_rcpt(), delivered);

    // Even once the server would take them, a rerun leaves them alone and says so.
    server.set_script(|_| Act::Normal);
    for _ in 0..2 {
        let out = week(&site);
        assert_eq!(out.code, Some(1), "{out:#?}");
        assert_eq!(
            out.stdout,
            summary(W02, &via(server.port), [0, 2, 0, 3, 0, 0, 0])
        );
        let mut lines = report_lines(&out);
        lines.sort();
        assert_eq!(lines.len(), 2);
        assert!(lines[0]
            .starts_with("subscribers.yml:3:1: failed: s3@example.com: permanent error (550)"));
        assert!(lines[1]
            .starts_with("subscribers.yml:5:1: failed: s5@example.com: permanent error (554)"));
        assert_eq!(server.record.rcpt_attempts("s3@example.com"), 1);
        assert_eq!(server.record.by_rcpt(), delivered);
    }

    let out = site.digest(&["--week", "2022-W02", "--retry-failed"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [2, 0, 0, 3, 0, 0, 0])
    );
    assert_eq!(server.record.by_rcpt(), each_once(&all));
}

/// Once a connection is known to offer 8BITMIME, the Chinese bodies go unencoded (`8bit`,
/// declared with `BODY=8BITMIME`); the first message of a connection, and every message to a
/// server that does not offer it, goes in base64. Either way the text reads back the same.
#[test]
fn eight_bit_bodies_go_only_where_the_server_offers_8bitmime() {
    let all = addresses(3);
    let raw = |m: &Mail| String::from_utf8_lossy(&m.data).into_owned();
    let reads_back = |m: &Mail| {
        let parsed = m.parsed();
        let text = parsed.body_text(0).expect("a text body").into_owned();
        let html = parsed.body_html(0).expect("an HTML body").into_owned();
        for body in [&text, &html] {
            assert!(
                body.contains("一条新闻") && body.contains("另一条新闻"),
                "{body}"
            );
            assert!(body.contains(&m.to[0]), "{body}");
        }
    };

    let offers = ScriptServer::normal();
    let site_a = site(offers.port, &["concurrency: 1"], &all);
    let out = week(&site_a);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let mails = offers.record.mails();
    assert_eq!(mails.len(), 3);
    assert!(raw(&mails[0]).contains("Content-Transfer-Encoding: base64"));
    assert_eq!(mails[0].params, "");
    for m in &mails[1..] {
        assert_eq!(
            raw(m).matches("Content-Transfer-Encoding: 8bit").count(),
            2,
            "{}",
            raw(m)
        );
        assert!(!raw(m).contains("Content-Transfer-Encoding: base64"));
        assert!(raw(m).contains("一条新闻"));
        assert_eq!(m.params, "BODY=8BITMIME");
    }
    mails.iter().for_each(reads_back);

    let plain = ScriptServer::start(|c| match c.step {
        Step::Ehlo => Act::Reply(250, "script.test"),
        _ => Act::Normal,
    });
    let site_b = site(plain.port, &["concurrency: 1"], &all);
    let out = week(&site_b);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let mails = plain.record.mails();
    assert_eq!(mails.len(), 3);
    for m in &mails {
        assert_eq!(
            raw(m).matches("Content-Transfer-Encoding: base64").count(),
            2
        );
        assert!(
            !raw(m).contains("8bit") && m.params.is_empty(),
            "{}",
            raw(m)
        );
    }
    mails.iter().for_each(reads_back);
}

/// A message built with 8-bit bodies for a connection that offered 8BITMIME is never sent
/// unencoded over a new connection that does not: it is built again, encoded, and delivered
/// once.
#[test]
fn a_new_connection_without_8bitmime_gets_encoded_bodies() {
    let all = addresses(3);
    // The first connection offers 8BITMIME and closes after its second message; the next ones
    // do not offer it.
    let server = ScriptServer::start(|c| match c.step {
        Step::Ehlo if c.conn > 0 => Act::Reply(250, "script.test"),
        Step::DataEnd if c.on_conn == 1 => Act::ReplyClose(250, "2.0.0 queued, bye"),
        _ => Act::Normal,
    });
    let site = site(
        server.port,
        &["concurrency: 1", "attempts: 3", "retry_delay_ms: 10"],
        &all,
    );
    let out = week(&site);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(server.record.by_rcpt(), each_once(&all));
    for m in server.record.mails() {
        let raw = String::from_utf8_lossy(&m.data).into_owned();
        let eight_bit = raw.contains("Content-Transfer-Encoding: 8bit");
        assert_eq!(
            eight_bit,
            m.conn == 0 && m.to[0] == "s2@example.com",
            "{raw}"
        );
        assert_eq!(m.params == "BODY=8BITMIME", eight_bit);
    }
}

#[test]
fn a_server_that_closes_after_two_messages_gets_every_message_once_over_new_connections() {
    let all = addresses(7);
    // After its second message on a connection the server answers 250 and hangs up.
    let server = ScriptServer::start(|c| match c.step {
        Step::DataEnd if c.on_conn == 1 => Act::ReplyClose(250, "2.0.0 queued, bye"),
        _ => Act::Normal,
    });
    let site = site(server.port, &["concurrency: 1", "attempts: 2"], &all);
    let out = week(&site);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [7, 0, 0, 0, 0, 0, 0])
    );
    assert_eq!(server.record.by_rcpt(), each_once(&all));
    assert_eq!(server.connections(), 4, "two messages a connection");
}

#[test]
fn a_connection_lost_before_data_is_retried_and_one_lost_after_the_message_is_unknown() {
    let all = addresses(6);
    let server = ScriptServer::start(|c| match (&c.step, c.rcpt().as_str(), c.attempt) {
        // Dropped before the message: certainly not delivered.
        (Step::Rcpt(_), "s2@example.com", 1) => Act::Close,
        (Step::Data, "s3@example.com", 1) => Act::Close,
        // Dropped after the whole message was sent, before the answer: s4's is lost, s5's
        // was delivered.
        (Step::DataEnd, "s4@example.com", 1) => Act::Close,
        (Step::DataEnd, "s5@example.com", 1) => Act::AcceptClose,
        _ => Act::Normal,
    });
    let site = site(server.port, &["concurrency: 1"], &all);
    let out = week(&site);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [4, 0, 2, 0, 0, 0, 0])
    );
    assert_eq!(
        out.reported("unknown"),
        ["s4@example.com", "s5@example.com"]
    );
    assert!(out.reported("failed").is_empty());
    let lines = report_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, (n, a)) in lines.iter().zip([(4, "s4"), (5, "s5")]) {
        let head = format!(
            "subscribers.yml:{n}:1: unknown: {a}@example.com: the connection to 127.0.0.1:{} failed while the message was handed over: ",
            server.port
        );
        assert!(line.starts_with(&head), "{line}");
        assert!(
            line.ends_with(" (check the server's log; --resend-unknown sends it again)"),
            "{line}"
        );
    }
    let mut expected = each_once(&all);
    expected.remove("s4@example.com");
    assert_eq!(server.record.by_rcpt(), expected);
    assert_eq!(server.record.lost().len(), 1);
    for (a, n) in [("s2", 2), ("s3", 2), ("s4", 1), ("s5", 1)] {
        assert_eq!(
            server.record.rcpt_attempts(&format!("{a}@example.com")),
            n,
            "{a}"
        );
    }

    // A rerun does not send the unknown ones again, and still reports them.
    let out = week(&site);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [0, 0, 2, 4, 0, 0, 0])
    );
    assert_eq!(
        out.reported("unknown"),
        ["s4@example.com", "s5@example.com"]
    );
    assert_eq!(server.record.rcpt_attempts("s4@example.com"), 1);
    assert_eq!(server.record.by_rcpt(), expected);

    // Asked to, it sends them again: s4 gets its first copy, s5 (whose first one the server
    // did take) a second one: that is what --resend-unknown is for.
    let out = site.digest(&["--week", "2022-W02", "--resend-unknown"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [2, 0, 0, 4, 0, 0, 0])
    );
    expected.insert("s4@example.com".into(), 1);
    expected.insert("s5@example.com".into(), 2);
    assert_eq!(server.record.by_rcpt(), expected);
}

#[test]
fn a_server_answering_421_then_recovering_gets_every_message_once() {
    let all = addresses(4);
    // The first two connections are turned away at the greeting; on the third, the first
    // MAIL gets 421 and the connection is closed.
    let server = ScriptServer::start(|c| match c.step {
        Step::Connect if c.conn < 2 => Act::ReplyClose(421, "4.3.2 too busy, come back later"),
        Step::Mail if c.conn == 2 && c.on_conn == 0 => Act::ReplyClose(421, "4.3.2 shutting down"),
        _ => Act::Normal,
    });
    let site = site(server.port, &["concurrency: 1", "attempts: 4"], &all);
    let out = week(&site);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [4, 0, 0, 0, 0, 0, 0])
    );
    assert_eq!(server.record.by_rcpt(), each_once(&all));
    assert_eq!(server.connections(), 4);
}

#[test]
fn a_421_to_the_message_is_retried_on_a_new_connection() {
    let all = addresses(2);
    // The first message is answered 421 (the server is closing the channel) and the
    // connection closed; the server then recovers.
    let server = ScriptServer::start(|c| match c.step {
        Step::DataEnd if c.conn == 0 && c.on_conn == 0 => {
            Act::ReplyClose(421, "4.3.2 service shutting down")
        }
        _ => Act::Normal,
    });
    let site = site(server.port, &["concurrency: 1", "attempts: 2"], &all);
    let out = week(&site);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            Some(0),
            summary(W02, &via(server.port), [2, 0, 0, 0, 0, 0, 0]).as_str(),
            "gazette: 2/2 messages handled\n"
        )
    );
    assert_eq!(server.record.by_rcpt(), each_once(&all));
}

#[test]
fn a_connection_the_server_closed_is_not_charged_to_the_next_message() {
    let all = addresses(3);
    // A server that takes one message per connection: 250, then it hangs up.
    let server = ScriptServer::start(|c| match c.step {
        Step::DataEnd => Act::ReplyClose(250, "2.0.0 queued, bye"),
        _ => Act::Normal,
    });
    let site = site(server.port, &["concurrency: 1", "attempts: 1"], &all);
    let out = week(&site);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            Some(0),
            summary(W02, &via(server.port), [3, 0, 0, 0, 0, 0, 0]).as_str(),
            "gazette: 3/3 messages handled\n"
        )
    );
    assert_eq!(server.record.by_rcpt(), each_once(&all));
}

#[test]
fn a_stalled_server_times_out_and_is_reported_without_hanging() {
    let all = addresses(4);
    // s2: the message is sent, the answer never comes (unknown); s3: RCPT is never answered
    // (not delivered, failed after its attempts).
    let server = ScriptServer::start(|c| match (&c.step, c.rcpt().as_str()) {
        (Step::DataEnd, "s2@example.com") => Act::Stall,
        (Step::Rcpt(_), "s3@example.com") => Act::Stall,
        _ => Act::Normal,
    });
    let site = site(
        server.port,
        &["concurrency: 1", "attempts: 2", "timeout_secs: 1"],
        &all,
    );
    let out = week(&site);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.elapsed < Duration::from_secs(20), "{:?}", out.elapsed);
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [2, 1, 1, 0, 0, 0, 0])
    );
    assert_eq!(out.reported("unknown"), ["s2@example.com"]);
    assert_eq!(out.reported("failed"), ["s3@example.com"]);
    assert_eq!(
        server.record.by_rcpt(),
        counts(&[("s1@example.com", 1), ("s4@example.com", 1)])
    );
    assert_eq!(server.record.rcpt_attempts("s3@example.com"), 2);
}

#[test]
fn a_server_that_never_greets_fails_every_address_without_hanging() {
    let all = addresses(3);
    let server = ScriptServer::start(|c| match c.step {
        Step::Connect => Act::Stall,
        _ => Act::Normal,
    });
    let site = site(
        server.port,
        &["concurrency: 3", "attempts: 2", "timeout_secs: 1"],
        &all,
    );
    let out = week(&site);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.elapsed < Duration::from_secs(20), "{:?}", out.elapsed);
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [0, 3, 0, 0, 0, 0, 0])
    );
    assert_eq!(out.reported("failed"), all);
    for line in report_lines(&out) {
        assert!(
            line.contains(&format!(
                ": cannot connect: 127.0.0.1:{} did not answer within 1 s",
                server.port
            )),
            "{line}"
        );
    }
    assert_eq!(server.connections(), 6, "two attempts each");
    assert_eq!(server.record.count(), 0);

    // Nothing was handed over: a rerun tries them all again.
    server.set_script(|_| Act::Normal);
    let out = week(&site);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(server.record.by_rcpt(), each_once(&all));
}

fn example_tls_site(port: u16, ca_pem: &str, extra: &[&str]) -> Site {
    let mut keys = vec![
        "tls: starttls".to_string(),
        format!("username: {USER}"),
        format!("password_env: {PASSWORD_ENV}"),
        "ca_file: test-ca.pem".into(),
    ];
    keys.extend(extra.iter().map(|s| s.to_string()));
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let site = Site::example(&example_config(&smtp_block(port, &keys)));
    site.write("test-ca.pem", ca_pem);
    site
}

#[test]
fn wrong_credentials_stop_the_run_at_once_without_printing_the_password() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let server = MailinServer::start(Some(&pki), Some((USER, "the-right-password")));
    let site = example_tls_site(server.port, &pki.ca_pem, &[]);
    let out = site.digest_env(&["--week", "2022-W02"], &[(PASSWORD_ENV, PASSWORD)]);
    assert_credentials_refused(&out, server.port);
    assert_eq!(server.record.count(), 0);
    let auths = server.record.auths();
    assert!(
        (1..=2).contains(&auths.len()),
        "one try per connection at most: {auths:?}"
    );
    for a in &auths {
        assert_eq!(a, &("PLAIN".into(), USER.into(), PASSWORD.into()));
    }

    // Without the variable set, it says so before connecting.
    let auths_before = server.record.auths().len();
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(
        out.stderr,
        format!("gazette: ${PASSWORD_ENV} (digest.smtp.password_env) is not set\n")
    );
    assert_eq!(server.record.auths().len(), auths_before);

    // Nothing was handed over: with the right password (from a file this time) everyone gets
    // exactly one message.
    let good = MailinServer::start(Some(&pki), Some((USER, PASSWORD)));
    let site2 = example_tls_site(
        good.port,
        &pki.ca_pem,
        &[
            "password_env: GAZETTE_TEST_UNSET_VARIABLE",
            "password_file: smtp-password.txt",
        ],
    );
    site2.write("smtp-password.txt", format!("{PASSWORD}\n"));
    // The same ledger as the stopped run.
    copy_dir(
        &site.path().join("_gazette"),
        &site2.path().join("_gazette"),
    );
    let out = site2.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(good.port), [4, 0, 0, 0, 0, 0, 0])
    );
    assert_eq!(good.record.count(), 4);
    assert_eq!(
        good.record.by_rcpt().values().copied().collect::<Vec<_>>(),
        [1, 1, 1, 1]
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_server_without_starttls_is_never_sent_to_in_clear() {
    // The scripted server offers no STARTTLS.
    let server = ScriptServer::normal();
    let all = addresses(3);
    let site = site(server.port, &["tls: starttls"], &all);
    let out = week(&site);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert_eq!(
        out.stdout,
        stopped_summary(
            W02,
            &via(server.port),
            [0, 0, 0, 0, 0, 0, 0],
            "TLS with the SMTP server failed",
            3
        )
    );
    assert_eq!(
        out.stderr,
        format!(
            "gazette: the run stopped: 127.0.0.1:{} does not offer STARTTLS; refusing to send in clear (set `tls: implicit` for port 465)\n",
            server.port
        )
    );
    assert_eq!(server.record.count(), 0);
    for a in &all {
        assert_eq!(server.record.rcpt_attempts(a), 0);
    }
}

#[test]
fn a_certificate_for_another_host_stops_the_run_with_a_tls_error() {
    let pki = Pki::new(&["other.example"]);
    let server = MailinServer::start(Some(&pki), Some((USER, PASSWORD)));
    for host in ["127.0.0.1", "localhost"] {
        let site = example_tls_site(server.port, &pki.ca_pem, &[&format!("host: {host}")]);
        let out = site.digest_env(&["--week", "2022-W02"], &[(PASSWORD_ENV, PASSWORD)]);
        assert_eq!(out.code, Some(2), "{host}: {out:#?}");
        assert_eq!(
            out.stdout,
            stopped_summary(
                W02,
                &format!("via {host}:{}", server.port),
                [0, 0, 0, 0, 0, 0, 0],
                "TLS with the SMTP server failed",
                4
            )
        );
        let head = format!(
            "gazette: the run stopped: TLS with {host}:{} failed: ",
            server.port
        );
        assert!(out.stderr.starts_with(&head), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "invalid peer certificate: certificate not valid for name \"{host}\""
            )),
            "{}",
            out.stderr
        );
    }
    assert!(server.record.auths().is_empty(), "no credentials were sent");
    assert_eq!(server.record.count(), 0);

    // A certificate from a CA nobody trusts is refused the same way.
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let stranger = Pki::new(&["localhost", "127.0.0.1"]);
    let server = MailinServer::start(Some(&pki), Some((USER, PASSWORD)));
    let site = example_tls_site(server.port, &stranger.ca_pem, &[]);
    let out = site.digest_env(&["--week", "2022-W02"], &[(PASSWORD_ENV, PASSWORD)]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.starts_with(&format!(
            "gazette: the run stopped: TLS with 127.0.0.1:{} failed: ",
            server.port
        )) && out.stderr.contains("UnknownIssuer"),
        "{}",
        out.stderr
    );
    assert!(server.record.auths().is_empty());
}

#[test]
fn a_second_run_on_the_same_site_is_refused_while_the_first_holds_the_lock() {
    let server = ScriptServer::start(|c| match c.step {
        Step::Connect => Act::Stall,
        _ => Act::Normal,
    });
    let site = site(
        server.port,
        &["timeout_secs: 30"],
        &["only@example.com".to_string()],
    );
    let mut first = site.start_digest(&["--week", "2022-W02"], &[]);
    let waited = std::time::Instant::now();
    while server.connections() == 0 {
        assert!(first.running(), "the first run ended early");
        assert!(waited.elapsed() < Duration::from_secs(20), "no connection");
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = week(&site);
    assert_eq!(second.code, Some(1), "{second:#?}");
    assert_eq!(second.stdout, "");
    assert_eq!(
        second.stderr,
        "gazette: .gazette/ledger.lock: another `gazette digest` is running for this site (it holds this lock); wait for it to finish\n"
    );
    assert_eq!(server.connections(), 1, "the second run did not connect");
    assert!(first.running());

    // Killed, the first run leaves its lock behind it released; the message it was sending
    // (still waiting for the greeting) is unknown to the next run.
    let killed = first.kill();
    assert_eq!(killed.code, None);
    server.set_script(|_| Act::Normal);
    let out = week(&site);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [0, 0, 1, 0, 0, 0, 0])
    );
    assert_eq!(
        out.stderr,
        "subscribers.yml:1:1: unknown: only@example.com: the run sending it stopped before the server answered (check the server's log; --resend-unknown sends it again)\n"
    );
    let out = site.digest(&["--week", "2022-W02", "--resend-unknown"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(server.record.by_rcpt(), counts(&[("only@example.com", 1)]));
}

#[test]
fn killed_runs_never_send_twice_and_never_skip_anyone_silently() {
    const N: usize = 1000;
    let all: Vec<String> = (0..N).map(|i| format!("r{i:04}@example.com")).collect();
    let server = ScriptServer::start(|c| match c.step {
        Step::DataEnd => Act::Delay(Duration::from_millis(2)),
        _ => Act::Normal,
    });
    let site = site(server.port, &["concurrency: 16", "timeout_secs: 10"], &all);
    let mut rng = Rng::new(0x6761_7a65_7474_6501);
    let mut unknown: BTreeSet<String> = BTreeSet::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut killed = 0;
    // Four kills, each at a seeded point: once the server has taken a random number of the
    // messages still to go, plus a random few milliseconds.
    for _ in 0..4 {
        let start = server.record.count();
        let target = start + rng.range(1, ((N - start) / 3) as u64) as usize;
        let extra = Duration::from_millis(rng.range(0, 8));
        let mut run = site.start_digest(&["--week", "2022-W02"], &[]);
        let waited = std::time::Instant::now();
        while server.record.count() < target && run.running() {
            assert!(waited.elapsed() < DEADLINE, "no progress");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(extra);
        let out = run.kill();
        eprintln!(
            "killed after {target} + {extra:?}: {:?}, {} received so far",
            out.code,
            server.record.count()
        );
        if out.code.is_none() {
            killed += 1;
        }
        unknown.extend(out.reported("unknown"));
        failed.extend(out.reported("failed"));
    }
    assert_eq!(killed, 4, "every kill hit a running gazette");
    let before_final = server.record.count();
    assert!(before_final > 0 && before_final < N, "{before_final}");

    let mut last = None;
    for _ in 0..5 {
        let out = week(&site);
        eprintln!("rerun: {:?} {}", out.code, out.stdout);
        unknown.extend(out.reported("unknown"));
        failed.extend(out.reported("failed"));
        let done =
            out.code == Some(0) || (out.code == Some(1) && out.reported("failed").is_empty());
        last = Some(out);
        if done {
            break;
        }
    }
    let last = last.unwrap();
    assert!(last.code == Some(0) || last.code == Some(1), "{last:#?}");
    assert!(last.reported("failed").is_empty(), "{last:#?}");
    assert!(failed.is_empty(), "nothing should fail here: {failed:?}");
    // The last run accounts for everyone.
    let remaining_unknown = last.reported("unknown");
    assert_eq!(
        remaining_unknown.iter().cloned().collect::<BTreeSet<_>>(),
        unknown,
        "unknowns stay unknown until resent"
    );
    assert!(
        unknown.len() <= 16 * 4,
        "at most one per worker per kill: {unknown:?}"
    );

    // The last run's summary accounts for every subscriber.
    let re = regex::Regex::new(
        r"^2022-W02 \(2022-01-10 to 2022-01-16\): (\d+) sent via [^,]+, 0 failed, (\d+) unknown, (\d+) already sent, 0 unsubscribed, 0 with nothing in their categories, 0 invalid in the subscribers file\n$",
    )
    .unwrap();
    let caps = re.captures(&last.stdout).expect("a summary");
    let n = |i: usize| caps[i].parse::<usize>().unwrap();
    assert_eq!(n(1) + n(2) + n(3), N, "{}", last.stdout);
    assert_eq!(n(2), unknown.len());
    assert_eq!(last.code == Some(0), unknown.is_empty());

    let received = server.record.by_rcpt();
    assert!(received.keys().all(|a| all.contains(a)));
    for a in &all {
        let n = received.get(a).copied().unwrap_or(0);
        if unknown.contains(a) {
            assert!(n <= 1, "{a} (unknown) received {n} messages");
        } else {
            assert_eq!(
                n, 1,
                "{a} received {n} messages and was never reported unknown"
            );
        }
    }

    // Resending the unknowns leaves nobody without the digest, and only they can have two.
    let out = site.digest(&["--week", "2022-W02", "--resend-unknown"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let after = server.record.by_rcpt();
    for a in &all {
        let n = after.get(a).copied().unwrap_or(0);
        let before = received.get(a).copied().unwrap_or(0);
        if unknown.contains(a) {
            assert_eq!(n, before + 1, "{a}");
        } else {
            assert_eq!(n, 1, "{a}");
        }
    }
    let out = week(&site);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, &via(server.port), [0, 0, 0, N, 0, 0, 0])
    );
}

#[test]
fn a_corrupt_ledger_is_refused_and_left_untouched() {
    let server = ScriptServer::normal();
    let site = site(server.port, &[], &addresses(2));
    let mut rng = Rng::new(18);
    let junk: Vec<u8> = (0..8192).map(|_| rng.next() as u8).collect();
    let path = site.write(".gazette/ledger.sqlite3", &junk);
    let message = ".gazette/ledger.sqlite3: not a gazette ledger (the file is not an SQLite database, or is damaged); refusing to touch it: move it aside to start a new ledger";

    let out = week(&site);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, format!("gazette: {message}\n"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        junk,
        "the file is byte-identical"
    );
    assert_eq!(server.connections(), 0);

    let out = site.unsubscribe("s1@example.com");
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(out.stderr, format!("gazette: {message}\n"));
    assert_eq!(std::fs::read(&path).unwrap(), junk);
    let mut files: Vec<String> = std::fs::read_dir(site.path().join(".gazette"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    // Nothing was added beside the refused ledger (no journal, no WAL); the posts' cache (index
    // and records) lives in the same state folder.
    assert_eq!(
        files,
        [
            "ledger.lock",
            "ledger.sqlite3",
            "posts.cache",
            "posts.records"
        ]
    );
}

#[test]
fn a_ledger_from_a_newer_gazette_is_refused_and_left_untouched() {
    let server = ScriptServer::normal();
    let all = addresses(2);
    let site = site(server.port, &[], &all);
    let out = week(&site);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let path = site.path().join(".gazette/ledger.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
    }
    assert!(
        !site.path().join(".gazette/ledger.sqlite3-wal").exists(),
        "closed cleanly"
    );
    let before = std::fs::read(&path).unwrap();
    let message = ".gazette/ledger.sqlite3: written by a newer gazette (ledger version 99; this gazette knows version 1); refusing to change it: upgrade gazette";

    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, format!("gazette: {message}\n"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is byte-identical"
    );

    let out = site.unsubscribe("s1@example.com");
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(out.stderr, format!("gazette: {message}\n"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(
        server.record.by_rcpt(),
        each_once(&all),
        "nothing more was sent"
    );
}
#[test]
fn a_timeout_is_reported_as_a_timeout() {
    let all = addresses(1);
    // No greeting (failed), then no answer to the message (unknown).
    let server = ScriptServer::start(|c| match c.step {
        Step::Connect if c.conn == 0 => Act::Stall,
        Step::DataEnd => Act::Stall,
        _ => Act::Normal,
    });
    let site = site(server.port, &["attempts: 1", "timeout_secs: 1"], &all);
    let first = week(&site);
    assert_eq!(first.reported("failed"), all);
    let second = week(&site);
    assert_eq!(second.reported("unknown"), all);
    for out in [first, second] {
        let line = report_lines(&out).join("\n");
        assert!(
            !line.contains("Resource temporarily unavailable"),
            "a timeout shown as EAGAIN: {line}"
        );
        assert!(
            line.to_lowercase().contains("timed out") || line.contains("within 1 s"),
            "the message should say the server did not answer in time: {line}"
        );
    }
}

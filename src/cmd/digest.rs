//! `gazette digest`: the weekly email, sent exactly once per subscriber.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _};
use chrono::NaiveDate;
use gazette::digest::compose::{self, Composer};
use gazette::digest::ledger::{self, Ledger, State};
use gazette::digest::message::{self, unsubscribe_token, Envelope};
use gazette::digest::render::Renderer;
use gazette::digest::send::{self, Job, Transport};
use gazette::digest::smtp::Server;
use gazette::digest::subscribers;
use gazette::digest::week::Period;
use lettre::message::Mailbox;

use super::output::{errln, outln};
use super::site::{print_problems, IncludeArgs, SiteArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub site: SiteArgs,
    /// The ISO week to send, e.g. 2022-W02 [default: the last complete week].
    #[arg(long, value_name = "WEEK", conflicts_with_all = ["since", "until"])]
    pub week: Option<String>,
    /// The first day of the period (YYYY-MM-DD), instead of a week.
    #[arg(long, value_name = "DATE", requires = "until")]
    pub since: Option<NaiveDate>,
    /// The last day of the period (YYYY-MM-DD), included.
    #[arg(long, value_name = "DATE", requires = "since")]
    pub until: Option<NaiveDate>,
    /// Accepted for older scripts. An empty period still sends nothing: nobody gets an empty
    /// digest (the run says so and ends with 0).
    #[arg(long)]
    pub force: bool,
    /// Render every message and report, but send nothing and record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also write the digest's HTML to this file, for a browser.
    #[arg(long, value_name = "FILE")]
    pub preview: Option<PathBuf>,
    /// Send again the messages whose fate is unknown (a run stopped while sending them).
    #[arg(long)]
    pub resend_unknown: bool,
    /// Send again to subscribers whose server refused the message permanently (5xx).
    #[arg(long)]
    pub retry_failed: bool,
    /// The subscribers file [default: the config's `digest.subscribers`].
    #[arg(long, value_name = "FILE")]
    pub subscribers: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let site_dir = &args.site.site;
    let mut loaded = match args.site.load(&IncludeArgs::default()) {
        Ok(l) => l,
        Err(problem) => {
            print_problems([&problem]);
            return Ok(ExitCode::FAILURE);
        }
    };
    let collection = &loaded.collection;
    if collection.has_errors() {
        print_problems(&collection.problems);
        errln!("gazette: the site has errors; no digest was sent");
        return Ok(ExitCode::FAILURE);
    }
    let config = &loaded.config;
    let settings = &config.gazette.digest;
    let zone = config.timezone;
    let period = match (&args.week, args.since, args.until) {
        (Some(week), _, _) => Period::iso_week(week, zone).map_err(|e| anyhow!(e))?,
        (None, Some(since), Some(until)) => {
            Period::days(since, until, zone).map_err(|e| anyhow!(e))?
        }
        _ => Period::last_complete_week(chrono::Utc::now(), zone),
    };
    let digest = compose::select(site_dir, &collection.posts, &period, config)
        .map_err(|p| anyhow!("{p}"))?;
    // From here on only the period's posts (copied into `digest`) are needed: give the memory
    // of the others back before the send, whose messages are large (a 100,000-post site is
    // 200 MB of posts; with them kept, a send went over 256 MB).
    loaded.collection.posts = Vec::new();
    super::site::give_back_memory();
    let config = &loaded.config;
    if digest.post_count == 0 {
        // Nobody gets an empty digest, not even with --force.
        if args.force {
            outln!("{period}: no posts, so no digest was sent (even with --force: nobody gets an empty digest)");
        } else {
            outln!("{period}: no posts, so no digest was sent");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let templates = settings.templates.as_ref().map(|t| site_dir.join(t));
    let renderer =
        Renderer::new(templates.as_deref(), &settings.subject, zone).map_err(|p| anyhow!("{p}"))?;

    let subscribers_path = args
        .subscribers
        .clone()
        .unwrap_or_else(|| site_dir.join(&settings.subscribers));
    let subs = subscribers::load(&subscribers_path).map_err(|p| anyhow!("{p}"))?;
    print_problems(&subs.problems);

    let host = config
        .url
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("localhost")
        .to_string();
    let from: Mailbox = settings
        .from
        .as_deref()
        .ok_or_else(|| anyhow!("set the digest's sender, `from:` (e.g. `Site <digest@example.com>`), under `gazette: digest:` in _config.yml or under `digest:` in gazette.yml"))?
        .parse()
        .map_err(|e| anyhow!("gazette.digest.from: {e}"))?;
    let reply_to: Option<Mailbox> = settings
        .reply_to
        .as_deref()
        .map(|r| {
            r.parse()
                .map_err(|e| anyhow!("gazette.digest.reply_to: {e}"))
        })
        .transpose()?;
    let secret = unsubscribe_secret(site_dir, settings)?;
    if settings
        .unsubscribe_url
        .as_deref()
        .is_some_and(|u| u.contains("{token}"))
        && secret.is_none()
    {
        bail!(
            "digest.unsubscribe_url uses {{token}}: set ${} (or digest.secret_file) to the secret that signs unsubscribe links",
            settings.secret_env
        );
    }
    if settings.unsubscribe_url.is_none() && settings.unsubscribe_mailto.is_none() {
        errln!("gazette: warning: no digest.unsubscribe_url or unsubscribe_mailto: messages carry no List-Unsubscribe header, which large mailbox providers require");
    }
    let unsubscribe_url = |address: &str| {
        settings.unsubscribe_url.as_ref().map(|template| {
            let token = secret
                .as_deref()
                .map(|s| unsubscribe_token(s, address))
                .unwrap_or_default();
            template
                .replace("{address}", &message::query_escape(address))
                .replace("{token}", &token)
        })
    };
    let list_id = settings.list_id.clone().unwrap_or_else(|| host.clone());
    let extra: Vec<(String, String)> = settings
        .smtp
        .as_ref()
        .map(|s| {
            s.headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let envelope = Envelope {
        from: &from,
        reply_to: reply_to.as_ref(),
        list_id: &list_id,
        message_id: String::new(),
        unsubscribe_url: None,
        unsubscribe_mailto: settings.unsubscribe_mailto.clone(),
        extra_headers: &extra,
    };
    let composer = Composer::new(
        &digest,
        &renderer,
        settings.unsubscribe_url.is_some(),
        settings.unsubscribe_mailto.clone(),
    );

    if let Some(file) = &args.preview {
        let sample = subs
            .subscribers
            .first()
            .cloned()
            .unwrap_or_else(|| subscribers::Subscriber {
                address: "reader@example.com".parse().expect("a valid address"),
                name: None,
                categories: Vec::new(),
                line: 0,
            });
        let everyone = subscribers::Subscriber {
            categories: Vec::new(),
            ..sample
        };
        let url = unsubscribe_url(&everyone.key());
        let rendered = composer
            .compose(&everyone, url.as_deref())
            .unwrap_or_else(|| Err("no posts".into()))
            .map_err(|e| anyhow!(e))?;
        std::fs::write(file, rendered.html)
            .with_context(|| format!("writing the preview {}", file.display()))?;
        outln!("preview written to {}", file.display());
    }

    let state_dir = gazette::collect::shown(&site_dir.join(&settings.state)).to_path_buf();
    let make_job = |s: &subscribers::Subscriber| Job {
        message_id: message::message_id(&period.label, &s.key(), &host),
        unsubscribe_url: unsubscribe_url(&s.key()),
        subscriber: s.clone(),
    };
    if args.dry_run {
        let mut would = 0;
        let mut empty = 0;
        for s in &subs.subscribers {
            let job = make_job(s);
            match composer.compose(s, job.unsubscribe_url.as_deref()) {
                None => empty += 1,
                Some(Err(e)) => bail!("rendering the digest failed: {e}"),
                Some(Ok(r)) => {
                    message::build(
                        &Envelope {
                            message_id: job.message_id.clone(),
                            ..envelope.clone()
                        },
                        s,
                        &r,
                    )
                    .map_err(|e| anyhow!(e))?;
                    would += 1;
                }
            }
        }
        outln!("{period}: dry run: {would} messages would be sent ({} posts; {empty} subscribers have nothing in their categories); nothing was sent or recorded", digest.post_count);
        return Ok(ExitCode::SUCCESS);
    }

    let _lock = ledger::lock(&state_dir)?;
    let mut ledger = Ledger::open(&state_dir)?;
    let unsubscribed = ledger.unsubscribed()?;
    let (current, gone): (Vec<_>, Vec<_>) = subs
        .subscribers
        .iter()
        .partition(|s| !unsubscribed.contains(&s.key()));
    let jobs: Vec<Job> = current.iter().map(|s| make_job(s)).collect();
    let entries: Vec<(String, String)> = jobs
        .iter()
        .map(|j| (j.subscriber.key(), j.message_id.clone()))
        .collect();
    let rows = ledger.prepare(&period.label, &entries)?;
    let mut already = 0;
    let mut empty_before = 0;
    let mut unknown_before: Vec<(String, String)> = Vec::new();
    let mut failed_before: Vec<(String, String)> = Vec::new();
    let to_send: Vec<Job> = jobs
        .into_iter()
        .filter(|job| {
            let row = rows.get(&job.subscriber.key());
            match row.map(|r| (r.state, r.permanent)) {
                Some((State::Sent, _)) => {
                    already += 1;
                    false
                }
                Some((State::Empty, _)) => {
                    empty_before += 1;
                    false
                }
                Some((State::Unknown, _)) if !args.resend_unknown => {
                    unknown_before.push((
                        job.subscriber.key(),
                        row.and_then(|r| r.error.clone()).unwrap_or_default(),
                    ));
                    false
                }
                Some((State::Failed, true)) if !args.retry_failed => {
                    failed_before.push((
                        job.subscriber.key(),
                        row.and_then(|r| r.error.clone()).unwrap_or_default(),
                    ));
                    false
                }
                _ => true,
            }
        })
        .collect();
    drop(ledger);

    let transport = match &settings.smtp {
        Some(smtp) => Transport::Smtp {
            server: Server::new(smtp, site_dir)?,
            concurrency: smtp.concurrency,
            rate: smtp.rate,
            attempts: smtp.attempts.max(1),
            retry_delay: std::time::Duration::from_millis(smtp.retry_delay_ms),
        },
        None => Transport::Outbox(site_dir.join(&settings.outbox)),
    };
    let report = send::send_all(
        &period.label,
        &state_dir,
        &composer,
        &envelope,
        &transport,
        to_send,
    );

    let subscribers_path = gazette::collect::shown(&subscribers_path).to_path_buf();
    let by_address: HashMap<String, &subscribers::Subscriber> =
        subs.subscribers.iter().map(|s| (s.key(), s)).collect();
    let line_of = |a: &str| by_address.get(a).map_or(0, |s| s.line);
    for (address, error) in report.failed.iter().chain(&failed_before) {
        errln!(
            "{}:{}:1: failed: {address}: {error}",
            subscribers_path.display(),
            line_of(address)
        );
    }
    for (address, error) in report.unknown.iter().chain(&unknown_before) {
        errln!(
            "{}:{}:1: unknown: {address}: {error} (check the server's log; --resend-unknown sends it again)",
            subscribers_path.display(),
            line_of(address)
        );
    }
    let destination = match &transport {
        Transport::Smtp { server, .. } => format!("via {}", server.address()),
        Transport::Outbox(dir) => format!("into {}", dir.display()),
    };
    outln!(
        "{period}: {} sent {destination}, {} failed, {} unknown, {} already sent, {} unsubscribed, {} with nothing in their categories, {} invalid in the subscribers file{}",
        report.sent.len(),
        report.failed.len() + failed_before.len(),
        report.unknown.len() + unknown_before.len(),
        already,
        gone.len(),
        report.empty.len() + empty_before,
        subs.problems.iter().filter(|p| p.is_error()).count(),
        match &report.stopped {
            Some(stop) => format!(
                "; the run stopped ({}): {} not sent, left pending for the next run",
                stop.cause,
                report.pending.len()
            ),
            None => String::new(),
        },
    );
    if let Some(stop) = &report.stopped {
        errln!("gazette: the run stopped: {}", stop.message);
        return Ok(ExitCode::from(2));
    }
    let all_out = report.failed.is_empty()
        && failed_before.is_empty()
        && report.unknown.is_empty()
        && unknown_before.is_empty();
    Ok(if all_out {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The secret that keys unsubscribe tokens, from the environment or a file.
fn unsubscribe_secret(
    site: &std::path::Path,
    settings: &gazette::digest::settings::DigestSettings,
) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(value) = std::env::var_os(&settings.secret_env) {
        let value = value.to_string_lossy().trim().to_string();
        if !value.is_empty() {
            return Ok(Some(value.into_bytes()));
        }
    }
    match &settings.secret_file {
        Some(file) => {
            let path = site.join(file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the secret file {}", path.display()))?;
            Ok(Some(text.trim().as_bytes().to_vec()))
        }
        None => Ok(None),
    }
}

//! `gazette digest`: the weekly email, sent exactly once per subscriber.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use chrono::NaiveDate;
use gazette::digest::pipeline::{self, Archived, Prepare, Request, Retry, Sent};
use gazette::digest::week::Period;

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
    if loaded.collection.has_errors() {
        print_problems(&loaded.collection.problems);
        errln!("gazette: the site has errors; no digest was sent");
        return Ok(ExitCode::FAILURE);
    }
    let zone = loaded.config.timezone;
    let period = match (&args.week, args.since, args.until) {
        (Some(week), _, _) => Period::iso_week(week, zone).map_err(|e| anyhow!(e))?,
        (None, Some(since), Some(until)) => {
            Period::days(since, until, zone).map_err(|e| anyhow!(e))?
        }
        _ => Period::last_complete_week(chrono::Utc::now(), zone),
    };
    let request = Request {
        period,
        subscribers: args.subscribers.clone(),
    };
    let prepared = pipeline::prepare(site_dir, &loaded.config, &loaded.collection.posts, &request)?;
    // From here on only the period's posts (copied into the digest) are needed: give the memory
    // of the others back before the send, whose messages are large (a 100,000-post site is
    // 200 MB of posts; with them kept, a send went over 256 MB).
    loaded.collection.posts = Vec::new();
    super::site::give_back_memory();
    let prepared = match prepared {
        Prepare::Empty(period) if args.force => {
            outln!("{period}: no posts, so no digest was sent (even with --force: nobody gets an empty digest)");
            return Ok(ExitCode::SUCCESS);
        }
        Prepare::Empty(period) => {
            outln!("{period}: no posts, so no digest was sent");
            return Ok(ExitCode::SUCCESS);
        }
        Prepare::Ready(prepared) => prepared,
    };
    print_problems(&prepared.problems);
    for warning in &prepared.warnings {
        errln!("gazette: warning: {warning}");
    }
    if let Some(file) = &args.preview {
        prepared.preview(file)?;
        outln!("preview written to {}", file.display());
    }
    let period = prepared.period();
    if args.dry_run {
        let dry = prepared.dry_run()?;
        outln!(
            "{period}: dry run: {} messages would be sent ({} posts; {} subscribers have nothing in their categories); nothing was sent or recorded",
            dry.would_send,
            prepared.post_count(),
            dry.empty
        );
        return Ok(ExitCode::SUCCESS);
    }
    let retry = Retry {
        unknown: args.resend_unknown,
        failed: args.retry_failed,
    };
    let sent = prepared.send(retry, &super::progress::Bar::default())?;
    Ok(report(&sent))
}

/// Prints what became of every subscriber; the exit status: 0 when everything went out, 1 when
/// some messages failed or are unknown (or the web archive could not be written), 2 when the
/// run stopped.
fn report(sent: &Sent) -> ExitCode {
    for line in sent.missed_lines() {
        errln!("{line}");
    }
    outln!("{sent}");
    let archive_failed = match &sent.archive {
        Archived::Failed(why) => {
            errln!("gazette: {why}; nothing of the archive was changed (the next run writes it)");
            true
        }
        Archived::Off | Archived::Skipped | Archived::Written(_) => false,
    };
    if let Some((stop, _)) = &sent.stopped {
        errln!("gazette: the run stopped: {}", stop.message);
        return ExitCode::from(2);
    }
    if sent.all_out() && !archive_failed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

//! The `gazette` command: parses arguments and hands each subcommand to `cmd`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Feeds and a weekly digest from a Jekyll site's posts.
#[derive(Parser)]
#[command(name = "gazette", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read every post and report what is wrong (exit 1 when any post is invalid).
    Check(cmd::check::Args),
    /// Write the RSS and Atom feeds (posts that cannot be read are left out; --strict: none).
    Build(cmd::build::Args),
    /// Send the weekly digest email to every subscriber, exactly once each.
    Digest(cmd::digest::Args),
    /// Record that an address wants no more digests.
    Unsubscribe(cmd::unsubscribe::Args),
    /// Import, export and list the subscriber store.
    Subscribers(cmd::subscribers::Args),
    /// Run the subscription service: sign-up, confirmation, one-click unsubscribe, preferences.
    Serve(cmd::serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match run(&cli.command) {
        Ok(code) => code,
        Err(e) => {
            cmd::output::errln!("gazette: {e:#}");
            ExitCode::FAILURE
        }
    };
    // Standard output's failures never stop a command's work: they are said here, once.
    cmd::output::finish(code)
}

fn run(command: &Command) -> anyhow::Result<ExitCode> {
    let site = match command {
        Command::Check(args) => &args.site.site,
        Command::Build(args) => &args.site.site,
        Command::Digest(args) => &args.site.site,
        Command::Unsubscribe(args) => &args.site.site,
        Command::Subscribers(args) => args.site(),
        Command::Serve(args) => &args.site.site,
    };
    cmd::site::require_site(site)?;
    match command {
        Command::Check(args) => cmd::check::run(args),
        Command::Build(args) => cmd::build::run(args),
        Command::Digest(args) => cmd::digest::run(args),
        Command::Unsubscribe(args) => cmd::unsubscribe::run(args),
        Command::Subscribers(args) => cmd::subscribers::run(args),
        Command::Serve(args) => cmd::serve::run(args),
    }
}

//! `gazette subscribers import|export|list`: the subscriber store, from and to today's
//! subscriber files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;
use gazette::config::SiteConfig;
use gazette::digest::store::transfer::{self, Format};

use super::output::{errln, outln, Out};
use super::site::{print_problems, SiteDirArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Import a subscribers file (YAML or CSV, as the digest reads it) into the store: everyone
    /// in it is confirmed, except who has unsubscribed.
    Import(ImportArgs),
    /// Write the store's confirmed subscribers as a subscribers file (import reads it back).
    Export(ExportArgs),
    /// List every subscriber in the store: address, state, categories; then the counts.
    List(ListArgs),
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub site: SiteDirArgs,
    /// The subscribers file: `.csv` is CSV, anything else YAML.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub site: SiteDirArgs,
    /// The file's format [default: CSV for an --out ending in .csv, else YAML].
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Write to this file (replaced whole) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub site: SiteDirArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    Yaml,
    Csv,
}

impl Args {
    /// The site folder the action works on.
    pub fn site(&self) -> &Path {
        match &self.action {
            Action::Import(a) => &a.site.site,
            Action::Export(a) => &a.site.site,
            Action::List(a) => &a.site.site,
        }
    }
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let site = args.site();
    let config = SiteConfig::load(site).map_err(|p| anyhow!("{p}"))?.config;
    match &args.action {
        Action::Import(a) => import(site, &config, a),
        Action::Export(a) => export(site, &config, a),
        Action::List(_) => list(site, &config),
    }
}

fn import(site: &Path, config: &SiteConfig, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let report = match transfer::import_file(site, config, &args.file, chrono::Utc::now()) {
        Ok(report) => report,
        Err(transfer::TransferError::Problem(problem)) => {
            print_problems([&problem]);
            errln!("gazette: nothing was imported");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    print_problems(&report.problems);
    let i = report.imported;
    outln!(
        "{} imported into {}: {} added, {} updated, {} unchanged, {} kept unsubscribed, {} unsubscribed as the ledger records, {} invalid lines skipped",
        args.file.display(),
        report.store.display(),
        i.added,
        i.updated,
        i.unchanged,
        i.kept_unsubscribed,
        report.unsubscribed_in_ledger,
        report.invalid
    );
    Ok(ExitCode::SUCCESS)
}

fn export(site: &Path, config: &SiteConfig, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let format = match (args.format, &args.out) {
        (Some(FormatArg::Yaml), _) => Format::Yaml,
        (Some(FormatArg::Csv), _) => Format::Csv,
        (None, Some(out)) => Format::of_path(out),
        (None, None) => Format::Yaml,
    };
    let export = transfer::export(site, config, format)?;
    match &args.out {
        Some(out) => {
            transfer::write_file(out, &export.text)?;
            outln!(
                "{} confirmed subscribers exported to {}",
                export.count,
                out.display()
            );
        }
        None => Out::buffered().line(format_args!("{}", export.text.trim_end_matches('\n'))),
    }
    Ok(ExitCode::SUCCESS)
}

fn list(site: &Path, config: &SiteConfig) -> anyhow::Result<ExitCode> {
    let Some(listing) = transfer::list(site, config)? else {
        errln!(
            "gazette: {} does not exist: the digest reads the subscribers file (`gazette subscribers import FILE` makes a store)",
            transfer::store_path(site, config)
                .map_err(|p| anyhow!("{p}"))?
                .display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let mut out = Out::buffered();
    for row in &listing.rows {
        let categories = if row.categories.is_empty() {
            "(all)".to_string()
        } else {
            row.categories.join(" ")
        };
        out.line(format_args!(
            "{}\t{}\t{categories}",
            row.address, row.status
        ));
    }
    let c = listing.counts;
    out.line(format_args!(
        "{} subscribers in {}: {} confirmed, {} pending, {} unsubscribed",
        c.total(),
        listing.store.display(),
        c.confirmed,
        c.pending,
        c.unsubscribed
    ));
    Ok(ExitCode::SUCCESS)
}

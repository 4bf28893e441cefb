//! `gazette unsubscribe ADDRESS`: record that an address wants no more digests.

use std::process::ExitCode;

use anyhow::anyhow;
use gazette::config::SiteConfig;

use super::output::outln;
use super::site::SiteDirArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub site: SiteDirArgs,
    /// The address to unsubscribe.
    pub address: String,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let address: lettre::Address = args
        .address
        .trim()
        .parse()
        .map_err(|e| anyhow!("`{}` is not an email address: {e}", args.address))?;
    let loaded = SiteConfig::load(&args.site.site).map_err(|p| anyhow!("{p}"))?;
    let site = &args.site.site;
    if gazette::digest::pipeline::unsubscribe(site, &loaded.config, &address)? {
        outln!("{address} is unsubscribed: no later digest goes to it");
    } else {
        outln!("{address} was already unsubscribed");
    }
    Ok(ExitCode::SUCCESS)
}

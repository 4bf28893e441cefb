//! `gazette serve`: the subscription service (sign-up, confirmation, one-click unsubscribe,
//! preferences) over HTTP, until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use gazette::serve::http::Service;

use super::output::{errln, outln};
use super::site::{print_problems, IncludeArgs, SiteArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub site: SiteArgs,
    /// The address to listen on [default: the config's `digest.serve.listen`, else
    /// 127.0.0.1:8080]; port 0 takes a free port (the address bound is printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let loaded = match args.site.load(&IncludeArgs::default()) {
        Ok(l) => l,
        Err(problem) => {
            print_problems([&problem]);
            return Ok(ExitCode::FAILURE);
        }
    };
    if loaded.collection.has_errors() {
        print_problems(&loaded.collection.problems);
        errln!("gazette: the site has errors; the service did not start");
        return Ok(ExitCode::FAILURE);
    }
    let service = Service::new(
        &args.site.site,
        &loaded.config,
        &loaded.collection.posts,
        args.listen.as_deref(),
    )?;
    drop(loaded);
    super::site::give_back_memory();
    for warning in &service.warnings {
        errln!("gazette serve: warning: {warning}");
    }
    let mail = service.mail_destination();
    service.run(|bound| {
        // Standard output is line-buffered: the line goes out at once, for whoever waits on it.
        outln!("gazette serve: listening on http://{bound} (mail goes {mail})");
    })?;
    outln!("gazette serve: stopped");
    Ok(ExitCode::SUCCESS)
}

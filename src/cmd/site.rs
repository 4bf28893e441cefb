//! Arguments every subcommand that reads a site shares, and loading the site with them.

use std::io::Write;
use std::path::{Path, PathBuf};

use gazette::collect::{self, Collection};
use gazette::config::SiteConfig;
use gazette::problem::Problem;

/// Which site to read.
#[derive(clap::Args, Debug, Clone)]
pub struct SiteArgs {
    /// The site folder (holding `_config.yml` and `_posts/`).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub site: PathBuf,
    /// Read every post, ignoring (and not writing) the cache of what was read before.
    #[arg(long)]
    pub no_cache: bool,
}

/// Which site to act on, for a command that reads no post (so has no cache to skip).
#[derive(clap::Args, Debug, Clone)]
pub struct SiteDirArgs {
    /// The site folder (holding `_config.yml` and `_posts/`).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub site: PathBuf,
}

/// Refuses a folder that is not a Jekyll site (no `_config.yml` or `_config.yaml`, and no
/// `_posts/`) before anything reads it or writes into it: run in the wrong folder, a command
/// would walk the whole tree and leave `.gazette/` there.
pub fn require_site(dir: &Path) -> anyhow::Result<()> {
    let named = if dir.as_os_str().is_empty() || dir == Path::new(".") {
        match std::env::current_dir() {
            Ok(cwd) => format!("this folder ({})", cwd.display()),
            Err(_) => "this folder".to_string(),
        }
    } else {
        dir.display().to_string()
    };
    match std::fs::metadata(dir) {
        Err(e) => anyhow::bail!(
            "cannot read the site folder {named}: {e} (pass --site with the site's folder)"
        ),
        Ok(meta) if !meta.is_dir() => {
            anyhow::bail!("{named} is not a folder (pass --site with the site's folder)")
        }
        Ok(_) => {}
    }
    // A name that cannot be looked up counts as there: reading it will say what is wrong.
    let there = |name: &str| dir.join(name).try_exists().unwrap_or(true);
    if ["_config.yml", "_config.yaml", "_posts"]
        .into_iter()
        .any(there)
    {
        Ok(())
    } else {
        anyhow::bail!(
            "{named} is not a Jekyll site: no _config.yml and no _posts/ (run gazette in the \
             site's folder, or pass --site with it); nothing was read or written"
        )
    }
}

/// Which posts beyond the published, past ones to include.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct IncludeArgs {
    /// Include the posts in `_drafts/`.
    #[arg(long)]
    pub drafts: bool,
    /// Include posts dated in the future.
    #[arg(long)]
    pub future: bool,
}

/// A site read: its settings, its posts, and every problem met on the way.
pub struct Loaded {
    pub config: SiteConfig,
    pub collection: Collection,
}

impl SiteArgs {
    /// Where the post cache is, unless `--no-cache` or the settings turn it off.
    pub fn cache_path(&self, config: &SiteConfig) -> Option<PathBuf> {
        (!self.no_cache && !config.gazette.cache.as_os_str().is_empty())
            .then(|| self.site.join(&config.gazette.cache))
    }

    /// Reads the config and collects the posts. A config that cannot be read is returned as the
    /// single problem of an empty collection.
    pub fn load(&self, include: &IncludeArgs) -> Result<Loaded, Problem> {
        let loaded = self.load_config()?;
        let options = self.options(&loaded.config, include);
        let scan = collect::Scan::new(&self.site, &options);
        Ok(self.collect(loaded, &options, scan, false))
    }

    /// Reads the config, and checks the digest's section of it too: every command reads the
    /// rest of the settings, so a wrong key fails them all, and an unknown one is a warning.
    pub fn load_config(&self) -> Result<gazette::config::Loaded, Problem> {
        let mut loaded = SiteConfig::load(&self.site)?;
        let (_, mut digest_problems) =
            gazette::digest::settings::DigestSettings::of(&loaded.config)?;
        loaded.problems.append(&mut digest_problems);
        Ok(loaded)
    }

    /// How to collect the posts of the site with `config`.
    pub fn options(&self, config: &SiteConfig, include: &IncludeArgs) -> collect::Options {
        collect::Options {
            drafts: include.drafts,
            future: include.future,
            cache: self.cache_path(config),
            ..collect::Options::default()
        }
    }

    /// Collects the posts `scan` found (`for_feeds`: only those a build's feeds show are
    /// decoded whole, see `collect::collect_for_feeds`); the config's problems come first.
    pub fn collect(
        &self,
        loaded: gazette::config::Loaded,
        options: &collect::Options,
        scan: collect::Scan,
        for_feeds: bool,
    ) -> Loaded {
        let mut collection = if for_feeds {
            collect::collect_for_feeds(&self.site, &loaded.config, options, scan)
        } else {
            collect::collect_scanned(&self.site, &loaded.config, options, scan)
        };
        let mut problems = loaded.problems;
        problems.append(&mut collection.problems);
        collection.problems = problems;
        Loaded {
            config: loaded.config,
            collection,
        }
    }
}

/// Prints problems for people, one a line, on standard error.
pub fn print_problems<'a>(problems: impl IntoIterator<Item = &'a Problem>) {
    let stderr = std::io::stderr();
    let mut out = stderr.lock();
    for p in problems {
        let _ = writeln!(out, "{p}");
    }
}

/// Lets go of what a command read when the process is about to end: the system takes the memory
/// back at once, while freeing 100,000 posts one string at a time would only delay the exit.
pub fn leave<T>(value: T) {
    std::mem::forget(value);
}

/// Returns freed memory to the system now. glibc keeps freed small allocations in its arenas
/// (one per thread that allocated them), where other threads cannot reuse them; `malloc_trim`
/// hands the free pages of every arena back. Elsewhere this does nothing.
pub fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim takes a byte count and only releases free memory.
        unsafe {
            malloc_trim(0);
        }
    }
}

//! gazette turns a Jekyll site's posts into feeds and a weekly email digest.
//!
//! The pipeline follows the data, one module a stage:
//!
//! 1. [`config`] reads `_config.yml` (and gazette's own settings) into a [`config::SiteConfig`];
//! 2. [`collect`] finds the posts, reads their front matter in parallel and returns
//!    [`collect::Post`] values, newest first, with every [`problem::Problem`] it met — it
//!    writes nothing but its cache (when one is asked for), and renders a body only when a
//!    later stage asks for it;
//! 3. the feed and digest stages take those posts: [`feed::render`] returns the feeds' bytes
//!    and [`feed::build::build`] writes them into the output folder; [`digest::pipeline`]
//!    prepares one message per subscriber and sends them, over SMTP or into an outbox folder,
//!    recording each send in a ledger. The binary's commands map their arguments onto these
//!    calls.
//!
//! ```no_run
//! use std::path::Path;
//! let site = Path::new("example");
//! let loaded = gazette::config::SiteConfig::load(site).expect("a readable _config.yml");
//! let collection = gazette::collect::collect(site, &loaded.config, &Default::default());
//! for post in &collection.posts {
//!     println!("{} {}", post.date, post.url);
//! }
//! ```

mod atomic;
pub mod collect;
pub mod config;
pub mod digest;
mod escape;
pub mod feed;
pub mod permalink;
pub mod plan;
pub mod problem;
pub mod serve;
mod temp;
pub(crate) mod timing;
pub mod yaml;

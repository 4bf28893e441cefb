//! One file a subcommand. Each parses its own arguments, calls the library and prints; no logic
//! of the pipeline lives here.

pub mod build;
pub mod check;
mod check_json;
pub mod digest;
pub mod output;
pub mod progress;
pub mod serve;
pub mod site;
pub mod subscribers;
pub mod unsubscribe;
pub mod watch;

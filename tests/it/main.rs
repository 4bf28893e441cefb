//! The integration tests, one binary: each module talks to the real `gazette` binary, to real
//! servers (SMTP over TCP, TLS), to the real `jekyll`, and reads what gazette wrote back with real
//! parsers (feed-rs, mail-parser). One binary links the test dependencies once.

#[path = "../support/mod.rs"]
mod support;

mod architecture;
mod bench_corpus;
mod check;
mod digest;
mod digest_archive;
mod digest_faults;
mod digest_transport;
mod feeds;
mod hostile;
mod hostile_cli;
mod hostile_cost;
mod hostile_digest;
mod hostile_output;
mod jekyll_content;
mod jekyll_feed;
mod jekyll_oracle;
mod properties;
mod rebuild;
mod serve;
mod serve_pages;
mod subscribers;
mod watch;

//! What the integration tests share: a site in a temporary folder and what a folder holds
//! (`site`), runs of the real binary (or of `jekyll`) with a deadline (`run`), digest sites built
//! on the shared site (`digest_site`), and a scriptable SMTP server (`smtp`) with its test
//! certificate authority (`pki`).

pub mod digest_site;
pub mod jekyll;
pub mod pki;
pub mod run;
pub mod site;
pub mod smtp;

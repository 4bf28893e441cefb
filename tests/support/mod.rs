//! What the integration tests share: a site in a temporary folder and runs of the real binary
//! (`site`), and a scriptable SMTP server with its test certificate authority (`smtp`).

pub mod digest_site;
pub mod pki;
pub mod run;
pub mod site;
pub mod smtp;

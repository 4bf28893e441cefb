//! What the integration tests share: a site in a temporary folder and runs of the real binary
//! (`site`), and a scriptable SMTP server with its test certificate authority (`smtp`).

pub mod site;
pub mod smtp;

//! The weekly digest: the posts of one period, rendered from Handlebars templates into one
//! email per subscriber, sent through SMTP exactly once each (a ledger records every send).
//! Subscribers come from a file, or from the subscriber [`store`] when the site has one. Each
//! period sent is also kept as a web page in the site's [`archive`].

pub mod archive;
pub mod compose;
pub mod ledger;
pub mod links;
pub mod message;
pub mod pipeline;
pub mod render;
pub mod send;
pub mod settings;
pub mod smtp;
pub mod store;
pub mod subscribers;
pub mod token;
pub mod week;

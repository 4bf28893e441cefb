//! `gazette serve`, the subscription service of issue #14: sign-up with double opt-in,
//! one-click unsubscribe and preferences over HTTP ([`http`]), on a security core of pure
//! library code.
//!
//! What is here:
//!
//! - [`http`]: the service itself (routes, limits, security headers, graceful shutdown).
//! - [`pages`]: its pages and mails, from Handlebars templates a site can override.
//! - [`mail`]: its mails, through the digest's transport.
//! - [`links`]: the links it mails and the digests carry.
//! - [`token`]: signed, expiring, versioned tokens for the links the service mails (confirm a
//!   sign-up, unsubscribe, preferences), HMAC-SHA256 under the site's secret, checked in
//!   constant time; the unsubscribe tokens of digests already sent are still accepted.
//! - [`limit`]: rate limits per opaque key (a client's address, an email address), in a fixed
//!   amount of memory, with the clock injected.
//! - [`form`]: strict validation of the sign-up form, an error per field, and of `return_to`
//!   URLs, which may only lead back to the site itself.
//! - [`client`]: the client's address for rate limits, from a forwarding header only when the
//!   peer is a configured, trusted proxy.
//!
//! The service puts these together per request: [`client::ProxyTrust::client`] then [`client::limit_key`] into a
//! [`limit::Limiter`]; [`form::SignUpForm::parse`] and `validate`, then a second limiter keyed
//! by the address, before any confirmation is mailed; [`token::TokenKey::issue`] for the link,
//! [`token::TokenKey::verify`] (or [`token::TokenKey::verify_unsubscribe`]) when it is opened;
//! and [`form::SiteBase::check_return_to`] before any redirect.

pub mod client;
pub mod form;
pub mod http;
pub mod limit;
pub mod mail;
pub mod pages;

/// Signed links are the digest's (it issues them in every message); the service checks them.
pub use crate::digest::{links, token};

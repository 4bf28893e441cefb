//! The security core of `gazette serve`, the subscription service of issue #14: pure library
//! code, with no HTTP in it yet.
//!
//! What is here:
//!
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
//! What is still to come: the HTTP service itself (`gazette serve`: routes for sign-up,
//! confirmation, one-click unsubscribe and preferences, pages and their templates, request size
//! and time limits, security headers, graceful shutdown), its settings in the `digest:`
//! section, and its use of the subscriber store. The service is expected to put these together
//! per request: [`client::ProxyTrust::client`] then [`client::limit_key`] into a
//! [`limit::Limiter`]; [`form::SignUpForm::parse`] and `validate`, then a second limiter keyed
//! by the address, before any confirmation is mailed; [`token::TokenKey::issue`] for the link,
//! [`token::TokenKey::verify`] (or [`token::TokenKey::verify_unsubscribe`]) when it is opened;
//! and [`form::SiteBase::check_return_to`] before any redirect.

pub mod client;
pub mod form;
pub mod limit;
pub mod token;

//! The service's own mails (a confirmation link, or a preferences link for an address that is
//! subscribed already), sent through the digest's transport: its SMTP server, or `.eml` files
//! in its outbox when it has none.

use std::path::{Path, PathBuf};

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{Address, FileTransport, Message, Transport as _};

use crate::digest::settings::DigestSettings;
use crate::digest::smtp::{Outcome, Server, Session};

/// Where the service's mails go.
pub enum Mailer {
    /// The digest's SMTP server, one connection per mail.
    Smtp(Box<Server>),
    /// `.eml` files in the digest's outbox.
    Outbox(PathBuf),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Smtp(server) => write!(f, "Mailer::Smtp({})", server.address()),
            Mailer::Outbox(dir) => write!(f, "Mailer::Outbox({})", dir.display()),
        }
    }
}

/// Why a mail was not sent. The text names no address.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailError(pub String);

/// The sender and where the mails go.
#[derive(Debug)]
pub struct Outgoing {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    mailer: Mailer,
}

impl Outgoing {
    /// The digest's sender, reply address and transport, from its settings.
    pub fn new(site: &Path, settings: &DigestSettings) -> Result<Outgoing, MailError> {
        let from: Mailbox = settings
            .from
            .as_deref()
            .ok_or_else(|| {
                MailError(
                    "set the digest's sender, `digest: from:`: the service's mails need it".into(),
                )
            })?
            .parse()
            .map_err(|e| MailError(format!("gazette.digest.from: {e}")))?;
        let reply_to = settings
            .reply_to
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e| MailError(format!("gazette.digest.reply_to: {e}")))?;
        let mailer = match &settings.smtp {
            Some(smtp) => Mailer::Smtp(Box::new(
                Server::new(smtp, site).map_err(|f| MailError(f.message))?,
            )),
            None => Mailer::Outbox(site.join(&settings.outbox)),
        };
        Ok(Outgoing {
            from,
            reply_to,
            mailer,
        })
    }

    /// Where the mails go, in words: `via HOST:PORT` or `into OUTBOX`.
    pub fn destination(&self) -> String {
        match &self.mailer {
            Mailer::Smtp(server) => format!("via {}", server.address()),
            Mailer::Outbox(dir) => format!("into {}", dir.display()),
        }
    }

    /// Sends a plain-text mail to `to`; blocks until the server answered or the file is
    /// written.
    pub fn send(
        &self,
        to: &Address,
        name: Option<&str>,
        subject: &str,
        body: String,
    ) -> Result<(), MailError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name.map(str::to_string), to.clone()))
            .subject(subject)
            .date_now();
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let message = builder
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError(format!("cannot build the mail: {e}")))?;
        match &self.mailer {
            Mailer::Outbox(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    MailError(format!("cannot make the outbox {}: {e}", dir.display()))
                })?;
                FileTransport::new(dir)
                    .send(&message)
                    .map(|_| ())
                    .map_err(|e| MailError(format!("writing to the outbox: {e}")))
            }
            Mailer::Smtp(server) => {
                let mut session = Session::new(server);
                let outcome = session.send(message.envelope(), &message.formatted(), false);
                session.close();
                match outcome {
                    Ok(Outcome::Sent) => Ok(()),
                    // The server's words may quote the address: they are not passed on.
                    Ok(Outcome::Refused { permanent, .. }) => Err(MailError(format!(
                        "{} refused the mail ({})",
                        server.address(),
                        if permanent { "5xx" } else { "4xx" }
                    ))),
                    Ok(Outcome::Unknown(_)) => Err(MailError(format!(
                        "{} did not answer once the mail was handed over",
                        server.address()
                    ))),
                    Err(fatal) => Err(MailError(fatal.message)),
                }
            }
        }
    }
}

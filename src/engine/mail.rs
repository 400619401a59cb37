//! Email transports: SMTP through lettre when `SMTP_URL` is set, otherwise a log transport that
//! records the email in the log and reports it sent.

use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub enum Mailer {
    Log,
    Smtp(Box<Smtp>),
}

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    pub fn from_config(smtp_url: Option<&str>, from: &str) -> anyhow::Result<Mailer> {
        match smtp_url.filter(|u| !u.trim().is_empty()) {
            None => Ok(Mailer::Log),
            Some(url) => Ok(Mailer::Smtp(Box::new(Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build(),
                from: from.parse()?,
            }))),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Mailer::Log => "log",
            Mailer::Smtp(_) => "smtp",
        }
    }

    /// `message_id` is stable per (execution, node): receivers can drop a resent duplicate.
    pub async fn send(&self, to: &str, subject: &str, body: &str, message_id: &str) -> Result<(), String> {
        match self {
            Mailer::Log => {
                tracing::info!(to, subject, message_id, "email (log transport)");
                Ok(())
            }
            Mailer::Smtp(smtp) => {
                let Smtp { transport, from } = smtp.as_ref();
                let message = Message::builder()
                    .from(from.clone())
                    .to(to.parse().map_err(|e| format!("bad recipient {to:?}: {e}"))?)
                    .subject(subject)
                    .message_id(Some(format!("<{message_id}@intakeflow>")))
                    .header(ContentType::TEXT_PLAIN)
                    .body(body.to_owned())
                    .map_err(|e| e.to_string())?;
                transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
            }
        }
    }
}

//! Email transports: SMTP through lettre when `SMTP_URL` is set, otherwise a log transport that
//! records the email in the log and reports it sent.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
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

    /// `message_id` is stable per (execution, node): receivers can drop a resent duplicate. With
    /// `html`, the email is multipart/alternative (the text part first, as RFC 2046 orders them).
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        text: &str,
        html: Option<&str>,
        message_id: &str,
    ) -> Result<(), String> {
        match self {
            Mailer::Log => {
                // The subject only: bodies of account mail carry single-use links.
                tracing::info!(to, subject, message_id, multipart = html.is_some(), "email (log transport)");
                Ok(())
            }
            Mailer::Smtp(smtp) => {
                let Smtp { transport, from } = smtp.as_ref();
                let builder = Message::builder()
                    .from(from.clone())
                    .to(to.parse().map_err(|e| format!("bad recipient {to:?}: {e}"))?)
                    .subject(subject)
                    .message_id(Some(format!("<{message_id}@intakeflow>")));
                let message = match html {
                    Some(html) => {
                        builder.multipart(MultiPart::alternative_plain_html(text.to_owned(), html.to_owned()))
                    }
                    None => builder.header(ContentType::TEXT_PLAIN).body(text.to_owned()),
                };
                transport.send(message.map_err(|e| e.to_string())?).await.map(|_| ()).map_err(|e| e.to_string())
            }
        }
    }

    /// Sends `text` with a calendar file (`text/calendar; method=…`, RFC 6047) attached.
    pub async fn send_calendar(
        &self,
        to: &str,
        subject: &str,
        text: &str,
        (ics, method): (&str, &str),
        message_id: &str,
    ) -> Result<(), String> {
        match self {
            Mailer::Log => {
                tracing::info!(to, subject, message_id, method, "email with calendar file (log transport)");
                Ok(())
            }
            Mailer::Smtp(smtp) => {
                let Smtp { transport, from } = smtp.as_ref();
                let content_type = ContentType::parse(&format!("text/calendar; method={method}; charset=UTF-8"))
                    .map_err(|e| e.to_string())?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to.parse().map_err(|e| format!("bad recipient {to:?}: {e}"))?)
                    .subject(subject)
                    .message_id(Some(format!("<{message_id}@intakeflow>")))
                    .multipart(
                        MultiPart::mixed()
                            .singlepart(SinglePart::plain(text.to_owned()))
                            .singlepart(Attachment::new("invite.ics".into()).body(ics.to_owned(), content_type)),
                    )
                    .map_err(|e| e.to_string())?;
                transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
            }
        }
    }
}

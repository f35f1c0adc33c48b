//! The email channel: multipart text + HTML in French, the `.ics` attached, over SMTP with lettre (a pooled
//! connection, a timeout, TLS as configured). The Message-ID is derived from the outbox id, so that a retried
//! message is recognisable as the same one.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::SendError;
use super::messages::Email;
use crate::config::EmailSettings;

pub struct EmailChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl EmailChannel {
    /// `None` when no SMTP host is configured: the email channel is off.
    pub fn from_settings(settings: &EmailSettings) -> Result<Option<EmailChannel>, String> {
        if settings.smtp_host.is_empty() {
            return Ok(None);
        }
        let host = settings.smtp_host.as_str();
        let builder = match settings.tls.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            _ => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)),
        }
        .map_err(|e| format!("email.smtp_host {host:?}: {e}"))?;
        let mut builder = builder.port(settings.smtp_port).timeout(Some(Duration::from_secs(settings.timeout_secs)));
        if !settings.username.is_empty() {
            builder = builder.credentials(Credentials::new(settings.username.clone(), settings.password.clone()));
        }
        let from = settings.from.parse().map_err(|e| format!("email.from: {e}"))?;
        Ok(Some(EmailChannel { transport: builder.build(), from }))
    }

    /// Sends one email; the SMTP server's answer is the provider id.
    pub async fn send(&self, outbox_id: &str, to: &str, email: &Email) -> Result<String, SendError> {
        let permanent = |message: String| SendError { message, permanent: true };
        let to: Mailbox = to.parse().map_err(|e| permanent(format!("address refused: {e}")))?;
        let domain = self.from.email.domain().to_string();
        let alternative = MultiPart::alternative()
            .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(email.text.clone()))
            .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(email.html.clone()));
        let body = match &email.ics {
            None => MultiPart::mixed().multipart(alternative),
            Some(ics) => {
                let method = if ics.contains("METHOD:CANCEL") { "CANCEL" } else { "REQUEST" };
                let content_type = ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                    .expect("a valid content type");
                MultiPart::mixed()
                    .multipart(alternative)
                    .singlepart(Attachment::new("rendez-vous.ics".to_string()).body(ics.clone(), content_type))
            }
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{outbox_id}@{domain}>")))
            .multipart(body)
            .map_err(|e| permanent(format!("message: {e}")))?;
        match self.transport.send(message).await {
            Ok(response) => Ok(format!("{} {}", response.code(), response.message().collect::<Vec<_>>().join(" "))),
            Err(error) => Err(SendError { message: error.to_string(), permanent: error.is_permanent() }),
        }
    }
}

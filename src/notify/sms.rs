//! The SMS channel, speaking the OVHcloud SMS API: `POST {base_url}/1.0/sms/{service_name}/jobs`, signed as
//! OVHcloud signs every API call:
//!
//! `X-Ovh-Signature: "$1$" + sha1_hex(application_secret + "+" + consumer_key + "+" + METHOD + "+" + full URL +
//! "+" + body + "+" + timestamp)`,
//!
//! where the timestamp is the provider's clock (learnt once from `GET {base_url}/1.0/auth/time` and kept as an
//! offset from ours, as OVHcloud's own clients do: a request whose timestamp drifts is refused).
//!
//! If the provider accepts a job but its answer is lost (a timeout), the message is sent again at the next
//! attempt: the API has no idempotency key, and a patient told twice is better than a patient not told.
//!
//! Each SMS carries a validity period ending when the appointment starts: an operator that could only deliver
//! it late (an outage, a phone switched off) drops it rather than remind a patient of an appointment already
//! past.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use super::SendError;
use crate::config::SmsSettings;

pub struct SmsChannel {
    client: reqwest::Client,
    base_url: String,
    application_key: String,
    application_secret: String,
    consumer_key: String,
    service_name: String,
    sender: String,
    /// The provider's clock minus ours, in seconds; forgotten after a refusal, so that a drift is relearnt.
    time_offset: tokio::sync::Mutex<Option<i64>>,
}

/// The body of `POST /sms/{service_name}/jobs`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Job<'a> {
    message: &'a str,
    receivers: [&'a str; 1],
    sender: &'a str,
    /// Transactional messages carry no "STOP" line (it would eat into the two segments).
    no_stop_clause: bool,
    priority: &'static str,
    coding: &'static str,
    /// Minutes the operator keeps trying to deliver.
    validity_period: i64,
}

/// What OVHcloud answers a job.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobReceipt {
    #[serde(default)]
    ids: Vec<i64>,
    #[serde(default)]
    invalid_receivers: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ProviderError {
    message: String,
}

/// OVHcloud's default validity, two days, for messages not tied to an appointment still to come.
pub const DEFAULT_VALIDITY_MINUTES: i64 = 2880;

impl SmsChannel {
    /// `None` when `sms.provider = "none"`: the SMS channel is off.
    pub fn from_settings(settings: &SmsSettings) -> Result<Option<SmsChannel>, String> {
        if settings.provider != "ovh" {
            return Ok(None);
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs))
            .connect_timeout(Duration::from_secs(settings.timeout_secs))
            .user_agent(concat!("snp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("sms: the HTTP client could not be built: {e}"))?;
        Ok(Some(SmsChannel {
            client,
            base_url: settings.base_url.trim_end_matches('/').to_string(),
            application_key: settings.application_key.clone(),
            application_secret: settings.application_secret.clone(),
            consumer_key: settings.consumer_key.clone(),
            service_name: settings.service_name.clone(),
            sender: settings.sender.clone(),
            time_offset: tokio::sync::Mutex::new(None),
        }))
    }

    /// Sends one SMS to an E.164 number; the provider's job id is the answer.
    pub async fn send(&self, to: &str, text: &str, validity_minutes: i64) -> Result<String, SendError> {
        // Signed as it will travel: the parsed form (host lower-cased, default port dropped) is what is sent.
        let url = reqwest::Url::parse(&format!("{}/1.0/sms/{}/jobs", self.base_url, self.service_name))
            .map_err(|e| SendError { message: format!("sms.base_url: {e}"), permanent: true })?;
        let job = Job {
            message: text,
            receivers: [to],
            sender: &self.sender,
            no_stop_clause: true,
            priority: "high",
            coding: "7bit",
            validity_period: validity_minutes.clamp(1, DEFAULT_VALIDITY_MINUTES),
        };
        let body = serde_json::to_string(&job).expect("a job serialises");
        let (status, text) = match self.post(&url, &body).await? {
            // Our clock jumped since the offset was learnt: it is relearnt; ask again at once.
            (status, text)
                if status == StatusCode::BAD_REQUEST && text.to_ascii_lowercase().contains("out of time") =>
            {
                self.post(&url, &body).await?
            }
            answer => answer,
        };
        if !status.is_success() {
            let message = serde_json::from_str::<ProviderError>(&text).map(|e| e.message).unwrap_or(text);
            return Err(SendError {
                message: format!("OVHcloud {status}: {message}"),
                permanent: permanent(status, &message),
            });
        }
        let receipt: JobReceipt = serde_json::from_str(&text)
            .map_err(|e| transient(format!("OVHcloud answered {status} with an unreadable body: {e}")))?;
        if receipt.ids.is_empty() {
            let refused = !receipt.invalid_receivers.is_empty();
            let message = if refused { "OVHcloud refused the number" } else { "OVHcloud created no SMS" };
            return Err(SendError { message: message.into(), permanent: refused });
        }
        let ids: Vec<String> = receipt.ids.iter().map(i64::to_string).collect();
        Ok(format!("ovh:{}", ids.join(",")))
    }

    /// One signed POST; the status and the body of the answer. A refusal makes the time offset relearnt.
    async fn post(&self, url: &reqwest::Url, body: &str) -> Result<(StatusCode, String), SendError> {
        let timestamp = self.provider_now().await?;
        let response = self
            .client
            .post(url.clone())
            .header("Content-Type", "application/json")
            .header("X-Ovh-Application", &self.application_key)
            .header("X-Ovh-Consumer", &self.consumer_key)
            .header("X-Ovh-Timestamp", timestamp.to_string())
            .header("X-Ovh-Signature", self.signature("POST", url.as_str(), body, timestamp))
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| transient(format!("OVHcloud unreachable: {}", describe(&e))))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| transient(format!("OVHcloud: {}", describe(&e))))?;
        if status.is_client_error() {
            *self.time_offset.lock().await = None;
        }
        Ok((status, text))
    }

    /// `"$1$" + sha1_hex(AS+CK+METHOD+URL+BODY+TIMESTAMP)`, joined by "+".
    fn signature(&self, method: &str, url: &str, body: &str, timestamp: i64) -> String {
        let signed = format!("{}+{}+{method}+{url}+{body}+{timestamp}", self.application_secret, self.consumer_key);
        format!("$1${}", hex::encode(Sha1::digest(signed.as_bytes())))
    }

    /// The provider's clock now, in Unix seconds. This is the wall clock on purpose (not the engine's injected
    /// clock): it is compared with the provider's real one.
    async fn provider_now(&self) -> Result<i64, SendError> {
        let mut offset = self.time_offset.lock().await;
        if offset.is_none() {
            let url = format!("{}/1.0/auth/time", self.base_url);
            let response = self
                .client
                .get(&url)
                .send()
                .await
                .map_err(|e| transient(format!("OVHcloud unreachable (auth/time): {}", describe(&e))))?;
            let status = response.status();
            if !status.is_success() {
                return Err(transient(format!("OVHcloud auth/time answered {status}")));
            }
            let theirs: i64 =
                response.json().await.map_err(|e| transient(format!("OVHcloud auth/time: unreadable answer: {e}")))?;
            *offset = Some(theirs - unix_now());
        }
        Ok(unix_now() + offset.unwrap_or(0))
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn transient(message: String) -> SendError {
    SendError { message, permanent: false }
}

/// Whether asking again cannot help: only when the provider refuses this message's number. Everything else —
/// credentials or signature refused (an operator fixing the keys should not lose the messages meanwhile), a
/// drifting clock (the offset is relearnt), throttling, the provider's own failures — is retried until the
/// attempts run out.
fn permanent(status: StatusCode, message: &str) -> bool {
    matches!(status.as_u16(), 400 | 422) && message.to_ascii_lowercase().contains("receiver")
}

/// reqwest's errors, with their cause (a timeout, a refused connection) and without the URL's query.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    match std::error::Error::source(error) {
        Some(source) => format!("{kind} ({source})"),
        None => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_ovhcloud_s() {
        let settings = SmsSettings {
            provider: "ovh".into(),
            base_url: "https://eu.api.ovh.com/".into(),
            application_key: "ak".into(),
            application_secret: "EXEMPLE".into(),
            consumer_key: "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1".into(),
            service_name: "sms-ab12345-1".into(),
            sender: "SAS76".into(),
            timeout_secs: 5,
        };
        let channel = SmsChannel::from_settings(&settings).unwrap().unwrap();
        assert_eq!(channel.base_url, "https://eu.api.ovh.com");
        let url = "https://eu.api.ovh.com/1.0/sms/sms-ab12345-1/jobs";
        let body = r#"{"message":"x"}"#;
        // Computed independently (Python's hashlib) from the documented concatenation.
        let signature = channel.signature("POST", url, body, 1366560945);
        assert_eq!(signature, "$1$003fa44a9e6391d98ef3a5116208092a77ee7079");
        // The SHA-1 of a known input, so that the hex encoding itself is checked.
        assert_eq!(hex::encode(Sha1::digest(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn only_a_refused_number_is_permanent() {
        assert!(permanent(StatusCode::BAD_REQUEST, "Invalid receivers"));
        assert!(!permanent(StatusCode::BAD_REQUEST, "Query out of time"));
        assert!(!permanent(StatusCode::BAD_REQUEST, "Invalid signature"));
        assert!(!permanent(StatusCode::FORBIDDEN, "This credential does not exist"));
        assert!(!permanent(StatusCode::TOO_MANY_REQUESTS, "slow down"));
        assert!(!permanent(StatusCode::BAD_GATEWAY, ""));
    }
}

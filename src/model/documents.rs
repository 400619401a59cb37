//! Documents: a template's HTML body rendered once for a lead with the SEND_EMAIL variables
//! ([`super::templates::render_html`], auto-escaped) plus `variables` given at creation, then
//! frozen with the SHA-256 of its exact bytes. The status machine lives here so the API, the
//! portal and the workflow node all move a document the same way.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::FieldError;
use crate::model::enums::DocumentStatus;
use crate::model::templates;

/// Bodies larger than this are refused (a document is a proposal or a contract, not an archive).
pub const MAX_BODY_CHARS: usize = 500_000;

/// The lowercase hex SHA-256 of the content's UTF-8 bytes: what the client is shown, echoes when
/// signing, and the PDF prints.
pub fn sha256_hex(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

/// A template body's problems, named `field`: blank, too long, or not a template.
pub fn check_body(field: &str, body: &str) -> Result<(), FieldError> {
    if body.trim().is_empty() {
        return Err(FieldError::new(field, "must not be blank"));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(FieldError::new(field, format!("must be at most {MAX_BODY_CHARS} characters")));
    }
    templates::check(body).map_err(|e| FieldError::new(field, e))
}

/// Whether `variables` (given to `createDocument`) is usable: an object, or absent.
pub fn check_variables(field: &str, variables: &Value) -> Result<(), FieldError> {
    match variables {
        Value::Null | Value::Object(_) => Ok(()),
        _ => Err(FieldError::new(field, "must be a JSON object")),
    }
}

/// Frozen content: the rendered HTML and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frozen {
    pub html: String,
    pub sha256: String,
}

/// Renders a template body against a run's data (`lead`, `workspace`, …) with the caller's
/// `variables` under `variables` (`{{ variables.price }}`), HTML-escaped.
pub fn render(body: &str, data: &Value, variables: &Value) -> Result<Frozen, String> {
    let mut data = data.clone();
    if let Some(map) = data.as_object_mut() {
        map.insert(
            "variables".into(),
            if variables.is_null() { Value::Object(Default::default()) } else { variables.clone() },
        );
    }
    let html = templates::render_html(body, &data)?;
    let sha256 = sha256_hex(&html);
    Ok(Frozen { html, sha256 })
}

/// A document's moves. Each names the statuses it may start from; anything else is CONFLICT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// To the client (again, while they have not answered).
    Send,
    /// The client opened it in the portal (only the first open moves it).
    View,
    Sign,
    Decline,
    /// A member withdraws it.
    Void,
}

impl Transition {
    pub fn allowed_from(self, from: DocumentStatus) -> bool {
        use DocumentStatus as S;
        match self {
            Transition::Send => matches!(from, S::Draft | S::Sent | S::Viewed),
            Transition::View => matches!(from, S::Sent),
            Transition::Sign | Transition::Decline => matches!(from, S::Sent | S::Viewed),
            Transition::Void => matches!(from, S::Draft | S::Sent | S::Viewed | S::Declined),
        }
    }

    pub fn target(self) -> DocumentStatus {
        match self {
            Transition::Send => DocumentStatus::Sent,
            Transition::View => DocumentStatus::Viewed,
            Transition::Sign => DocumentStatus::Signed,
            Transition::Decline => DocumentStatus::Declined,
            Transition::Void => DocumentStatus::Void,
        }
    }

    /// What a refusal says ("a SIGNED document can't be voided").
    pub fn refusal(self, from: DocumentStatus) -> String {
        let verb = match self {
            Transition::Send => "sent",
            Transition::View => "viewed",
            Transition::Sign => "signed",
            Transition::Decline => "declined",
            Transition::Void => "voided",
        };
        format!("a {from} document can't be {verb}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_is_escaped_and_hashed() {
        let data = json!({ "lead": { "name": "<b>Ada</b>" } });
        let f = render("<p>{{ lead.name }} pays {{ variables.price }}</p>", &data, &json!({ "price": "5 & 6" }))
            .expect("renders");
        assert_eq!(f.html, "<p>&lt;b&gt;Ada&lt;&#x2f;b&gt; pays 5 &amp; 6</p>");
        assert_eq!(f.sha256, sha256_hex(&f.html));
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn moves() {
        use DocumentStatus as S;
        assert!(Transition::Send.allowed_from(S::Viewed));
        assert!(!Transition::Send.allowed_from(S::Signed));
        assert!(!Transition::Void.allowed_from(S::Signed));
        assert!(!Transition::Sign.allowed_from(S::Draft));
        assert!(!Transition::Sign.allowed_from(S::Signed));
        assert_eq!(Transition::Void.refusal(S::Signed), "a SIGNED document can't be voided");
        assert!(check_body("input.body", "{% if %}").is_err());
        assert!(check_variables("variables", &json!([1])).is_err());
    }
}

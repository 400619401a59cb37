//! Email templates: a subject, an HTML body and an optional text body, rendered with the same
//! variables as SEND_EMAIL's inline fields ([`super::templates`]). The HTML is auto-escaped; the
//! subject and text are not (they are not HTML). Without a text body, the text part is derived
//! from the rendered HTML, so every templated email goes out as multipart/alternative.

use serde_json::Value;
use uuid::Uuid;

use crate::error::FieldError;
use crate::model::templates;

/// Width the derived text part is wrapped at (a common plain-text mail width).
const TEXT_WIDTH: usize = 78;

/// The workspace setting (in `workspaces.settings`) that puts an open-tracking pixel in HTML
/// emails.
pub const OPEN_TRACKING_SETTING: &str = "emailOpenTracking";

/// Whether a workspace's settings turn open tracking on (off by default).
pub fn open_tracking(settings: &Value) -> bool {
    settings.get(OPEN_TRACKING_SETTING).and_then(Value::as_bool).unwrap_or(false)
}

/// What an open-tracking pixel's token starts with (`/e/o/{token}.gif`, one per message).
pub const OPEN_PIXEL_PREFIX: &str = "ifo_";

/// The digest a pixel token is stored and looked up by (SHA-256: the token has 256 random
/// bits, so a fast hash is enough and a leaked table names no working pixel).
pub fn open_token_digest(token: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

/// A stored template as rendering needs it.
#[derive(Debug, Clone)]
pub struct EmailTemplate {
    pub id: Uuid,
    pub subject: String,
    pub html: String,
    pub text: Option<String>,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Every template syntax problem, named `{prefix}subject`, `{prefix}html`, `{prefix}text`.
pub fn check(prefix: &str, subject: &str, html: &str, text: Option<&str>) -> Vec<FieldError> {
    let parts = [("subject", Some(subject)), ("html", Some(html)), ("text", text)];
    parts
        .into_iter()
        .filter_map(|(field, t)| Some((field, templates::check(t?).err()?)))
        .map(|(field, e)| FieldError::new(format!("{prefix}{field}"), e))
        .collect()
}

impl EmailTemplate {
    /// Renders against a run's data (`lead`, `workspace`, …); the error names the part.
    pub fn render(&self, data: &Value) -> Result<Rendered, String> {
        // A subject is one header line: a newline from a variable would end it.
        let subject = templates::render(&self.subject, data).map_err(|e| format!("subject: {e}"))?;
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let html = templates::render_html(&self.html, data).map_err(|e| format!("html: {e}"))?;
        let text = match &self.text {
            Some(t) if !t.trim().is_empty() => templates::render(t, data).map_err(|e| format!("text: {e}"))?,
            _ => text_of_html(&html),
        };
        Ok(Rendered { subject, html, text })
    }
}

/// The readable text of an HTML body (links as numbered references, entities decoded).
pub fn text_of_html(html: &str) -> String {
    match html2text::from_read(html.as_bytes(), TEXT_WIDTH) {
        Ok(text) => text.trim_end().to_owned(),
        // The parser accepts any input; should it ever refuse, drop the tags rather than send none.
        Err(_) => strip_tags(html),
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(text: Option<&str>) -> EmailTemplate {
        EmailTemplate {
            id: Uuid::nil(),
            subject: "Hi {{ lead.name }}".into(),
            html: "<p>Hello <b>{{ lead.name }}</b> &amp; welcome</p>".into(),
            text: text.map(str::to_owned),
        }
    }

    #[test]
    fn html_is_escaped_text_and_subject_are_not() {
        let data = json!({ "lead": { "name": "<script>x</script>" } });
        let r = template(Some("Hello {{ lead.name }}")).render(&data).expect("renders");
        assert_eq!(r.subject, "Hi <script>x</script>");
        assert_eq!(r.html, "<p>Hello <b>&lt;script&gt;x&lt;&#x2f;script&gt;</b> &amp; welcome</p>");
        assert_eq!(r.text, "Hello <script>x</script>");
    }

    #[test]
    fn a_missing_text_part_is_derived_from_the_html() {
        let r = template(None).render(&json!({ "lead": { "name": "Ada & Bo" } })).expect("renders");
        assert!(r.text.contains("Hello") && r.text.contains("Ada & Bo") && r.text.contains("& welcome"), "{r:?}");
        assert!(!r.text.contains("<p>") && !r.text.contains("&amp;"), "{r:?}");
    }

    #[test]
    fn syntax_errors_name_the_part() {
        let problems = check("input.", "{{ ok }}", "{% if %}", Some("{{ unclosed"));
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["input.html", "input.text"]);
    }
}

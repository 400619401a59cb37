//! Account emails (an invitation so far): subject, plain-text and HTML parts from templates here,
//! with links into the web app at `INTAKEFLOW_PUBLIC_URL`. The HTML part is auto-escaped, so a
//! workspace or person's name can't inject markup into someone else's inbox.

use chrono::{DateTime, Utc};
use minijinja::{Environment, context};

use crate::error::{AppError, AppResult};
use crate::model::enums::Role;

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

const INVITATION_TEXT: &str = "\
{{ inviter or \"Someone\" }} invited you to join {{ workspace }} on intakeflow as {{ role }}.

Accept the invitation:
{{ link }}

The link works once and expires on {{ expires }}. If you weren't expecting this, ignore it.
";

const INVITATION_HTML: &str = r#"<!doctype html>
<html><body style="font-family: sans-serif">
<p>{{ inviter or "Someone" }} invited you to join <strong>{{ workspace }}</strong> on intakeflow as {{ role }}.</p>
<p><a href="{{ link }}">Accept the invitation</a></p>
<p style="color: #666">The link works once and expires on {{ expires }}. If you weren't expecting this, ignore it.</p>
</body></html>
"#;

pub struct Invitation<'a> {
    pub public_url: &'a str,
    pub workspace: &'a str,
    pub inviter: Option<&'a str>,
    pub role: Role,
    pub token: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// The link an invitation email carries.
pub fn invitation_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/invitations/accept?token={token}")
}

pub fn invitation(mail: &Invitation<'_>) -> AppResult<Rendered> {
    let link = invitation_link(mail.public_url, mail.token);
    let values = |link: minijinja::Value| {
        context! {
            workspace => mail.workspace,
            inviter => mail.inviter,
            role => mail.role.to_string(),
            link => link,
            expires => mail.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    };
    // minijinja's HTML escaping also escapes `/`, which is valid in an attribute but makes the
    // link unreadable in the source; a URL needs only the attribute's own characters escaped.
    let html_link = minijinja::Value::from_safe_string(escape_attribute(&link));
    Ok(Rendered {
        subject: format!("Join {} on intakeflow", mail.workspace),
        text: render("invitation.txt", INVITATION_TEXT, &values(link.into()))?,
        html: render("invitation.html", INVITATION_HTML, &values(html_link))?,
    })
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&#39;")
}

/// The template's name picks the escaping: `.html` escapes, `.txt` doesn't.
fn render(name: &str, source: &str, values: &minijinja::Value) -> AppResult<String> {
    let mut env = Environment::new();
    env.add_template(name, source).map_err(AppError::internal)?;
    env.get_template(name).and_then(|t| t.render(values)).map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_part_escapes_names_and_both_parts_carry_the_link() {
        let mail = Invitation {
            public_url: "https://app.example.com",
            workspace: "<script>x</script> & Co",
            inviter: Some("Ada"),
            role: Role::Member,
            token: "ifi_abc",
            expires_at: Utc::now(),
        };
        let rendered = invitation(&mail).expect("renders");
        assert!(rendered.html.contains("&lt;script&gt;"), "{}", rendered.html);
        assert!(!rendered.html.contains("<script>"));
        assert!(rendered.text.contains("<script>x</script> & Co"));
        for part in [&rendered.text, &rendered.html] {
            assert!(part.contains("https://app.example.com/invitations/accept?token=ifi_abc"), "{part}");
        }
    }
}

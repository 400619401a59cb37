//! Account emails (invitations, password resets, address verification): subject, plain-text and
//! HTML parts from templates here, each carrying one single-use link into the web app at
//! `INTAKEFLOW_PUBLIC_URL`. The HTML part is auto-escaped, so a workspace or person's name can't
//! inject markup into someone else's inbox.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use minijinja::{Environment, context};
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult};
use crate::model::enums::Role;

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A mail's two bodies. Both see `link` and `expires`, plus the mail's own values.
struct Template {
    text: &'static str,
    html: &'static str,
}

const INVITATION: Template = Template {
    text: "\
{{ inviter or \"Someone\" }} invited you to join {{ workspace }} on intakeflow as {{ role }}.

Accept the invitation:
{{ link }}

The link works once and expires on {{ expires }}. If you weren't expecting this, ignore it.
",
    html: r#"<!doctype html>
<html><body style="font-family: sans-serif">
<p>{{ inviter or "Someone" }} invited you to join <strong>{{ workspace }}</strong> on intakeflow as {{ role }}.</p>
<p><a href="{{ link }}">Accept the invitation</a></p>
<p style="color: #666">The link works once and expires on {{ expires }}. If you weren't expecting this, ignore it.</p>
</body></html>
"#,
};

const PASSWORD_RESET: Template = Template {
    text: "\
Someone asked to reset the password of your intakeflow account ({{ email }}).

Choose a new password:
{{ link }}

The link works once and expires on {{ expires }}. If it wasn't you, ignore this email: your password stays as it is.
",
    html: r#"<!doctype html>
<html><body style="font-family: sans-serif">
<p>Someone asked to reset the password of your intakeflow account ({{ email }}).</p>
<p><a href="{{ link }}">Choose a new password</a></p>
<p style="color: #666">The link works once and expires on {{ expires }}. If it wasn't you, ignore this email: your password stays as it is.</p>
</body></html>
"#,
};

const EMAIL_VERIFICATION: Template = Template {
    text: "\
Confirm that {{ email }} is your address on intakeflow:
{{ link }}

The link works once and expires on {{ expires }}.
",
    html: r#"<!doctype html>
<html><body style="font-family: sans-serif">
<p><a href="{{ link }}">Confirm that {{ email }} is your address</a> on intakeflow.</p>
<p style="color: #666">The link works once and expires on {{ expires }}.</p>
</body></html>
"#,
};

/// Where the web app takes each link.
pub const INVITATION_PATH: &str = "/invitations/accept";
pub const PASSWORD_RESET_PATH: &str = "/reset-password";
pub const EMAIL_VERIFICATION_PATH: &str = "/verify-email";

pub struct Invitation<'a> {
    pub public_url: &'a str,
    pub workspace: &'a str,
    pub inviter: Option<&'a str>,
    pub role: Role,
    pub token: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub fn invitation(mail: &Invitation<'_>) -> AppResult<Rendered> {
    let values = context! { workspace => mail.workspace, inviter => mail.inviter, role => mail.role.to_string() };
    let link = link(mail.public_url, INVITATION_PATH, mail.token);
    let subject = format!("Join {} on intakeflow", mail.workspace);
    render(subject, &INVITATION, &link, mail.expires_at, values)
}

/// A mail about the account at `email` with a link to `path`: a reset or a verification.
pub struct AccountLink<'a> {
    pub public_url: &'a str,
    pub email: &'a str,
    pub token: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub fn password_reset(mail: &AccountLink<'_>) -> AppResult<Rendered> {
    let link = link(mail.public_url, PASSWORD_RESET_PATH, mail.token);
    let subject = "Reset your intakeflow password".to_owned();
    render(subject, &PASSWORD_RESET, &link, mail.expires_at, context! { email => mail.email })
}

pub fn email_verification(mail: &AccountLink<'_>) -> AppResult<Rendered> {
    let link = link(mail.public_url, EMAIL_VERIFICATION_PATH, mail.token);
    let subject = "Confirm your email address".to_owned();
    render(subject, &EMAIL_VERIFICATION, &link, mail.expires_at, context! { email => mail.email })
}

/// Puts a rendered mail in the outbox, in the caller's transaction; `secret` is the link's token,
/// erased from the stored copy once sent.
pub async fn queue(
    conn: &mut AsyncPgConnection,
    workspace_id: Option<Uuid>,
    to: &str,
    mail: &Rendered,
    secret: &str,
) -> AppResult<()> {
    let email = db::account_mail::NewAccountEmail {
        workspace_id,
        to_address: to,
        subject: &mail.subject,
        text: &mail.text,
        html: &mail.html,
        secret,
    };
    db::account_mail::queue(conn, email).await?;
    Ok(())
}

fn link(public_url: &str, path: &str, token: &str) -> String {
    format!("{public_url}{path}?token={token}")
}

fn render(
    subject: String,
    template: &Template,
    link: &str,
    expires_at: DateTime<Utc>,
    values: minijinja::Value,
) -> AppResult<Rendered> {
    let expires = expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
    // minijinja's HTML escaping also escapes `/`, which is valid in an attribute but makes the
    // link unreadable in the source; a URL needs only the attribute's own characters escaped.
    let html_link = minijinja::Value::from_safe_string(escape_attribute(link));
    let text_values = context! { link => link, expires => expires, ..values.clone() };
    let html_values = context! { link => html_link, expires => expires, ..values };
    Ok(Rendered {
        subject,
        text: render_one("mail.txt", template.text, &text_values)?,
        html: render_one("mail.html", template.html, &html_values)?,
    })
}

/// The template's name picks the escaping: `.html` escapes, `.txt` doesn't.
fn render_one(name: &str, source: &str, values: &minijinja::Value) -> AppResult<String> {
    let mut env = Environment::new();
    env.add_template(name, source).map_err(AppError::internal)?;
    env.get_template(name).and_then(|t| t.render(values)).map_err(AppError::internal)
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&#39;")
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

    #[test]
    fn reset_and_verification_mails_link_to_their_pages() {
        let mail =
            AccountLink { public_url: "https://app.example.com", email: "a@b.co", token: "t1", expires_at: Utc::now() };
        let reset = password_reset(&mail).expect("renders");
        assert!(reset.text.contains("https://app.example.com/reset-password?token=t1"), "{}", reset.text);
        assert!(reset.html.contains("a@b.co"));
        let verify = email_verification(&mail).expect("renders");
        assert!(verify.html.contains("href=\"https://app.example.com/verify-email?token=t1\""), "{}", verify.html);
    }
}

//! `{{lead.name}}`-style templates (minijinja), rendered against the execution's data.
//! Undefined variables render empty rather than failing, as mail-merge users expect.
//! One environment for every template; HTML bodies (email templates' `html`) are rendered with
//! auto-escaping on, everything else (plain-text bodies, subjects, URLs) without.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::Value;

fn environment_with(escape: AutoEscape) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(move |_| escape);
    env
}

fn environment() -> Environment<'static> {
    // Email bodies are plain text: no HTML escaping.
    environment_with(AutoEscape::None)
}

/// Renders an HTML template: every value put in with `{{ … }}` is HTML-escaped (a lead named
/// `<script>` comes out as `&lt;script&gt;`); `{{ x|safe }}` opts out.
pub fn render_html(template: &str, data: &Value) -> Result<String, String> {
    environment_with(AutoEscape::Html).render_str(template, data).map_err(|e| format!("template error: {e}"))
}

/// Whether a template parses.
pub fn check(template: &str) -> Result<(), String> {
    environment().template_from_str(template).map(|_| ()).map_err(|e| format!("template error: {e}"))
}

pub fn render(template: &str, data: &Value) -> Result<String, String> {
    environment().render_str(template, data).map_err(|e| format!("template error: {e}"))
}

/// Renders every string inside a JSON value (for HTTP bodies).
pub fn render_json(value: &Value, data: &Value) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(render(s, data)?),
        Value::Array(items) => Value::Array(items.iter().map(|v| render_json(v, data)).collect::<Result<_, _>>()?),
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| Ok((k.clone(), render_json(v, data)?))).collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_lead_and_custom_fields() {
        let data = json!({"lead": {"name": "Ada", "custom": {"budget": "5000"}}, "workspace": {"name": "Acme"}});
        assert_eq!(
            render("Hi {{lead.name}} from {{ workspace.name }}: {{lead.custom.budget}}", &data)
                .expect("test input is valid"),
            "Hi Ada from Acme: 5000"
        );
        assert_eq!(render("[{{ lead.missing.deeper }}]", &data).expect("test input is valid"), "[]");
        assert!(check("{{ unclosed").is_err());
        assert_eq!(
            render("<b>{{lead.name}}</b>", &json!({"lead": {"name": "<x>"}})).expect("test input is valid"),
            "<b><x></b>"
        );
        assert_eq!(
            render_html("<b>{{lead.name}}</b>", &json!({"lead": {"name": "<x>"}})).expect("test input is valid"),
            "<b>&lt;x&gt;</b>"
        );
    }
}

//! `{{lead.name}}`-style templates (minijinja), rendered against the execution's data.
//! Undefined variables render empty rather than failing, as mail-merge users expect.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    // Email bodies are plain text: no HTML escaping.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
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
    }
}

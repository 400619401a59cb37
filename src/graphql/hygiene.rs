//! Input hygiene at the edge: every string a GraphQL request carries (in its variables or as a
//! literal in the document) is checked once, before anything runs, for characters we can't store.
//!
//! PostgreSQL refuses NUL (U+0000) in `text` and `jsonb`, so a NUL that got through would surface
//! as an INTERNAL error deep in a service; refused here it is a BAD_USER_INPUT naming where it was.
//! (Rust strings can't hold lone surrogates, and every other character is storable.) Webhook bodies
//! get the same check through [`crate::model::text::first_nul_in_json`].

use async_graphql::Variables;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql_value::{ConstValue, Value};

use crate::error::AppError;
use crate::model::text::{NUL_MESSAGE, has_nul};

/// The first variable (as `$name.path[0]`) holding a NUL character.
pub fn check_variables(variables: &Variables) -> Result<(), AppError> {
    for (name, value) in variables.iter() {
        if let Some(path) = nul_in_const(value, format!("${name}")) {
            return Err(AppError::bad_input(path, NUL_MESSAGE));
        }
    }
    Ok(())
}

/// The first literal in the document holding a NUL character, named by its argument.
pub fn check_document(doc: &ExecutableDocument) -> Result<(), AppError> {
    let sets = doc
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .chain(doc.fragments.values().map(|f| &f.node.selection_set.node));
    for set in sets {
        if let Some(path) = nul_in_selections(set) {
            return Err(AppError::bad_input(path, NUL_MESSAGE));
        }
    }
    for (_, op) in doc.operations.iter() {
        for definition in &op.node.variable_definitions {
            let default = definition.node.default_value.as_ref().map(|d| &d.node);
            if let Some(path) = default.and_then(|v| nul_in_const(v, format!("${}", definition.node.name.node))) {
                return Err(AppError::bad_input(path, NUL_MESSAGE));
            }
        }
    }
    Ok(())
}

fn nul_in_selections(set: &SelectionSet) -> Option<String> {
    set.items.iter().find_map(|selection| match &selection.node {
        Selection::Field(field) => {
            let arguments =
                field.node.arguments.iter().chain(field.node.directives.iter().flat_map(|d| &d.node.arguments));
            arguments
                .into_iter()
                .find_map(|(name, value)| nul_in_value(&value.node, format!("{}.{}", field.node.name.node, name.node)))
                .or_else(|| nul_in_selections(&field.node.selection_set.node))
        }
        Selection::InlineFragment(inline) => nul_in_selections(&inline.node.selection_set.node),
        Selection::FragmentSpread(_) => None,
    })
}

fn nul_in_value(value: &Value, path: String) -> Option<String> {
    match value {
        Value::String(s) if has_nul(s) => Some(path),
        Value::List(items) => items.iter().enumerate().find_map(|(i, v)| nul_in_value(v, format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| nul_in_value(v, format!("{path}.{k}"))),
        _ => None,
    }
}

fn nul_in_const(value: &ConstValue, path: String) -> Option<String> {
    match value {
        ConstValue::String(s) if has_nul(s) => Some(path),
        ConstValue::List(items) => items.iter().enumerate().find_map(|(i, v)| nul_in_const(v, format!("{path}[{i}]"))),
        ConstValue::Object(fields) => fields.iter().find_map(|(k, v)| {
            let path = format!("{path}.{}", k.escape_debug());
            if has_nul(k) { Some(path) } else { nul_in_const(v, path) }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: AppError) -> String {
        match err {
            AppError::BadUserInput(fields) => fields[0].field.clone(),
            _ => panic!("expected bad input"),
        }
    }

    #[test]
    fn variables_are_checked_to_the_leaf() {
        let vars = Variables::from_json(serde_json::json!({
            "ok": "fine", "input": { "values": [{ "value": "a" }, { "value": "b\u{0}c" }] }
        }));
        assert_eq!(field_of(check_variables(&vars).expect_err("NUL refused")), "$input.values[1].value");
        assert!(check_variables(&Variables::from_json(serde_json::json!({ "x": "line\nbreak" }))).is_ok());
    }

    #[test]
    fn document_literals_are_checked_by_argument() {
        let doc = async_graphql::parser::parse_query(r#"mutation { createLead(input: { name: "a\u0000" }) { id } }"#)
            .expect("parses");
        assert_eq!(field_of(check_document(&doc).expect_err("NUL refused")), "createLead.input.name");
        let doc = async_graphql::parser::parse_query(r#"query($q: String = "\u0000") { me { id } }"#).expect("parses");
        assert_eq!(field_of(check_document(&doc).expect_err("NUL refused")), "$q");
        let doc = async_graphql::parser::parse_query(r#"{ me { id } }"#).expect("parses");
        assert!(check_document(&doc).is_ok());
    }
}

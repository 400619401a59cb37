//! The shared vocabulary: the API's enums, workflow graphs and node configurations, conditions,
//! templates, form field rules and input checks. Pure data and functions with no I/O, so every
//! layer may use it; it uses none of them (only [`crate::error`] for field errors).

pub mod availability;
pub mod conditions;
pub mod document_pdf;
pub mod documents;
pub mod email_templates;
pub mod enums;
pub mod event_catalogue;
pub mod field_rules;
pub mod global_id;
pub mod graph;
pub mod ics;
pub mod inbound_signatures;
pub mod integrations;
pub mod node_config;
pub mod payments;
pub mod phone;
pub mod portal;
pub mod templates;
pub mod text;
pub mod token;
pub mod validate;
pub mod webhook_signature;

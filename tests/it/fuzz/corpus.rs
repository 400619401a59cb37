//! The valid starting points the fuzzer mutates: one operation per area of the schema, each with
//! variables that make it succeed against the fixture (`Fixture`), and the nasty values mutations
//! put in their place.

use serde_json::{Value, json};

/// What the fixture created, for documents and variables to point at.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub token: String,
    pub workspace_id: String,
    pub workspace_slug: String,
    pub form_slug: String,
    pub lead_id: String,
    pub workflow_id: String,
    pub hook_token: String,
}

/// A document, its variables, and whether it is sent with the owner's token.
#[derive(Debug, Clone)]
pub struct Seed {
    pub query: &'static str,
    pub variables: Value,
    pub authenticated: bool,
}

/// Stands in for a lone UTF-16 surrogate, which a `serde_json::Value` cannot hold: the request
/// text gets the JSON escape `\ud800` in its place.
pub const LONE_SURROGATE: &str = "\u{E000}lone-surrogate\u{E000}";

const LEADS: &str = "query Leads($ws: ID!, $first: Int, $after: String, $last: Int, $filter: LeadFilterInput, $order: LeadOrderInput) {
  workspace(id: $ws) { id name leads(first: $first, after: $after, last: $last, filter: $filter, orderBy: $order) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id email name status priority createdAt } } } } }";

const FRAGMENTS: &str = "query Frag($ws: ID!) { workspace(id: $ws) { ...W } me { ...U } }
fragment W on Workspace { id name slug leads(first: 5) { nodes { ...L } } pipelineSummary { status count } }
fragment L on Lead { id email status assignee { ...U } }
fragment U on User { id email name }";

const NODE: &str = "query Node($id: ID!) { node(id: $id) { id __typename ... on Lead { email name status } ... on Workspace { name slug } ... on Workflow { name status } } }";

const CREATE_LEAD: &str = "mutation CreateLead($ws: ID!, $input: CreateLeadInput!) {
  createLead(workspaceId: $ws, input: $input) { id email name phone company status priority } }";

const UPDATE_LEAD: &str = "mutation UpdateLead($id: ID!, $input: UpdateLeadInput!) { updateLead(leadId: $id, input: $input) { id email name } }";

const SUBMIT: &str = "mutation Submit($ws: String!, $form: String!, $values: JSON!, $key: String) {
  submitForm(workspaceSlug: $ws, formSlug: $form, values: $values, idempotencyKey: $key) { submissionId replayed } }";

const CREATE_WORKSPACE: &str =
    "mutation CreateWorkspace($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id name slug } }";

const SAVE_GRAPH: &str = "mutation Save($id: ID!, $nodes: [WorkflowNodeInput!]!, $edges: [WorkflowEdgeInput!]!) {
  saveWorkflowGraph(workflowId: $id, nodes: $nodes, edges: $edges) { id status nodes { key type config } edges { sourceKey targetKey } } }";

const RUN: &str = "mutation Run($id: ID!, $input: JSON, $simulate: Boolean!, $key: String) {
  runWorkflow(workflowId: $id, input: $input, simulate: $simulate, idempotencyKey: $key) { id status simulate } }";

const PUBLIC_FORM: &str = "query Public($ws: String!, $form: String!) {
  publicForm(workspaceSlug: $ws, formSlug: $form) { name slug fields { key label type required options } } }";

const SUBSCRIBE: &str = "subscription Events($ws: ID!) { leadEvents(workspaceId: $ws) { cursor } }";

const LITERALS: &str = "{ me { id email workspaces { id name } } workspace(slug: \"fuzz-ws\") { id forms { id name } leads(first: 3, filter: { search: \"ada\", status: [NEW, WON], includeDeleted: true }) { totalCount } } }";

/// Every seed document with variables that work against `f`.
pub fn seeds(f: &Fixture) -> Vec<Seed> {
    let auth = |query, variables| Seed { query, variables, authenticated: true };
    let graph = json!([
        { "key": "start", "type": "WEBHOOK", "config": {} },
        { "key": "wait", "type": "DELAY", "config": { "minutes": 5 } },
        { "key": "note", "type": "ADD_NOTE", "config": { "text": "hello {{trigger.name}}" } }
    ]);
    vec![
        auth("query Me { me { id email name } }", json!({})),
        auth(
            LEADS,
            json!({ "ws": f.workspace_id, "first": 10, "filter": { "search": "ada", "status": ["NEW"], "priority": ["HIGH"],
                    "createdAfter": "2020-01-01T00:00:00Z" }, "order": { "field": "CREATED_AT", "direction": "ASC" } }),
        ),
        auth(LEADS, json!({ "ws": f.workspace_id, "last": 2, "after": "YXJyYXljb25uZWN0aW9uOjA=" })),
        auth(FRAGMENTS, json!({ "ws": f.workspace_id })),
        auth(NODE, json!({ "id": f.lead_id })),
        auth(NODE, json!({ "id": f.workspace_id })),
        auth(
            CREATE_LEAD,
            json!({ "ws": f.workspace_id, "input": { "email": "grace@example.com", "name": "Grace", "phone": "+44 20 7946 0000",
                    "company": "Navy", "status": "CONTACTED", "priority": "LOW" } }),
        ),
        auth(UPDATE_LEAD, json!({ "id": f.lead_id, "input": { "name": "Ada L.", "company": "Analytical" } })),
        Seed {
            query: SUBMIT,
            variables: json!({ "ws": f.workspace_slug, "form": f.form_slug,
                               "values": { "email": "sub@example.com", "budget": 5000, "notes": "hi" }, "key": "k-1" }),
            authenticated: false,
        },
        auth(
            CREATE_WORKSPACE,
            json!({ "input": { "name": "Fuzz Two", "slug": "fuzz-two", "intakeEmail": "in@example.com" } }),
        ),
        auth(
            SAVE_GRAPH,
            json!({ "id": f.workflow_id, "nodes": graph, "edges": [
            { "sourceKey": "start", "targetKey": "wait" }, { "sourceKey": "wait", "targetKey": "note", "sourceHandle": "default" } ] }),
        ),
        auth(RUN, json!({ "id": f.workflow_id, "input": { "name": "Ada" }, "simulate": true, "key": "run-1" })),
        Seed {
            query: PUBLIC_FORM,
            variables: json!({ "ws": f.workspace_slug, "form": f.form_slug }),
            authenticated: false,
        },
        auth(SUBSCRIBE, json!({ "ws": f.workspace_id })),
        auth(LITERALS, json!({})),
    ]
}

/// Values that have broken servers before: edges of every numeric type, wrong types, odd text.
pub fn nasty_values() -> Vec<Value> {
    vec![
        json!(2147483647),
        json!(2147483648_i64),
        json!(-1),
        json!(0),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e300),
        json!(-1e-300),
        json!(0.5),
        Value::Null,
        json!(true),
        json!(""),
        json!("\u{0}"),
        json!("a\u{0}b"),
        json!(LONE_SURROGATE),
        json!("\u{202E}txt.exe\u{200F}\u{FEFF}"),
        json!("😀👩‍👩‍👧‍👦𝕏"),
        json!("\u{FFFF}\u{1FFFF}\u{10FFFF}"),
        json!("' OR 1=1; --"),
        json!("%s%n{{trigger}}${x}"),
        json!("9999-12-31T23:59:59Z"),
        json!("-999999-01-01T00:00:00Z"),
        json!("YXJyYXljb25uZWN0aW9uOi0x"),
        json!("TGVhZDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA="),
        json!([]),
        json!([1, "two", null]),
        json!({}),
        json!({ "email": { "nested": [1] } }),
        json!([[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]),
    ]
}

/// Strings that are spliced into documents (inside and outside string literals).
pub const ODD_TEXT: &[&str] = &[
    "\\u0000",
    "\\uD800",
    "\\uDFFF\\uD800",
    "\u{202E}",
    "\u{200F}",
    "😀",
    "\u{0}",
    "\u{FEFF}",
    "\\",
    "\"",
    "\"\"\"",
    "#",
    "$",
    "...",
    "@skip(if: true)",
    "@include(if: $nope)",
    "__typename",
    "__schema { types { name } }",
    "{",
    "}",
    "(",
    ")",
    ":",
    "!",
    "[",
    "]",
    "=",
    "|",
    "&",
    "on",
    "fragment",
    "null",
    "-0",
    "1e309",
    "99999999999999999999",
];

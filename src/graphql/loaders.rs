//! Per-request dataloaders: every relation resolves through one of these, so a nested query costs
//! one SQL statement per level whatever the list sizes. Built per request (never shared), so one
//! tenant's cached rows can't reach another's request.

use std::collections::HashMap;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;

use crate::db::paging::{Page, Slice};
use crate::db::{self, Db};
use crate::error::AppError;

pub struct Loaders {
    db: Db,
}

impl Loaders {
    pub fn new(db: Db) -> DataLoader<Loaders> {
        DataLoader::new(Loaders { db }, tokio::spawn)
    }

    async fn conn(&self) -> Result<db::Conn, async_graphql::Error> {
        self.db.conn().await.map_err(|e| AppError::from(e).into_graphql())
    }
}

fn internal(err: diesel::result::Error) -> async_graphql::Error {
    AppError::from(err).into_graphql()
}

/// The request's loaders.
pub fn loaders<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a DataLoader<Loaders>> {
    ctx.data::<DataLoader<Loaders>>()
}

/// Loads one key, turning loader failures into GraphQL errors.
pub async fn load_or_internal<K>(
    ctx: &Context<'_>,
    key: K,
) -> async_graphql::Result<Option<<Loaders as Loader<K>>::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Loaders: Loader<K, Error = async_graphql::Error>,
{
    loaders(ctx)?.load_one(key).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub Uuid);

impl Loader<UserId> for Loaders {
    type Value = db::users::UserRow;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = db::users::find_many(&mut *self.conn().await?, &ids).await.map_err(internal)?;
        Ok(rows.into_iter().map(|r| (UserId(r.id), r)).collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkspaceId(pub Uuid);

impl Loader<WorkspaceId> for Loaders {
    type Value = db::workspaces::WorkspaceRow;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[WorkspaceId]) -> Result<HashMap<WorkspaceId, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = db::workspaces::find_many(&mut *self.conn().await?, &ids).await.map_err(internal)?;
        Ok(rows.into_iter().map(|r| (WorkspaceId(r.id), r)).collect())
    }
}

/// One page of a parent's children, optionally only those whose `status` is `only`; keys with
/// equal pages share one statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChildPage<const LIST: u8> {
    pub parent: Uuid,
    pub page: Page,
    pub only: Option<&'static str>,
}

impl<const L: u8> ChildPage<L> {
    pub fn new(parent: Uuid, page: Page) -> Self {
        ChildPage { parent, page, only: None }
    }
}

pub const MEMBERS: u8 = 0;
pub const API_KEYS: u8 = 1;
pub const FORMS: u8 = 2;
pub const SUBMISSIONS_BY_FORM: u8 = 3;
pub const SUBMISSIONS_BY_LEAD: u8 = 4;
pub const EVENTS_BY_LEAD: u8 = 5;
pub const WORKFLOWS: u8 = 6;
pub const EXECUTIONS: u8 = 7;
pub const INVITATIONS: u8 = 8;
// Numbered apart from the others: the numbers only need to differ, and a gap keeps lists added
// on other branches from taking the same one.
pub const INTEGRATIONS: u8 = 20;
pub const EVENTS_BY_INTEGRATION: u8 = 21;
pub const DELIVERIES_BY_ENDPOINT: u8 = 22;

type PageGroup<'a> = (&'a Page, Option<&'static str>);

fn group_by_page<const L: u8>(keys: &[ChildPage<L>]) -> HashMap<PageGroup<'_>, Vec<Uuid>> {
    let mut groups: HashMap<PageGroup<'_>, Vec<Uuid>> = HashMap::new();
    for key in keys {
        groups.entry((&key.page, key.only)).or_default().push(key.parent);
    }
    groups
}

macro_rules! child_page_loader {
    ($list:ident, $row:ty, $spec:path) => {
        child_page_loader!($list, $row, $spec, |r: $row| r);
    };
    ($list:ident, $row:ty, $spec:path, $unwrap:expr) => {
        impl Loader<ChildPage<$list>> for Loaders {
            type Value = Slice<<$row as Unwrap>::Inner>;
            type Error = async_graphql::Error;

            async fn load(
                &self,
                keys: &[ChildPage<$list>],
            ) -> Result<HashMap<ChildPage<$list>, Self::Value>, Self::Error> {
                let mut conn = self.conn().await?;
                let mut out = HashMap::new();
                for ((page, only), parents) in group_by_page(keys) {
                    let slices = $spec
                        .load_where::<$row>(&mut conn, &parents, page, only.map(|v| ("status", v)))
                        .await
                        .map_err(internal)?;
                    for (parent, slice) in slices {
                        out.insert(ChildPage { parent, page: page.clone(), only }, slice.map($unwrap));
                    }
                }
                Ok(out)
            }
        }
    };
}

/// Rows paged under a parent through a newtype yield the inner row.
pub trait Unwrap {
    type Inner;
}

impl Unwrap for db::members::MemberRow {
    type Inner = Self;
}
impl Unwrap for db::api_keys::ApiKeyRow {
    type Inner = Self;
}
impl Unwrap for db::invitations::InvitationRow {
    type Inner = Self;
}
impl Unwrap for db::forms::FormRow {
    type Inner = Self;
}
impl Unwrap for db::lead_events::LeadEventRow {
    type Inner = Self;
}
impl Unwrap for db::workflows::WorkflowRow {
    type Inner = Self;
}
impl Unwrap for db::executions::ExecutionRow {
    type Inner = Self;
}
impl Unwrap for db::integrations::IntegrationRow {
    type Inner = Self;
}
impl Unwrap for db::webhook_events::WebhookEventRow {
    type Inner = Self;
}
impl Unwrap for db::webhook_deliveries::PagedDelivery {
    type Inner = db::webhook_deliveries::Delivery;
}
impl Unwrap for db::submissions::ByForm {
    type Inner = db::submissions::SubmissionRow;
}
impl Unwrap for db::submissions::ByLead {
    type Inner = db::submissions::SubmissionRow;
}

child_page_loader!(MEMBERS, db::members::MemberRow, db::members::BY_WORKSPACE);
child_page_loader!(API_KEYS, db::api_keys::ApiKeyRow, db::api_keys::BY_WORKSPACE);
child_page_loader!(INVITATIONS, db::invitations::InvitationRow, db::invitations::OPEN_BY_WORKSPACE);
child_page_loader!(FORMS, db::forms::FormRow, db::forms::BY_WORKSPACE);
child_page_loader!(WORKFLOWS, db::workflows::WorkflowRow, db::workflows::BY_WORKSPACE);
child_page_loader!(EXECUTIONS, db::executions::ExecutionRow, db::executions::BY_WORKFLOW);
child_page_loader!(EVENTS_BY_LEAD, db::lead_events::LeadEventRow, db::lead_events::BY_LEAD);
child_page_loader!(INTEGRATIONS, db::integrations::IntegrationRow, db::integrations::BY_WORKSPACE);
child_page_loader!(EVENTS_BY_INTEGRATION, db::webhook_events::WebhookEventRow, db::webhook_events::BY_INTEGRATION);
child_page_loader!(
    DELIVERIES_BY_ENDPOINT,
    db::webhook_deliveries::PagedDelivery,
    db::webhook_deliveries::BY_ENDPOINT,
    db::webhook_deliveries::PagedDelivery::into_delivery
);
child_page_loader!(
    SUBMISSIONS_BY_FORM,
    db::submissions::ByForm,
    db::submissions::BY_FORM,
    |r: db::submissions::ByForm| r.0
);
child_page_loader!(
    SUBMISSIONS_BY_LEAD,
    db::submissions::ByLead,
    db::submissions::BY_LEAD,
    |r: db::submissions::ByLead| r.0
);

macro_rules! by_id_loader {
    ($key:ident, $row:ty, $find:path) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl Loader<$key> for Loaders {
            type Value = $row;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let rows = $find(&mut *self.conn().await?, &ids).await.map_err(internal)?;
                Ok(rows.into_iter().map(|r| ($key(r.id), r)).collect())
            }
        }
    };
}

by_id_loader!(FormId, db::forms::FormRow, db::forms::find_many);
by_id_loader!(LeadId, db::leads::LeadRow, db::leads::find_many);
by_id_loader!(WorkflowId, db::workflows::WorkflowRow, db::workflows::find_many);
by_id_loader!(PipelineId, db::pipelines::PipelineRow, db::pipelines::find_many);
by_id_loader!(StageId, db::pipelines::StageRow, db::pipelines::find_stages);
by_id_loader!(BookingTypeId, db::booking_types::BookingTypeRow, db::booking_types::find_many);
by_id_loader!(EmailTemplateId, db::email_templates::EmailTemplateRow, db::email_templates::find_many);

macro_rules! many_by_parent_loader {
    ($key:ident, $row:ty, $find:path, $parent:ident) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl Loader<$key> for Loaders {
            type Value = Vec<$row>;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let rows = $find(&mut *self.conn().await?, &ids).await.map_err(internal)?;
                let mut out: HashMap<$key, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
                for row in rows {
                    out.entry($key(row.$parent)).or_default().push(row);
                }
                Ok(out)
            }
        }
    };
}

many_by_parent_loader!(NodesOfWorkflow, db::workflows::NodeRow, db::workflows::nodes_of, workflow_id);
many_by_parent_loader!(EdgesOfWorkflow, db::workflows::EdgeRow, db::workflows::edges_of, workflow_id);
many_by_parent_loader!(VersionsOfWorkflow, db::workflows::VersionRow, db::workflows::versions_of, workflow_id);
many_by_parent_loader!(StagesOfPipeline, db::pipelines::StageRow, db::pipelines::stages_of, pipeline_id);
many_by_parent_loader!(PlacementsOfLead, db::placements::PlacementRow, db::placements::of_leads, lead_id);
many_by_parent_loader!(BookingsOfLead, db::bookings::BookingRow, db::bookings::of_leads, lead_id);
many_by_parent_loader!(PaymentsOfLead, db::payments::PaymentRow, db::payments::of_leads, lead_id);
many_by_parent_loader!(DocumentsOfLead, db::documents::DocumentRow, db::documents::of_leads, lead_id);
many_by_parent_loader!(SignatureOfDocument, db::documents::SignatureRow, db::documents::signatures_of, document_id);
many_by_parent_loader!(PortalLinksOfLead, db::portal_links::PortalLinkRow, db::portal_links::of_leads, lead_id);
many_by_parent_loader!(StepsOfExecution, db::executions::StepRow, db::executions::steps_of, execution_id);
many_by_parent_loader!(
    AttemptsOfDelivery,
    db::webhook_deliveries::AttemptRow,
    db::webhook_deliveries::attempts_of,
    delivery_id
);

/// A lead's emails in the mail log, newest first (an email's lead is optional, so not
/// [`many_by_parent_loader`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EmailsOfLead(pub Uuid);

impl Loader<EmailsOfLead> for Loaders {
    type Value = Vec<db::email_log::LoggedEmail>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[EmailsOfLead]) -> Result<HashMap<EmailsOfLead, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = db::email_log::of_leads(&mut *self.conn().await?, &ids).await.map_err(internal)?;
        let mut out: HashMap<EmailsOfLead, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            if let Some(lead) = row.lead_id {
                out.entry(EmailsOfLead(lead)).or_default().push(row);
            }
        }
        Ok(out)
    }
}

/// A member's availability schedule: (workspace, user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScheduleOf(pub Uuid, pub Uuid);

impl Loader<ScheduleOf> for Loaders {
    type Value = db::booking_types::ScheduleRow;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[ScheduleOf]) -> Result<HashMap<ScheduleOf, Self::Value>, Self::Error> {
        let pairs: Vec<(Uuid, Uuid)> = keys.iter().map(|k| (k.0, k.1)).collect();
        let rows = db::booking_types::schedules_of_pairs(&mut *self.conn().await?, &pairs).await.map_err(internal)?;
        Ok(rows.into_iter().map(|r| (ScheduleOf(r.workspace_id, r.user_id), r)).collect())
    }
}

/// One page of a board column: a stage's leads under a filter, most recently placed first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeadsInStage {
    pub stage: Uuid,
    pub page: Page,
    pub filter: db::leads::LeadFilter,
}

impl Loader<LeadsInStage> for Loaders {
    type Value = Slice<(db::leads::LeadRow, chrono::DateTime<chrono::Utc>)>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[LeadsInStage]) -> Result<HashMap<LeadsInStage, Self::Value>, Self::Error> {
        let mut conn = self.conn().await?;
        let mut groups: HashMap<(&Page, &db::leads::LeadFilter), Vec<Uuid>> = HashMap::new();
        for k in keys {
            groups.entry((&k.page, &k.filter)).or_default().push(k.stage);
        }
        let mut out = HashMap::new();
        for ((page, filter), stages) in groups {
            let slices = db::placements::page_per_stage(&mut conn, &stages, filter, page).await.map_err(internal)?;
            for (stage, slice) in slices {
                out.insert(LeadsInStage { stage, page: page.clone(), filter: filter.clone() }, slice);
            }
        }
        Ok(out)
    }
}

/// A page of an execution's log lines after a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogsOfExecution {
    pub execution: Uuid,
    pub after: i64,
    pub limit: i64,
}

impl Loader<LogsOfExecution> for Loaders {
    type Value = Vec<db::execution_logs::LogRow>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[LogsOfExecution]) -> Result<HashMap<LogsOfExecution, Self::Value>, Self::Error> {
        let mut conn = self.conn().await?;
        let mut groups: HashMap<(i64, i64), Vec<Uuid>> = HashMap::new();
        for k in keys {
            groups.entry((k.after, k.limit)).or_default().push(k.execution);
        }
        let mut out: HashMap<LogsOfExecution, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for ((after, limit), ids) in groups {
            for row in db::execution_logs::page_per_execution(&mut conn, &ids, after, limit).await.map_err(internal)? {
                out.entry(LogsOfExecution { execution: row.execution_id, after, limit }).or_default().push(row);
            }
        }
        Ok(out)
    }
}

/// A form's fields in position order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldsOfForm(pub Uuid);

impl Loader<FieldsOfForm> for Loaders {
    type Value = Vec<db::forms::FieldRow>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[FieldsOfForm]) -> Result<HashMap<FieldsOfForm, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = db::forms::fields_of(&mut *self.conn().await?, &ids).await.map_err(internal)?;
        let mut out: HashMap<FieldsOfForm, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(FieldsOfForm(row.form_id)).or_default().push(row);
        }
        Ok(out)
    }
}

/// A lead's stored field values, each with its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValuesOfLead(pub Uuid);

impl Loader<ValuesOfLead> for Loaders {
    type Value = Vec<(db::field_values::FieldValueRow, db::forms::FieldRow)>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[ValuesOfLead]) -> Result<HashMap<ValuesOfLead, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = db::field_values::of_leads(&mut *self.conn().await?, &ids).await.map_err(internal)?;
        let mut out: HashMap<ValuesOfLead, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for (value, field) in rows {
            out.entry(ValuesOfLead(value.lead_id)).or_default().push((value, field));
        }
        Ok(out)
    }
}

/// `totalCount` of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CountKey {
    MembersOf(Uuid),
    ApiKeysOf(Uuid),
    OpenInvitationsOf(Uuid),
    WorkspacesOfUser(Uuid),
    FormsOf(Uuid, Option<crate::model::enums::FormStatus>),
    SubmissionsOfForm(Uuid),
    SubmissionsOfLead(Uuid),
    EventsOfLead(Uuid),
    WorkflowsOf(Uuid, Option<crate::model::enums::WorkflowStatus>),
    ExecutionsOf(Uuid, Option<crate::model::enums::ExecutionStatus>),
    IntegrationsOf(Uuid),
    EventsOfIntegration(Uuid),
    /// An endpoint's deliveries, optionally of one status.
    DeliveriesOf(Uuid, Option<&'static str>),
    /// A stage's leads under a filter (a board column).
    LeadsInStage(Uuid, db::leads::LeadFilter),
}

impl Loader<CountKey> for Loaders {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[CountKey]) -> Result<HashMap<CountKey, i64>, Self::Error> {
        let mut conn = self.conn().await?;
        let mut out = HashMap::new();
        let pick = |f: fn(&CountKey) -> Option<Uuid>| keys.iter().filter_map(f).collect::<Vec<_>>();
        let members = pick(|k| if let CountKey::MembersOf(id) = k { Some(*id) } else { None });
        if !members.is_empty() {
            for (id, n) in db::members::count_by_workspace(&mut conn, &members).await.map_err(internal)? {
                out.insert(CountKey::MembersOf(id), n);
            }
        }
        let invited = pick(|k| if let CountKey::OpenInvitationsOf(id) = k { Some(*id) } else { None });
        if !invited.is_empty() {
            for (id, n) in db::invitations::count_open_by_workspace(&mut conn, &invited).await.map_err(internal)? {
                out.insert(CountKey::OpenInvitationsOf(id), n);
            }
        }
        let keys_of = pick(|k| if let CountKey::ApiKeysOf(id) = k { Some(*id) } else { None });
        if !keys_of.is_empty() {
            for (id, n) in db::api_keys::count_by_workspace(&mut conn, &keys_of).await.map_err(internal)? {
                out.insert(CountKey::ApiKeysOf(id), n);
            }
        }
        let mut status_groups: HashMap<Option<crate::model::enums::FormStatus>, Vec<Uuid>> = HashMap::new();
        for k in keys {
            if let CountKey::FormsOf(ws, status) = k {
                status_groups.entry(*status).or_default().push(*ws);
            }
        }
        for (status, workspaces) in status_groups {
            for (id, n) in db::forms::count_by_workspace(&mut conn, &workspaces, status).await.map_err(internal)? {
                out.insert(CountKey::FormsOf(id, status), n);
            }
        }
        let by_form = pick(|k| if let CountKey::SubmissionsOfForm(id) = k { Some(*id) } else { None });
        if !by_form.is_empty() {
            for (id, n) in db::submissions::count_by(&mut conn, true, &by_form).await.map_err(internal)? {
                out.insert(CountKey::SubmissionsOfForm(id), n);
            }
        }
        let by_lead = pick(|k| if let CountKey::SubmissionsOfLead(id) = k { Some(*id) } else { None });
        if !by_lead.is_empty() {
            for (id, n) in db::submissions::count_by(&mut conn, false, &by_lead).await.map_err(internal)? {
                out.insert(CountKey::SubmissionsOfLead(id), n);
            }
        }
        let events = pick(|k| if let CountKey::EventsOfLead(id) = k { Some(*id) } else { None });
        if !events.is_empty() {
            for (id, n) in db::lead_events::count_by_lead(&mut conn, &events).await.map_err(internal)? {
                out.insert(CountKey::EventsOfLead(id), n);
            }
        }
        let mut wf_groups: HashMap<Option<crate::model::enums::WorkflowStatus>, Vec<Uuid>> = HashMap::new();
        let mut ex_groups: HashMap<Option<crate::model::enums::ExecutionStatus>, Vec<Uuid>> = HashMap::new();
        let mut delivery_groups: HashMap<Option<&'static str>, Vec<Uuid>> = HashMap::new();
        for k in keys {
            match k {
                CountKey::WorkflowsOf(ws, s) => wf_groups.entry(*s).or_default().push(*ws),
                CountKey::ExecutionsOf(wf, s) => ex_groups.entry(*s).or_default().push(*wf),
                CountKey::DeliveriesOf(endpoint, s) => delivery_groups.entry(*s).or_default().push(*endpoint),
                _ => {}
            }
        }
        for (status, ids) in wf_groups {
            for (id, n) in db::workflows::count_by_workspace(&mut conn, &ids, status).await.map_err(internal)? {
                out.insert(CountKey::WorkflowsOf(id, status), n);
            }
        }
        for (status, ids) in ex_groups {
            for (id, n) in db::executions::count_by_workflow(&mut conn, &ids, status).await.map_err(internal)? {
                out.insert(CountKey::ExecutionsOf(id, status), n);
            }
        }
        for (status, ids) in delivery_groups {
            for (id, n) in db::webhook_deliveries::count_by_endpoint(&mut conn, &ids, status).await.map_err(internal)? {
                out.insert(CountKey::DeliveriesOf(id, status), n);
            }
        }
        let mut stage_groups: HashMap<&db::leads::LeadFilter, Vec<Uuid>> = HashMap::new();
        for k in keys {
            if let CountKey::LeadsInStage(stage, filter) = k {
                stage_groups.entry(filter).or_default().push(*stage);
            }
        }
        for (filter, stages) in stage_groups {
            let counts = db::placements::count_per_stage(&mut conn, &stages, filter).await.map_err(internal)?;
            let counted: HashMap<Uuid, i64> = counts.into_iter().collect();
            for stage in stages {
                out.insert(CountKey::LeadsInStage(stage, filter.clone()), counted.get(&stage).copied().unwrap_or(0));
            }
        }
        let integrations = pick(|k| if let CountKey::IntegrationsOf(id) = k { Some(*id) } else { None });
        if !integrations.is_empty() {
            for (id, n) in db::integrations::count_by_workspace(&mut conn, &integrations).await.map_err(internal)? {
                out.insert(CountKey::IntegrationsOf(id), n);
            }
        }
        let inbound = pick(|k| if let CountKey::EventsOfIntegration(id) = k { Some(*id) } else { None });
        if !inbound.is_empty() {
            for (id, n) in db::webhook_events::count_by_integration(&mut conn, &inbound).await.map_err(internal)? {
                out.insert(CountKey::EventsOfIntegration(id), n);
            }
        }
        for user in pick(|k| if let CountKey::WorkspacesOfUser(id) = k { Some(*id) } else { None }) {
            let n = db::workspaces::count_for_user(&mut conn, user).await.map_err(internal)?;
            out.insert(CountKey::WorkspacesOfUser(user), n);
        }
        Ok(out)
    }
}

//! `Workspace`: members, API keys, forms, workflows and the lead pipeline.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::db::leads::LeadOrder;
use crate::db::paging::ChildRow;
use crate::db::workspaces::WorkspaceRow;
use crate::domain::access;
use crate::error::AppError;
use crate::graphql::loaders::FORMS;
use crate::graphql::loaders::{API_KEYS, CountKey, INVITATIONS, MEMBERS};
use crate::graphql::relay::expect_id;
use crate::graphql::relay::{self, Conn, Kind};
use crate::graphql::types::{
    ApiKey, Form, Invitation, Lead, PipelineStatusCount, SecurityEvent, SecurityEventFilter, SecurityEventTotals,
    WebhookEndpoint, WorkspaceMember,
};
use crate::model::enums::FormStatus;
use crate::model::enums::Role;

/// A tenant: a firm's own space. Everything else belongs to exactly one workspace.
pub struct Workspace {
    pub row: WorkspaceRow,
    /// The caller's role here; objects under this workspace inherit the access check.
    pub role: Role,
}

from_visible!(Workspace, WorkspaceRow);

#[Object]
impl Workspace {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Workspace, self.row.id)
    }

    async fn name(&self) -> &str {
        &self.row.name
    }

    /// URL-safe unique name, used in public form addresses.
    async fn slug(&self) -> &str {
        &self.row.slug
    }

    async fn intake_email(&self) -> Option<&str> {
        self.row.intake_email.as_deref()
    }

    /// The code of the plan the workspace is on (`subscription.plan` has the details).
    async fn plan(&self) -> &str {
        &self.row.plan
    }

    /// The workspace's plan and billing period.
    async fn subscription(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<crate::graphql::types::WorkspaceSubscription> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let (row, plan) = crate::domain::plans::subscription(&mut conn, caller, self.row.id).await?;
        Ok(crate::graphql::types::WorkspaceSubscription { row, plan })
    }

    /// Each quota of the plan with what is used of it.
    async fn usage(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<crate::graphql::types::QuotaUsage>> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let rows = crate::domain::quotas::usage(&mut conn, caller, self.row.id).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The usage log, newest first: counted actions and those a quota refused or skipped.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn usage_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::types::UsageEventFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<relay::PlainConn<crate::graphql::types::UsageEvent>> {
        let page = relay::page(first, after, last, before)?;
        let category = filter.unwrap_or_default().category;
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let slice = crate::domain::quotas::events(&mut conn, caller, self.row.id, category.as_deref(), &page).await?;
        drop(conn);
        Ok(relay::plain_connection(slice, |row| row.cursor(), crate::graphql::types::UsageEvent))
    }

    /// The IANA zone whose days `stats` and workflow `reports` count.
    async fn time_zone(&self) -> &str {
        &self.row.time_zone
    }

    /// Activity per day, week (from Monday) or month over the workspace's days `from` through
    /// `to`, every period present (zeros where nothing happened). At most about 400 periods.
    async fn stats(
        &self,
        ctx: &Context<'_>,
        from: crate::graphql::types::Date,
        to: crate::graphql::types::Date,
        #[graphql(default_with = "crate::model::enums::StatsPeriod::Day")]
        granularity: crate::model::enums::StatsPeriod,
    ) -> async_graphql::Result<Vec<crate::graphql::types::StatsPoint>> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let rows =
            crate::domain::stats::workspace_series(&mut conn, caller, self.row.id, (from.0, to.0), granularity).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }

    /// Your role in this workspace.
    async fn viewer_role(&self) -> Role {
        self.role
    }

    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<WorkspaceMember>> {
        let page = relay::page(first, after, last, before)?;
        let totals = CountKey::MembersOf(self.row.id);
        relay::children::<MEMBERS, _, _>(ctx, (self.row.id, None), page, totals, ChildRow::cursor, WorkspaceMember)
            .await
    }

    /// API keys (never their secrets). Needs ADMIN.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<ApiKey>> {
        access::ensure(self.role, Role::Admin)?;
        let page = relay::page(first, after, last, before)?;
        let totals = CountKey::ApiKeysOf(self.row.id);
        relay::children::<API_KEYS, _, _>(ctx, (self.row.id, None), page, totals, ChildRow::cursor, ApiKey).await
    }

    /// Invitations not yet accepted or revoked (expired ones too, until resent), oldest first.
    /// Needs ADMIN.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<Invitation>> {
        access::ensure(self.role, Role::Admin)?;
        let page = relay::page(first, after, last, before)?;
        let totals = CountKey::OpenInvitationsOf(self.row.id);
        relay::children::<INVITATIONS, _, _>(ctx, (self.row.id, None), page, totals, ChildRow::cursor, Invitation).await
    }

    /// Forms, oldest first, optionally of one status.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn forms(
        &self,
        ctx: &Context<'_>,
        status: Option<FormStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<Form>> {
        let page = relay::page(first, after, last, before)?;
        let (role, only) = (self.role, status.map(FormStatus::as_str));
        let totals = CountKey::FormsOf(self.row.id, status);
        relay::children::<FORMS, _, _>(ctx, (self.row.id, only), page, totals, ChildRow::cursor, |row| Form {
            row,
            role,
        })
        .await
    }

    /// Workflows, oldest first, optionally of one status.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn workflows(
        &self,
        ctx: &Context<'_>,
        status: Option<crate::model::enums::WorkflowStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<crate::graphql::types::Workflow>> {
        let page = relay::page(first, after, last, before)?;
        let (role, only) = (self.role, status.map(crate::model::enums::WorkflowStatus::as_str));
        let totals = CountKey::WorkflowsOf(self.row.id, status);
        relay::children::<{ crate::graphql::loaders::WORKFLOWS }, _, _>(
            ctx,
            (self.row.id, only),
            page,
            totals,
            ChildRow::cursor,
            |row| crate::graphql::types::Workflow { row, role },
        )
        .await
    }

    /// The pipeline: filter, order (default newest first) and page through leads.
    // Relay's four paging arguments plus filter and order: a flat argument list is the API.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        filter: Option<LeadFilterInput>,
        order_by: Option<LeadOrderInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<
        async_graphql::connection::Connection<String, Lead, LeadTotals, async_graphql::connection::EmptyFields>,
    > {
        let page = relay::page(first, after, last, before)?;
        let filter = filter.unwrap_or_default().into_filter()?;
        let (field, direction) =
            order_by.map(|o| (o.field, o.direction)).unwrap_or((LeadOrderField::CreatedAt, OrderDirection::Desc));
        let order = match field {
            LeadOrderField::CreatedAt => LeadOrder::CreatedAt,
            LeadOrderField::UpdatedAt => LeadOrder::UpdatedAt,
            LeadOrderField::Name => LeadOrder::Name,
            LeadOrderField::Status => LeadOrder::Status,
        };
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let descending = direction == OrderDirection::Desc;
        let slice =
            crate::domain::leads::list(&mut conn, caller, self.row.id, &filter, order, descending, &page).await?;
        drop(conn);
        let mut connection = async_graphql::connection::Connection::with_additional_fields(
            slice.has_previous_page,
            slice.has_next_page,
            LeadTotals::Workspace { workspace_id: self.row.id, filter },
        );
        let role = self.role;
        connection.edges.extend(
            slice
                .rows
                .into_iter()
                .map(|row| async_graphql::connection::Edge::new(order.cursor(&row).encode(), Lead { row, role })),
        );
        Ok(connection)
    }

    /// The security log, newest first: this workspace's member, role and API key changes, and
    /// the account events (sign-ins, failures, lockouts, password changes, sessions) of its
    /// current members. Needs ADMIN.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn security_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<SecurityEventFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<
        async_graphql::connection::Connection<
            String,
            SecurityEvent,
            SecurityEventTotals,
            async_graphql::connection::EmptyFields,
        >,
    > {
        access::ensure(self.role, Role::Admin)?;
        let page = relay::page(first, after, last, before)?;
        let types = filter.unwrap_or_default().types.unwrap_or_default();
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let slice =
            crate::domain::security_events::page_for_workspace(&mut conn, caller, self.row.id, &types, &page).await?;
        drop(conn);
        let mut connection = async_graphql::connection::Connection::with_additional_fields(
            slice.has_previous_page,
            slice.has_next_page,
            SecurityEventTotals { workspace_id: self.row.id, types },
        );
        connection.edges.extend(
            slice
                .rows
                .into_iter()
                .map(|row| async_graphql::connection::Edge::new(row.cursor().encode(), SecurityEvent(row))),
        );
        Ok(connection)
    }

    /// The workspace's pipelines: the default first, then by creation.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn pipelines(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_archived: bool,
    ) -> async_graphql::Result<Vec<crate::graphql::types::Pipeline>> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let rows = crate::domain::pipelines::list(&mut conn, caller, self.row.id, include_archived).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// What prospects can book (archived types only when asked).
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn booking_types(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_archived: bool,
    ) -> async_graphql::Result<Vec<crate::graphql::types::BookingType>> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let rows = crate::domain::bookings::list(&mut conn, caller, self.row.id, include_archived).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Email templates, oldest first.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn email_templates(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::graphql::types::EmailTemplate>> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let rows = crate::domain::email_templates::list(&mut conn, caller, self.row.id).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The mail log: workflow emails, newest first, optionally only those meeting `filter`.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn emails(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::types::EmailFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<relay::PlainConn<crate::graphql::types::Email>> {
        let page = relay::page(first, after, last, before)?;
        let filter = filter.unwrap_or_default().into_filter()?;
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let (role, slice) =
            crate::domain::email_log::page_for_workspace(&mut conn, caller, self.row.id, filter, &page).await?;
        drop(conn);
        Ok(relay::plain_connection(slice, |row| row.cursor(), |row| crate::graphql::types::Email { row, role }))
    }

    /// Whether HTML emails carry an open-tracking pixel (off unless turned on with
    /// `updateWorkspace(input: { emailOpenTracking: true })`).
    async fn email_open_tracking(&self) -> bool {
        crate::model::email_templates::open_tracking(&self.row.settings)
    }

    /// Bookings in time order, optionally only those meeting `filter`.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn bookings(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::types::BookingFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<relay::PlainConn<crate::graphql::types::Booking>> {
        let page = relay::page(first, after, last, before)?;
        let (filter, host) = filter.unwrap_or_default().into_filter()?;
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let (role, slice) =
            crate::domain::booking_public::page_for_workspace(&mut conn, caller, self.row.id, filter, host, &page)
                .await?;
        drop(conn);
        Ok(relay::plain_connection(slice, |row| row.cursor(), |row| crate::graphql::types::Booking { row, role }))
    }

    /// Payments requested from the workspace's leads, newest first, optionally only those
    /// meeting `filter`.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::types::PaymentFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<relay::PlainConn<crate::graphql::types::Payment>> {
        let page = relay::page(first, after, last, before)?;
        let filter = filter.unwrap_or_default().into_filter()?;
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let (role, slice) =
            crate::domain::payments::page_for_workspace(&mut conn, caller, self.row.id, filter, &page).await?;
        drop(conn);
        Ok(relay::plain_connection(slice, |row| row.cursor(), |row| crate::graphql::types::Payment { row, role }))
    }

    /// Document templates, oldest first.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn document_templates(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::graphql::types::DocumentTemplate>> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let rows = crate::domain::document_templates::list(&mut conn, caller, self.row.id).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Documents made for the workspace's leads, newest first, optionally only those meeting
    /// `filter`.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn documents(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::types::DocumentFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<relay::PlainConn<crate::graphql::types::Document>> {
        let page = relay::page(first, after, last, before)?;
        let filter = filter.unwrap_or_default().into_filter()?;
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let (role, slice) =
            crate::domain::documents::page_for_workspace(&mut conn, caller, self.row.id, filter, &page).await?;
        drop(conn);
        Ok(relay::plain_connection(slice, |row| row.cursor(), |row| crate::graphql::types::Document { row, role }))
    }

    /// Intake routing rules, in the order they are tried.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn routing_rules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<crate::graphql::types::RoutingRule>> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let rows = crate::domain::routing::list(&mut conn, caller, self.row.id).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Where this workspace's events are delivered, oldest first. Needs ADMIN.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookEndpoint>> {
        access::ensure(self.role, Role::Admin)?;
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let rows = crate::domain::webhooks::list(&mut conn, caller, self.row.id).await?;
        Ok(rows.into_iter().map(WebhookEndpoint).collect())
    }

    /// Integrations, oldest first (never their credentials).
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn integrations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<crate::graphql::types::Integration>> {
        let page = relay::page(first, after, last, before)?;
        let totals = CountKey::IntegrationsOf(self.row.id);
        let role = self.role;
        relay::children::<{ crate::graphql::loaders::INTEGRATIONS }, _, _>(
            ctx,
            (self.row.id, None),
            page,
            totals,
            ChildRow::cursor,
            |row| crate::graphql::types::Integration { row, role },
        )
        .await
    }

    /// Per pipeline column: how many leads, and how many were created in the last 7 days.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn pipeline_summary(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PipelineStatusCount>> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let rows = crate::domain::leads::pipeline_summary(&mut conn, caller, self.row.id).await?;
        Ok(rows.into_iter().map(PipelineStatusCount::from).collect())
    }
}

/// Which leads to list.
#[derive(async_graphql::InputObject, Default)]
pub struct LeadFilterInput {
    pub status: Option<Vec<crate::model::enums::LeadStatus>>,
    pub priority: Option<Vec<crate::model::enums::LeadPriority>>,
    pub assignee_id: Option<ID>,
    pub source_form_id: Option<ID>,
    /// Case-insensitive substring of name, email or company; with four or more digits (leading
    /// zeros aside), also the digits of the phone number, so `(020) 7946-0958` finds
    /// `+442079460958`.
    pub search: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Include soft-deleted leads.
    #[graphql(default = false)]
    pub include_deleted: bool,
}

#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum LeadOrderField {
    CreatedAt,
    UpdatedAt,
    Name,
    /// Pipeline order.
    Status,
}

#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    Asc,
    #[default]
    Desc,
}

#[derive(async_graphql::InputObject)]
pub struct LeadOrderInput {
    pub field: LeadOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl LeadFilterInput {
    pub(crate) fn into_filter(self) -> Result<crate::db::leads::LeadFilter, AppError> {
        let assignee_id = self.assignee_id.map(|id| expect_id("filter.assigneeId", &id, Kind::User)).transpose()?;
        let source_form_id =
            self.source_form_id.map(|id| expect_id("filter.sourceFormId", &id, Kind::Form)).transpose()?;
        Ok(crate::db::leads::LeadFilter {
            statuses: self.status.unwrap_or_default(),
            priorities: self.priority.unwrap_or_default(),
            assignee_id,
            source_form_id,
            search: self.search,
            created_after: self.created_after,
            created_before: self.created_before,
            include_deleted: self.include_deleted,
        })
    }
}

/// `totalCount` of a filtered lead list, counted only when asked for: a workspace's leads, or a
/// board column's (one statement for all the columns of a response).
pub enum LeadTotals {
    Workspace { workspace_id: uuid::Uuid, filter: crate::db::leads::LeadFilter },
    Stage(crate::graphql::relay::ConnectionTotals),
}

#[Object]
impl LeadTotals {
    /// Number of items in the whole list, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        match self {
            LeadTotals::Workspace { workspace_id, filter } => {
                let (caller, mut conn) = crate::graphql::session(ctx).await?;
                Ok(crate::domain::leads::count(&mut conn, caller, *workspace_id, filter).await?)
            }
            LeadTotals::Stage(totals) => totals.total_count(ctx).await,
        }
    }
}

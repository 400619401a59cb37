//! The API's vocabularies. Each is stored as text (with a CHECK constraint in the migration) and
//! exposed as a GraphQL enum: defining it once keeps the three spellings from drifting apart.

/// Declares a text-backed enum usable in diesel queries, serde and GraphQL.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 async_graphql::Enum, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
                 serde::Serialize, serde::Deserialize)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name { $(#[serde(rename = $text)] #[graphql(name = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {} {other:?}", stringify!($name))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>)
                -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(), out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(bytes)?;
                text.parse().map_err(Into::into)
            }
        }
    };
}

text_enum! {
    /// A member's (or API key's) power in a workspace, weakest first: the derived order is the
    /// order of privilege.
    Role { Viewer => "VIEWER", Member => "MEMBER", Admin => "ADMIN", Owner => "OWNER" }
}

text_enum! {
    /// The periods dashboards group stats and workflow reports by; a WEEK starts on Monday.
    StatsPeriod { Day => "DAY", Week => "WEEK", Month => "MONTH" }
}

text_enum! {
    /// Where a workspace's subscription stands; its plan's quotas apply whatever the status.
    SubscriptionStatus {
        Trialing => "TRIALING", Active => "ACTIVE", PastDue => "PAST_DUE", Cancelled => "CANCELLED",
        Expired => "EXPIRED",
    }
}

text_enum! {
    /// What a workspace's plan limits. LEADS, EXECUTIONS and EMAILS count per billing period; the
    /// others count what exists now.
    Quota {
        Leads => "leads", Executions => "executions", Emails => "emails", Workflows => "workflows",
        Forms => "forms", Members => "members", WebhookEndpoints => "webhookEndpoints",
    }
}

impl Quota {
    /// Counted per billing period (a counter per period) rather than as what exists now.
    pub fn per_period(self) -> bool {
        matches!(self, Quota::Leads | Quota::Executions | Quota::Emails)
    }
}

text_enum! {
    FormStatus { Draft => "DRAFT", Published => "PUBLISHED", Archived => "ARCHIVED" }
}

text_enum! {
    FieldType {
        Text => "TEXT", Textarea => "TEXTAREA", Email => "EMAIL", Phone => "PHONE",
        Number => "NUMBER", Date => "DATE", Url => "URL", Select => "SELECT",
        Multiselect => "MULTISELECT", Checkbox => "CHECKBOX",
    }
}

text_enum! {
    /// Pipeline columns, in pipeline order.
    LeadStatus {
        New => "NEW", Contacted => "CONTACTED", Qualified => "QUALIFIED", Booked => "BOOKED",
        ProposalSent => "PROPOSAL_SENT", Won => "WON", Lost => "LOST", Unresponsive => "UNRESPONSIVE",
    }
}

text_enum! {
    /// What a pipeline is for; a label for clients, it changes no behaviour.
    PipelineKind {
        Sales => "SALES", Support => "SUPPORT", Billing => "BILLING", Internal => "INTERNAL",
        Generic => "GENERIC", Custom => "CUSTOM",
    }
}

text_enum! {
    /// Where a stage sits in a lead's life: OPEN is work in progress; WON and LOST are closed
    /// (won or not), and a routing rule with `reopenClosed` takes a returning lead out of them.
    StageCategory { Open => "OPEN", Won => "WON", Lost => "LOST" }
}

text_enum! {
    /// Where a submission came from. FORM: the public form; API: an authenticated caller;
    /// WEBHOOK and EMAIL are reserved for inbound webhooks and mail intake.
    SubmissionSource { Form => "FORM", Api => "API", Webhook => "WEBHOOK", Email => "EMAIL" }
}

text_enum! {
    /// How a routing rule picks an assignee: its one member, or its members in turn.
    AssignStrategy { Specific => "SPECIFIC", RoundRobin => "ROUND_ROBIN" }
}

text_enum! {
    /// How a booking type picks its host: the first free one, or its hosts in turn (skipping
    /// busy ones).
    HostStrategy { Any => "ANY", RoundRobin => "ROUND_ROBIN" }
}

text_enum! {
    BookingStatus { Confirmed => "CONFIRMED", Cancelled => "CANCELLED" }
}

text_enum! {
    /// Where an email is: QUEUED (not sent yet, or being retried), SENT (an SMTP server took it),
    /// then DELIVERED, BOUNCED or FAILED as the provider reports (`POST /hooks/email-events`);
    /// LOGGED when the log transport took it (no SMTP server: it never left, so it is never
    /// DELIVERED). FAILED is also where account mail ends after its last attempt.
    EmailStatus {
        Queued => "QUEUED", Sent => "SENT", Logged => "LOGGED", Delivered => "DELIVERED",
        Bounced => "BOUNCED", Failed => "FAILED",
    }
}

text_enum! {
    /// The emails a booking sends: when it is made, moved or cancelled, and before it starts.
    BookingNotificationKind {
        Confirmation => "CONFIRMATION", Reminder24h => "REMINDER_24H", Reminder2h => "REMINDER_2H",
        Reschedule => "RESCHEDULE", Cancellation => "CANCELLATION",
    }
}

text_enum! {
    /// Where a payment is collected: members record it by hand, or Stripe Checkout collects it.
    PaymentProvider { Manual => "MANUAL", Stripe => "STRIPE" }
}

text_enum! {
    PaymentStatus {
        Pending => "PENDING", Paid => "PAID", Failed => "FAILED", Refunded => "REFUNDED", Cancelled => "CANCELLED",
    }
}

text_enum! {
    /// DRAFT → SENT → VIEWED → SIGNED, or DECLINED by the client, or VOID by a member before signing.
    DocumentStatus {
        Draft => "DRAFT", Sent => "SENT", Viewed => "VIEWED", Signed => "SIGNED", Declined => "DECLINED",
        Void => "VOID",
    }
}

text_enum! {
    LeadPriority { Low => "LOW", Medium => "MEDIUM", High => "HIGH", Urgent => "URGENT" }
}

text_enum! {
    LeadEventType {
        LeadCreated => "LEAD_CREATED", FormSubmitted => "FORM_SUBMITTED",
        StatusChanged => "STATUS_CHANGED", PriorityChanged => "PRIORITY_CHANGED",
        NoteAdded => "NOTE_ADDED", Assigned => "ASSIGNED", Updated => "UPDATED",
        Deleted => "DELETED", Restored => "RESTORED", EmailSent => "EMAIL_SENT",
        WebhookSent => "WEBHOOK_SENT", WorkflowStarted => "WORKFLOW_STARTED",
        WorkflowFinished => "WORKFLOW_FINISHED", StageChanged => "STAGE_CHANGED",
        BookingCreated => "BOOKING_CREATED", BookingRescheduled => "BOOKING_RESCHEDULED",
        BookingCancelled => "BOOKING_CANCELLED", PaymentRequested => "PAYMENT_REQUESTED",
        PaymentReceived => "PAYMENT_RECEIVED", PaymentFailed => "PAYMENT_FAILED",
        PaymentRefunded => "PAYMENT_REFUNDED", PaymentCancelled => "PAYMENT_CANCELLED",
        DocumentCreated => "DOCUMENT_CREATED", DocumentSent => "DOCUMENT_SENT", DocumentViewed => "DOCUMENT_VIEWED",
        DocumentSigned => "DOCUMENT_SIGNED", DocumentDeclined => "DOCUMENT_DECLINED",
        DocumentVoided => "DOCUMENT_VOIDED",
    }
}

text_enum! {
    WorkflowStatus { Draft => "DRAFT", Active => "ACTIVE", Paused => "PAUSED", Archived => "ARCHIVED" }
}

text_enum! {
    /// Triggers start a workflow; the rest are actions and logic.
    NodeType {
        FormSubmitted => "FORM_SUBMITTED", LeadStatusChanged => "LEAD_STATUS_CHANGED",
        PipelineStageChanged => "PIPELINE_STAGE_CHANGED", BookingCreated => "BOOKING_CREATED",
        PaymentReceived => "PAYMENT_RECEIVED", Manual => "MANUAL", Webhook => "WEBHOOK", Schedule => "SCHEDULE",
        SendEmail => "SEND_EMAIL", HttpRequest => "HTTP_REQUEST", UpdateLead => "UPDATE_LEAD",
        AddNote => "ADD_NOTE", Delay => "DELAY", Condition => "CONDITION", Approval => "APPROVAL",
        RequestPayment => "REQUEST_PAYMENT", SendPortalLink => "SEND_PORTAL_LINK",
        SendDocument => "SEND_DOCUMENT",
    }
}

impl NodeType {
    pub fn is_trigger(self) -> bool {
        matches!(
            self,
            NodeType::FormSubmitted
                | NodeType::LeadStatusChanged
                | NodeType::PipelineStageChanged
                | NodeType::BookingCreated
                | NodeType::PaymentReceived
                | NodeType::Manual
                | NodeType::Webhook
                | NodeType::Schedule
        )
    }

    /// Nodes whose outgoing edges are chosen by a `true`/`false` handle.
    pub fn branches(self) -> bool {
        matches!(self, NodeType::Condition | NodeType::Approval)
    }
}

text_enum! {
    ExecutionStatus {
        Queued => "QUEUED", Running => "RUNNING", Waiting => "WAITING",
        Completed => "COMPLETED", Failed => "FAILED", Cancelled => "CANCELLED",
    }
}

impl ExecutionStatus {
    pub fn is_final(self) -> bool {
        matches!(self, ExecutionStatus::Completed | ExecutionStatus::Failed | ExecutionStatus::Cancelled)
    }
}

text_enum! {
    StepStatus {
        Pending => "PENDING", Running => "RUNNING", Waiting => "WAITING",
        Completed => "COMPLETED", Failed => "FAILED", Skipped => "SKIPPED",
    }
}

text_enum! {
    LogLevel { Debug => "DEBUG", Info => "INFO", Warn => "WARN", Error => "ERROR" }
}

text_enum! {
    /// What a security event records. Account events (sign-in, password, sessions) concern a
    /// user; the others happen in a workspace.
    SecurityEventType {
        SignIn => "SIGN_IN", SignInFailed => "SIGN_IN_FAILED", LockedOut => "LOCKED_OUT",
        PasswordChanged => "PASSWORD_CHANGED", SessionRevoked => "SESSION_REVOKED",
        SignedOutEverywhere => "SIGNED_OUT_EVERYWHERE", RoleChanged => "ROLE_CHANGED",
        MemberAdded => "MEMBER_ADDED", MemberRemoved => "MEMBER_REMOVED",
        ApiKeyCreated => "API_KEY_CREATED", ApiKeyRevoked => "API_KEY_REVOKED",
        InvitationSent => "INVITATION_SENT", InvitationAccepted => "INVITATION_ACCEPTED",
        InvitationRevoked => "INVITATION_REVOKED", PasswordResetRequested => "PASSWORD_RESET_REQUESTED",
        PasswordReset => "PASSWORD_RESET", EmailVerified => "EMAIL_VERIFIED",
        WebhookEndpointCreated => "WEBHOOK_ENDPOINT_CREATED", WebhookEndpointDeleted => "WEBHOOK_ENDPOINT_DELETED",
        WebhookSecretRotated => "WEBHOOK_SECRET_ROTATED", WebhookEndpointDisabled => "WEBHOOK_ENDPOINT_DISABLED",
        WebhookEndpointEnabled => "WEBHOOK_ENDPOINT_ENABLED",
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_are_ordered_by_privilege() {
        assert!(Role::Viewer < Role::Member);
        assert!(Role::Member < Role::Admin);
        assert!(Role::Admin < Role::Owner);
    }

    #[test]
    fn text_round_trips() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
        assert!("owner".parse::<Role>().is_err());
    }
}

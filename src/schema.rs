// @generated automatically by Diesel CLI.

diesel::table! {
    availability_schedules (workspace_id, user_id) {
        workspace_id -> Uuid,
        user_id -> Uuid,
        time_zone -> Text,
        weekly -> Jsonb,
        overrides -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    booking_notifications (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        booking_id -> Uuid,
        kind -> Text,
        due_at -> Timestamptz,
        status -> Text,
        secret -> Nullable<Text>,
        attempts -> Int4,
        error -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    booking_types (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        slug -> Text,
        duration_minutes -> Int4,
        slot_increment_minutes -> Int4,
        buffer_before_minutes -> Int4,
        buffer_after_minutes -> Int4,
        minimum_notice_minutes -> Int4,
        booking_window_days -> Int4,
        daily_limit -> Nullable<Int4>,
        host_user_ids -> Array<Uuid>,
        host_strategy -> Text,
        assigned_count -> Int8,
        location -> Nullable<Text>,
        form_id -> Nullable<Uuid>,
        archived_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    bookings (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        booking_type_id -> Uuid,
        lead_id -> Uuid,
        host_user_id -> Uuid,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        busy_from -> Timestamptz,
        busy_until -> Timestamptz,
        busy -> Tstzrange,
        status -> Text,
        attendee_name -> Nullable<Text>,
        attendee_email -> Text,
        attendee_phone -> Nullable<Text>,
        answers -> Jsonb,
        manage_token_hash -> Bytea,
        idempotency_key -> Nullable<Text>,
        request_digest -> Nullable<Text>,
        sequence -> Int4,
        cancel_reason -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    account_lockouts (id) {
        id -> Uuid,
        email -> Text,
        failed_attempts -> Int4,
        locked_until -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    account_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        purpose -> Text,
        token_hash -> Bytea,
        email -> Text,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        role -> Text,
        token_prefix -> Text,
        token_hash -> Bytea,
        created_by_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    auth_attempts (id) {
        id -> Int8,
        email -> Text,
        success -> Bool,
        ip -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    document_signatures (document_id) {
        document_id -> Uuid,
        signer_name -> Text,
        signed_at -> Timestamptz,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        content_sha256 -> Text,
    }
}

diesel::table! {
    document_templates (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        body -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    documents (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        lead_id -> Uuid,
        template_id -> Nullable<Uuid>,
        title -> Text,
        content_html -> Text,
        content_sha256 -> Text,
        status -> Text,
        sent_at -> Nullable<Timestamptz>,
        viewed_at -> Nullable<Timestamptz>,
        signed_at -> Nullable<Timestamptz>,
        declined_at -> Nullable<Timestamptz>,
        decline_reason -> Nullable<Text>,
        voided_at -> Nullable<Timestamptz>,
        idempotency_key -> Nullable<Text>,
        created_by_user_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    email_templates (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        subject -> Text,
        html -> Text,
        text -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    emails (id) {
        id -> Uuid,
        workspace_id -> Nullable<Uuid>,
        execution_id -> Nullable<Uuid>,
        node_key -> Nullable<Text>,
        lead_id -> Nullable<Uuid>,
        to_address -> Text,
        subject -> Text,
        content -> Text,
        status -> Text,
        transport -> Nullable<Text>,
        attempts -> Int4,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        kind -> Text,
        html_content -> Nullable<Text>,
        secret -> Nullable<Text>,
        next_attempt_at -> Nullable<Timestamptz>,
        message_id -> Nullable<Text>,
        template_id -> Nullable<Uuid>,
        delivered_at -> Nullable<Timestamptz>,
        bounced_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        opened_at -> Nullable<Timestamptz>,
        open_token_hash -> Nullable<Bytea>,
    }
}

diesel::table! {
    execution_log_seqs (execution_id) {
        execution_id -> Uuid,
        last -> Int8,
    }
}

diesel::table! {
    execution_logs (id, created_at) {
        id -> Int8,
        workspace_id -> Uuid,
        execution_id -> Uuid,
        step_id -> Nullable<Uuid>,
        level -> Text,
        message -> Text,
        data -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        seq -> Int8,
    }
}

diesel::table! {
    execution_steps (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        execution_id -> Uuid,
        node_key -> Text,
        node_type -> Text,
        step_number -> Int4,
        status -> Text,
        input -> Nullable<Jsonb>,
        output -> Nullable<Jsonb>,
        error -> Nullable<Text>,
        attempt -> Int4,
        max_attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    form_fields (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        form_id -> Uuid,
        key -> Text,
        label -> Text,
        #[sql_name = "type"]
        type_ -> Text,
        required -> Bool,
        placeholder -> Nullable<Text>,
        help_text -> Nullable<Text>,
        options -> Jsonb,
        validation -> Jsonb,
        position -> Int4,
        identifies_lead -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    form_submissions (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        form_id -> Uuid,
        lead_id -> Uuid,
        data -> Jsonb,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        request_digest -> Nullable<Text>,
        submitted_at -> Timestamptz,
        source -> Text,
    }
}

diesel::table! {
    forms (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        slug -> Text,
        description -> Nullable<Text>,
        status -> Text,
        settings -> Jsonb,
        created_by_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    integrations (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        provider -> Text,
        name -> Text,
        status -> Text,
        config -> Jsonb,
        credentials_key_id -> Nullable<Text>,
        credentials_sealed -> Nullable<Bytea>,
        signing_secret_key_id -> Nullable<Text>,
        signing_secret_sealed -> Nullable<Bytea>,
        last_sync_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_by_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        email -> Text,
        role -> Text,
        token_hash -> Bytea,
        invited_by_id -> Nullable<Uuid>,
        expires_at -> Timestamptz,
        sent_count -> Int4,
        accepted_at -> Nullable<Timestamptz>,
        accepted_by_id -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    lead_events (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        lead_id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        data -> Jsonb,
        actor_user_id -> Nullable<Uuid>,
        actor_api_key_id -> Nullable<Uuid>,
        actor_execution_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        seq -> Int8,
        xid -> Int8,
    }
}

diesel::table! {
    lead_placements (lead_id, pipeline_id) {
        lead_id -> Uuid,
        pipeline_id -> Uuid,
        stage_id -> Uuid,
        workspace_id -> Uuid,
        since -> Timestamptz,
    }
}

diesel::table! {
    lead_field_values (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        lead_id -> Uuid,
        form_field_id -> Uuid,
        value -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    leads (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        source_form_id -> Nullable<Uuid>,
        email -> Nullable<Text>,
        name -> Nullable<Text>,
        phone -> Nullable<Text>,
        company -> Nullable<Text>,
        status -> Text,
        priority -> Text,
        assignee_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    outbound_events (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        payload -> Json,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    password_history (id) {
        id -> Uuid,
        user_id -> Uuid,
        password_hash -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    password_reset_requests (id) {
        id -> Uuid,
        email -> Text,
        ip -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    payments (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        lead_id -> Uuid,
        amount_minor -> Int8,
        currency -> Bpchar,
        description -> Text,
        due_date -> Nullable<Date>,
        provider -> Text,
        integration_id -> Nullable<Uuid>,
        status -> Text,
        provider_id -> Nullable<Text>,
        payment_url -> Nullable<Text>,
        paid_at -> Nullable<Timestamptz>,
        refunded_at -> Nullable<Timestamptz>,
        idempotency_key -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    pipeline_stages (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        pipeline_id -> Uuid,
        key -> Text,
        name -> Text,
        color -> Text,
        category -> Text,
        implies_status -> Nullable<Text>,
        position -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    pipelines (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        kind -> Text,
        is_default -> Bool,
        archived_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    plans (id) {
        id -> Uuid,
        code -> Text,
        version -> Int4,
        name -> Text,
        quotas -> Jsonb,
        features -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    portal_links (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        lead_id -> Uuid,
        token_digest -> Bytea,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        created_by_user_id -> Nullable<Uuid>,
        idempotency_key -> Nullable<Text>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    routing_rules (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        form_id -> Nullable<Uuid>,
        source -> Nullable<Text>,
        conditions -> Nullable<Jsonb>,
        stage_id -> Nullable<Uuid>,
        assign_strategy -> Nullable<Text>,
        assign_user_ids -> Array<Uuid>,
        assigned_count -> Int8,
        priority -> Nullable<Text>,
        reopen_closed -> Bool,
        enabled -> Bool,
        position -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    security_events (id) {
        id -> Uuid,
        workspace_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        actor_user_id -> Nullable<Uuid>,
        actor_api_key_id -> Nullable<Uuid>,
        #[sql_name = "type"]
        type_ -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        data -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    subscriptions (workspace_id) {
        workspace_id -> Uuid,
        plan_id -> Uuid,
        status -> Text,
        current_period_start -> Timestamptz,
        current_period_end -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    usage_counters (workspace_id, quota, period_start) {
        workspace_id -> Uuid,
        quota -> Text,
        period_start -> Timestamptz,
        used -> Int8,
    }
}

diesel::table! {
    usage_events (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        category -> Text,
        quantity -> Int8,
        billable -> Bool,
        subject_id -> Nullable<Uuid>,
        detail -> Jsonb,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        email_verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Uuid,
        delivery_id -> Uuid,
        attempt -> Int4,
        http_status -> Nullable<Int4>,
        duration_ms -> Int4,
        response -> Nullable<Text>,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        endpoint_id -> Uuid,
        event_id -> Uuid,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamptz>,
        last_http_status -> Nullable<Int4>,
        last_duration_ms -> Nullable<Int4>,
        last_response -> Nullable<Text>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamptz>,
        trigger -> Text,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        url -> Text,
        description -> Text,
        event_types -> Array<Text>,
        secret_key_id -> Text,
        secret_sealed -> Bytea,
        previous_secret_key_id -> Nullable<Text>,
        previous_secret_sealed -> Nullable<Bytea>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        disabled_at -> Nullable<Timestamptz>,
        disabled_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamptz>,
        created_by_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        integration_id -> Uuid,
        provider -> Text,
        external_id -> Text,
        #[sql_name = "type"]
        type_ -> Text,
        payload -> Jsonb,
        verified -> Bool,
        processed_at -> Nullable<Timestamptz>,
        error -> Nullable<Text>,
        attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    workflow_edges (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        workflow_id -> Uuid,
        source_key -> Text,
        target_key -> Text,
        source_handle -> Text,
        condition -> Nullable<Jsonb>,
        enabled -> Bool,
        created_at -> Timestamptz,
        ordinal -> Int4,
        is_default -> Bool,
    }
}

diesel::table! {
    workflow_executions (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        workflow_id -> Uuid,
        version_id -> Uuid,
        lead_id -> Nullable<Uuid>,
        submission_id -> Nullable<Uuid>,
        status -> Text,
        trigger_type -> Text,
        trigger_data -> Jsonb,
        context -> Jsonb,
        output -> Nullable<Jsonb>,
        error -> Nullable<Text>,
        simulate -> Bool,
        idempotency_key -> Nullable<Text>,
        attempts -> Int4,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamptz>,
        run_at -> Timestamptz,
        created_by_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        lease_losses -> Int4,
        chain_depth -> Int4,
        chain_workflow_ids -> Array<Uuid>,
    }
}

diesel::table! {
    workflow_nodes (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        workflow_id -> Uuid,
        key -> Text,
        #[sql_name = "type"]
        type_ -> Text,
        name -> Text,
        config -> Jsonb,
        position_x -> Float8,
        position_y -> Float8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        ordinal -> Int4,
    }
}

diesel::table! {
    workflow_reports (workflow_id, period, period_start) {
        workflow_id -> Uuid,
        workspace_id -> Uuid,
        period -> Text,
        period_start -> Date,
        total -> Int4,
        completed -> Int4,
        failed -> Int4,
        cancelled -> Int4,
        avg_duration_ms -> Nullable<Int8>,
        p95_duration_ms -> Nullable<Int8>,
        computed_at -> Timestamptz,
    }
}

diesel::table! {
    workflow_versions (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        workflow_id -> Uuid,
        version -> Int4,
        graph -> Jsonb,
        created_by_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    workflows (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        status -> Text,
        current_version_id -> Nullable<Uuid>,
        webhook_token_hash -> Nullable<Bytea>,
        created_by_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
        activated_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    workspace_daily_stats (workspace_id, day) {
        workspace_id -> Uuid,
        day -> Date,
        leads_created -> Int4,
        leads_won -> Int4,
        leads_lost -> Int4,
        submissions -> Int4,
        executions_completed -> Int4,
        executions_failed -> Int4,
        emails_sent -> Int4,
        emails_opened -> Int4,
        bookings_created -> Int4,
        bookings_cancelled -> Int4,
        computed_at -> Timestamptz,
    }
}

diesel::table! {
    workspace_members (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    workspaces (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        intake_email -> Nullable<Text>,
        plan -> Text,
        settings -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        time_zone -> Text,
    }
}

diesel::joinable!(booking_notifications -> bookings (booking_id));
diesel::joinable!(booking_types -> workspaces (workspace_id));
diesel::joinable!(bookings -> booking_types (booking_type_id));
diesel::joinable!(bookings -> leads (lead_id));
diesel::joinable!(bookings -> users (host_user_id));
diesel::joinable!(account_tokens -> users (user_id));
diesel::joinable!(api_keys -> users (created_by_id));
diesel::joinable!(api_keys -> workspaces (workspace_id));
diesel::joinable!(document_signatures -> documents (document_id));
diesel::joinable!(document_templates -> workspaces (workspace_id));
diesel::joinable!(documents -> document_templates (template_id));
diesel::joinable!(documents -> leads (lead_id));
diesel::joinable!(documents -> users (created_by_user_id));
diesel::joinable!(documents -> workspaces (workspace_id));
diesel::joinable!(email_templates -> workspaces (workspace_id));
diesel::joinable!(emails -> email_templates (template_id));
diesel::joinable!(emails -> leads (lead_id));
diesel::joinable!(emails -> workflow_executions (execution_id));
diesel::joinable!(emails -> workspaces (workspace_id));
diesel::joinable!(execution_log_seqs -> workflow_executions (execution_id));
diesel::joinable!(forms -> users (created_by_id));
diesel::joinable!(forms -> workspaces (workspace_id));
diesel::joinable!(integrations -> users (created_by_id));
diesel::joinable!(integrations -> workspaces (workspace_id));
diesel::joinable!(invitations -> workspaces (workspace_id));
diesel::joinable!(lead_events -> api_keys (actor_api_key_id));
diesel::joinable!(lead_events -> users (actor_user_id));
diesel::joinable!(lead_events -> workflow_executions (actor_execution_id));
diesel::joinable!(lead_placements -> leads (lead_id));
diesel::joinable!(lead_placements -> pipelines (pipeline_id));
diesel::joinable!(lead_placements -> workspaces (workspace_id));
diesel::joinable!(lead_field_values -> form_fields (form_field_id));
diesel::joinable!(leads -> forms (source_form_id));
diesel::joinable!(leads -> users (assignee_id));
diesel::joinable!(leads -> workspaces (workspace_id));
diesel::joinable!(outbound_events -> workspaces (workspace_id));
diesel::joinable!(password_history -> users (user_id));
diesel::joinable!(payments -> integrations (integration_id));
diesel::joinable!(payments -> leads (lead_id));
diesel::joinable!(payments -> users (created_by));
diesel::joinable!(payments -> workspaces (workspace_id));
diesel::joinable!(pipeline_stages -> pipelines (pipeline_id));
diesel::joinable!(pipeline_stages -> workspaces (workspace_id));
diesel::joinable!(pipelines -> workspaces (workspace_id));
diesel::joinable!(portal_links -> leads (lead_id));
diesel::joinable!(portal_links -> users (created_by_user_id));
diesel::joinable!(portal_links -> workspaces (workspace_id));
diesel::joinable!(routing_rules -> forms (form_id));
diesel::joinable!(routing_rules -> pipeline_stages (stage_id));
diesel::joinable!(routing_rules -> workspaces (workspace_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(subscriptions -> plans (plan_id));
diesel::joinable!(subscriptions -> workspaces (workspace_id));
diesel::joinable!(usage_counters -> workspaces (workspace_id));
diesel::joinable!(usage_events -> workspaces (workspace_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_deliveries -> outbound_events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_endpoints -> workspaces (workspace_id));
diesel::joinable!(webhook_events -> integrations (integration_id));
diesel::joinable!(webhook_events -> workspaces (workspace_id));
diesel::joinable!(workflow_executions -> form_submissions (submission_id));
diesel::joinable!(workflow_executions -> leads (lead_id));
diesel::joinable!(workflow_executions -> users (created_by_id));
diesel::joinable!(workflow_executions -> workflow_versions (version_id));
diesel::joinable!(workflow_reports -> workflows (workflow_id));
diesel::joinable!(workflow_reports -> workspaces (workspace_id));
diesel::joinable!(workflow_versions -> users (created_by_id));
diesel::joinable!(workflows -> users (created_by_id));
diesel::joinable!(workflows -> workspaces (workspace_id));
diesel::joinable!(workspace_members -> users (user_id));
diesel::joinable!(workspace_daily_stats -> workspaces (workspace_id));
diesel::joinable!(workspace_members -> workspaces (workspace_id));

diesel::allow_tables_to_appear_in_same_query!(
    account_lockouts,
    account_tokens,
    api_keys,
    auth_attempts,
    availability_schedules,
    booking_notifications,
    booking_types,
    bookings,
    document_signatures,
    document_templates,
    documents,
    email_templates,
    emails,
    execution_log_seqs,
    execution_logs,
    execution_steps,
    form_fields,
    form_submissions,
    forms,
    integrations,
    invitations,
    lead_events,
    lead_field_values,
    lead_placements,
    leads,
    outbound_events,
    password_history,
    password_reset_requests,
    payments,
    pipeline_stages,
    pipelines,
    plans,
    portal_links,
    routing_rules,
    security_events,
    sessions,
    subscriptions,
    usage_counters,
    usage_events,
    users,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
    workflow_edges,
    workflow_executions,
    workflow_nodes,
    workflow_reports,
    workflow_versions,
    workflows,
    workspace_daily_stats,
    workspace_members,
    workspaces,
);

//! Booking without an account: the free times of a booking type, booking one, and the
//! attendee's reschedule and cancel through the manage token. Members do the last two through
//! the API too ([`reschedule_by_id`], [`cancel_by_id`], MEMBER).
//!
//! A slot is offered when ANY of the type's hosts is free for it under their own schedule, their
//! confirmed bookings (with this type's buffers), notice, window and daily limit. The database
//! has the last word: the exclusion constraint on bookings turns a lost race into a CONFLICT
//! naming `start`. Public answers carry the attendee's own booking and nothing of others'.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::token;
use crate::db::booking_types::BookingTypeRow;
use crate::db::bookings::{BookingRow, NewBooking};
use crate::db::leads::{Contact, Identity, LeadChanges, LeadRow};
use crate::db::{self, lead_events::Actor};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::domain::bookings::{parse_zone, schedule_of};
use crate::domain::leads::actor_of;
use crate::error::{AppError, AppResult, is_exclusion_violation, is_unique_violation};
use crate::model::availability::{Busy, Schedule, Slot, SlotRules};
use crate::model::enums::{
    BookingNotificationKind as NotificationKind, BookingStatus, HostStrategy, LeadEventType, LeadStatus, Role,
};
use crate::model::validate::{self, Problems};

/// The longest range `availableSlots` answers for.
pub const MAX_RANGE_DAYS: i64 = 31;
pub const MANAGE_TOKEN_PREFIX: &str = "ifb_";
/// Where the booking emails' manage link points in the web app at `INTAKEFLOW_PUBLIC_URL`: its
/// page reads the booking with `managedBooking(token)` and changes it with `rescheduleBooking` /
/// `cancelBooking`, like the account emails' links (`domain::account_mail`).
pub const MANAGE_PATH: &str = "/bookings/manage";
const MAX_IDEMPOTENCY_KEY: usize = 255;
const MAX_ANSWERS_BYTES: usize = 16 * 1024;

struct Host {
    user_id: Uuid,
    schedule: Schedule,
}

fn rules_of(bt: &BookingTypeRow) -> SlotRules {
    SlotRules {
        duration: Duration::minutes(bt.duration_minutes.into()),
        increment: Duration::minutes(bt.slot_increment_minutes.into()),
        buffer_before: Duration::minutes(bt.buffer_before_minutes.into()),
        buffer_after: Duration::minutes(bt.buffer_after_minutes.into()),
        minimum_notice: Duration::minutes(bt.minimum_notice_minutes.into()),
        window: Duration::days(bt.booking_window_days.into()),
        daily_limit: bt.daily_limit.and_then(|l| u32::try_from(l).ok()),
    }
}

/// The type's hosts that are still members and have a schedule, in the type's order.
async fn hosts_of(conn: &mut AsyncPgConnection, bt: &BookingTypeRow) -> AppResult<Vec<Host>> {
    let members = db::members::members_among(conn, bt.workspace_id, &bt.host_user_ids).await?;
    let schedules = db::booking_types::schedules_of(conn, bt.workspace_id, &members).await?;
    Ok(members
        .into_iter()
        .filter_map(|user_id| {
            let schedule = schedules.iter().find(|s| s.user_id == user_id).and_then(schedule_of)?;
            Some(Host { user_id, schedule })
        })
        .collect())
}

/// Each host's slots starting in `range`. With `taken`, their confirmed bookings (except
/// `ignore`, a booking being moved) make them busy and count towards the daily limit; without,
/// only the schedule and the type's rules apply (is this a time the type offers at all?).
async fn host_slots(
    conn: &mut AsyncPgConnection,
    bt: &BookingTypeRow,
    hosts: &[Host],
    range: (DateTime<Utc>, DateTime<Utc>),
    taken: bool,
    ignore: Option<Uuid>,
) -> AppResult<Vec<(Uuid, Vec<Slot>)>> {
    let rules = rules_of(bt);
    let ids: Vec<Uuid> = hosts.iter().map(|h| h.user_id).collect();
    // Two days of margin: buffers reach past the range, and a local day in the host's zone may
    // start a day before the range's UTC start.
    let margin = Duration::days(2);
    let rows = if taken {
        db::bookings::busy_of_hosts(conn, &ids, (range.0 - margin, range.1 + margin)).await?
    } else {
        Vec::new()
    };
    let rows: Vec<BookingRow> = rows.into_iter().filter(|b| Some(b.id) != ignore).collect();
    let now = Utc::now();
    Ok(hosts
        .iter()
        .map(|host| {
            let mine: Vec<&BookingRow> = rows.iter().filter(|b| b.host_user_id == host.user_id).collect();
            let busy: Vec<Busy> = mine.iter().map(|b| Busy { start: b.busy_from, end: b.busy_until }).collect();
            let tz = host.schedule.time_zone;
            // The daily limit counts this type's bookings on the host's local day.
            let per_day = |day| {
                mine.iter()
                    .filter(|b| b.booking_type_id == bt.id && b.starts_at.with_timezone(&tz).date_naive() == day)
                    .count() as u32
            };
            (host.user_id, host.schedule.slots(&rules, &busy, &per_day, range, now))
        })
        .collect())
}

/// A public booking type by its workspace's slug and its own; archived ones and unknown slugs
/// are the same NOT_FOUND.
async fn public_type(conn: &mut AsyncPgConnection, workspace_slug: &str, type_slug: &str) -> AppResult<BookingTypeRow> {
    let ws =
        db::workspaces::find_by_slug(conn, workspace_slug.trim()).await?.ok_or(AppError::NotFound("booking type"))?;
    db::booking_types::find_public(conn, ws.id, type_slug.trim()).await?.ok_or(AppError::NotFound("booking type"))
}

/// The type's free times starting in `[from, to)` (at most [`MAX_RANGE_DAYS`] days), when any
/// host is free. `time_zone` is the visitor's, checked so a client's mistake is named; the
/// instants answered are zone-free.
pub async fn available_slots(
    conn: &mut AsyncPgConnection,
    workspace_slug: &str,
    type_slug: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    time_zone: Option<&str>,
) -> AppResult<Vec<Slot>> {
    let mut problems = Problems::default();
    if to <= from {
        problems.push("to", "must be after from");
    } else if to - from > Duration::days(MAX_RANGE_DAYS) {
        problems.push("to", format!("a range may span at most {MAX_RANGE_DAYS} days; ask for the next one after"));
    }
    if let Some(tz) = time_zone {
        parse_zone(&mut problems, "timeZone", tz);
    }
    problems.into_result()?;
    let bt = public_type(conn, workspace_slug, type_slug).await?;
    let hosts = hosts_of(conn, &bt).await?;
    let mut all: Vec<Slot> =
        host_slots(conn, &bt, &hosts, (from, to), true, None).await?.into_iter().flat_map(|(_, slots)| slots).collect();
    all.sort();
    all.dedup();
    Ok(all)
}

pub struct Attendee {
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// A booking as its attendee sees it, with the manage token when it was just made.
pub struct Booked {
    pub booking: BookingRow,
    pub booking_type: BookingTypeRow,
    /// Shown once: only its digest is stored, so a replay can't show it again.
    pub manage_token: Option<String>,
    pub replayed: bool,
}

fn double_booked(e: diesel::result::Error) -> AppError {
    if is_exclusion_violation(&e, db::bookings::NO_DOUBLE_BOOKING) {
        AppError::conflict("start: that time was just taken; choose another slot")
    } else {
        e.into()
    }
}

fn replay(first: BookingRow, bt: BookingTypeRow, request_digest: &str) -> AppResult<Booked> {
    if first.request_digest.as_deref() == Some(request_digest) {
        Ok(Booked { booking: first, booking_type: bt, manage_token: None, replayed: true })
    } else {
        Err(AppError::conflict(
            "idempotencyKey: this key was already used for a different booking; use a new key for a new booking",
        ))
    }
}

/// Books `start` of a public booking type without an account: finds or creates the lead by the
/// attendee's email (as form intake does), picks a free host, and in ONE transaction writes the
/// booking, sets the lead BOOKED (when it was still early in the funnel), appends the
/// BOOKING_CREATED event and starts BOOKING_CREATED workflows.
/// Books `start` of the type `(workspace_slug, type_slug)`; `public_url` begins the manage link
/// the confirmation email carries.
pub async fn book(
    conn: &mut AsyncPgConnection,
    public_url: &str,
    (workspace_slug, type_slug): (&str, &str),
    start: DateTime<Utc>,
    attendee: Attendee,
    answers: Option<Value>,
    idempotency_key: Option<String>,
) -> AppResult<Booked> {
    let mut problems = Problems::default();
    let email = problems.check(validate::email("attendee.email", &attendee.email));
    let name = attendee.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        problems.push("attendee.name", "must be at most 200 characters");
    }
    let phone = attendee.phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
    if phone.as_ref().is_some_and(|p| p.chars().count() > 40) {
        problems.push("attendee.phone", "must be at most 40 characters");
    }
    let answers = answers.unwrap_or_else(|| json!({}));
    if !answers.is_object() {
        problems.push("answers", "must be an object of question → answer");
    } else if answers.to_string().len() > MAX_ANSWERS_BYTES {
        problems.push("answers", format!("must be at most {MAX_ANSWERS_BYTES} bytes"));
    }
    let key = idempotency_key.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty());
    if key.as_ref().is_some_and(|k| k.len() > MAX_IDEMPOTENCY_KEY) {
        problems.push("idempotencyKey", format!("must be at most {MAX_IDEMPOTENCY_KEY} characters"));
    }
    problems.into_result()?;
    let email = email.unwrap_or_default();
    let bt = public_type(conn, workspace_slug, type_slug).await?;
    let request_digest = crate::domain::intake::digest(
        &json!({ "start": start, "email": email, "name": name, "phone": phone, "answers": answers }),
    );
    // A replay answers with the first booking even if the slot is gone since.
    if let Some(k) = &key
        && let Some(first) = db::bookings::find_by_key(conn, bt.id, k).await?
    {
        return replay(first, bt, &request_digest);
    }
    let hosts = hosts_of(conn, &bt).await?;
    let instant = (start, start + Duration::seconds(1));
    let offered = |slots: &[(Uuid, Vec<Slot>)]| -> Vec<Uuid> {
        slots.iter().filter(|(_, s)| s.iter().any(|s| s.start == start)).map(|(h, _)| *h).collect()
    };
    if offered(&host_slots(conn, &bt, &hosts, instant, false, None).await?).is_empty() {
        return Err(AppError::bad_input("start", "is not a time this booking type offers; ask availableSlots"));
    }
    let free = offered(&host_slots(conn, &bt, &hosts, instant, true, None).await?);
    if free.is_empty() {
        return Err(AppError::conflict("start: that time is no longer free; choose another slot"));
    }
    let (manage_token, token_hash) = token::generate(MANAGE_TOKEN_PREFIX);
    // The confirmation email carries it too, in its link: stored until sent, then erased.
    let link = manage_link(public_url, &manage_token);
    let rules = rules_of(&bt);
    let slot = Slot { start, end: start + rules.duration };
    let busy = rules.busy_range(slot);
    let type_row = bt.clone();
    let replay_digest = request_digest.clone();
    let outcome = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let bt = type_row;
            if let Some(k) = &key {
                db::bookings::lock_key(conn, bt.id, k).await?;
                // Someone with the same key may have committed while we looked.
                if let Some(first) = db::bookings::find_by_key(conn, bt.id, k).await? {
                    return Ok(Err(first));
                }
            }
            // Round robin: take the type's turn (its row lock queues concurrent bookings) and
            // start looking there, skipping busy hosts; ANY: the first free host.
            let all: Vec<Uuid> = hosts.iter().map(|h| h.user_id).collect();
            let first = match bt.host_strategy {
                HostStrategy::RoundRobin if !all.is_empty() => {
                    db::booking_types::take_turn(conn, bt.id).await?.rem_euclid(all.len() as i64) as usize
                }
                _ => 0,
            };
            let host = (0..all.len())
                .map(|i| all[(first + i) % all.len()])
                .find(|h| free.contains(h))
                .ok_or_else(|| AppError::conflict("start: that time is no longer free; choose another slot"))?;
            let contact = Contact { name: name.clone(), email: None, phone: phone.clone(), company: None };
            let upserted =
                db::leads::upsert(conn, bt.workspace_id, Identity::Email(&email), &contact, bt.form_id).await?;
            let lead = upserted.lead;
            let booking = db::bookings::insert(
                conn,
                NewBooking {
                    workspace_id: bt.workspace_id,
                    booking_type_id: bt.id,
                    lead_id: lead.id,
                    host_user_id: host,
                    starts_at: slot.start,
                    ends_at: slot.end,
                    busy_from: busy.start,
                    busy_until: busy.end,
                    attendee_name: name,
                    attendee_email: email,
                    attendee_phone: phone,
                    answers,
                    manage_token_hash: token_hash,
                    idempotency_key: key,
                    request_digest: Some(request_digest),
                },
            )
            .await
            .map_err(|e| {
                if is_unique_violation(&e, "bookings_booking_type_id_idempotency_key_key") {
                    AppError::conflict("idempotencyKey: a booking with this key is being made; retry")
                } else {
                    double_booked(e)
                }
            })?;
            mark_booked(conn, &lead, booking.id).await?;
            db::booking_notifications::schedule(conn, &booking, NotificationKind::Confirmation, Some(&link)).await?;
            let data = json!({
                "bookingId": booking.id, "bookingTypeId": bt.id, "bookingTypeName": bt.name,
                "hostId": host, "startsAt": booking.starts_at, "endsAt": booking.ends_at,
                "newLead": upserted.inserted,
            });
            db::lead_events::append(
                conn,
                bt.workspace_id,
                lead.id,
                LeadEventType::BookingCreated,
                &data,
                Actor::default(),
            )
            .await?;
            // Workflows start in the same transaction: booked means durable.
            db::triggers::booking_created(conn, bt.workspace_id, lead.id, booking.id, bt.id, data).await?;
            Ok(Ok(booking))
        })
        .await?;
    match outcome {
        Ok(booking) => Ok(Booked { booking, booking_type: bt, manage_token: Some(manage_token), replayed: false }),
        Err(first) => replay(first, bt, &replay_digest),
    }
}

/// Sets a lead still early in the funnel to BOOKED the way every status change goes: a
/// STATUS_CHANGED event, the default pipeline following (a database trigger), and the
/// LEAD_STATUS_CHANGED workflows it matches.
async fn mark_booked(conn: &mut AsyncPgConnection, lead: &LeadRow, booking_id: Uuid) -> AppResult<()> {
    let early = matches!(
        lead.status,
        LeadStatus::New | LeadStatus::Contacted | LeadStatus::Qualified | LeadStatus::Unresponsive
    );
    if !early {
        return Ok(());
    }
    let changes = LeadChanges { status: Some(LeadStatus::Booked), ..Default::default() };
    db::leads::update(conn, lead.id, changes).await?;
    let data = json!({ "from": lead.status, "to": LeadStatus::Booked, "bookingId": booking_id });
    let event = db::lead_events::append(
        conn,
        lead.workspace_id,
        lead.id,
        LeadEventType::StatusChanged,
        &data,
        Actor::default(),
    )
    .await?;
    db::triggers::lead_status_changed(
        conn,
        lead.workspace_id,
        lead.id,
        (lead.status, LeadStatus::Booked),
        event.id,
        None,
    )
    .await?;
    Ok(())
}

/// How a booking is found for a change: its attendee's token, or its id by a member.
enum Target<'a> {
    Token(&'a str),
    Id(Uuid),
}

async fn lock_target(conn: &mut AsyncPgConnection, target: &Target<'_>) -> AppResult<BookingRow> {
    let found = match target {
        Target::Token(t) => db::bookings::find_by_token_for_update(conn, &token::digest(t.trim())).await?,
        Target::Id(id) => db::bookings::find_for_update(conn, *id).await?,
    };
    let booking = found.ok_or(AppError::NotFound("booking"))?;
    if booking.status != BookingStatus::Confirmed {
        return Err(AppError::conflict("the booking is cancelled; book a new time instead"));
    }
    Ok(booking)
}

/// `link`: the manage link for the reschedule email, when the caller holds the token.
async fn reschedule(
    conn: &mut AsyncPgConnection,
    target: Target<'_>,
    start: DateTime<Utc>,
    actor: Actor,
    link: Option<String>,
) -> AppResult<(BookingRow, BookingTypeRow)> {
    conn.transaction::<_, AppError, _>(async move |conn| {
        let booking = lock_target(conn, &target).await?;
        let bt = db::booking_types::find(conn, booking.booking_type_id).await?.ok_or(AppError::NotFound("booking"))?;
        // The same host keeps the meeting: their schedule, and their other bookings, decide.
        let hosts: Vec<Host> =
            hosts_of(conn, &bt).await?.into_iter().filter(|h| h.user_id == booking.host_user_id).collect();
        let instant = (start, start + Duration::seconds(1));
        let offered = |slots: Vec<(Uuid, Vec<Slot>)>| slots.iter().any(|(_, s)| s.iter().any(|s| s.start == start));
        if !offered(host_slots(conn, &bt, &hosts, instant, false, Some(booking.id)).await?) {
            return Err(AppError::bad_input("start", "is not a time this booking type offers; ask availableSlots"));
        }
        if !offered(host_slots(conn, &bt, &hosts, instant, true, Some(booking.id)).await?) {
            return Err(AppError::conflict("start: that time is no longer free; choose another slot"));
        }
        let rules = rules_of(&bt);
        let slot = Slot { start, end: start + rules.duration };
        let busy = rules.busy_range(slot);
        let moved = db::bookings::reschedule(conn, booking.id, (slot.start, slot.end), (busy.start, busy.end))
            .await
            .map_err(double_booked)?;
        // The old reminders would name the old time: new ones follow the reschedule email.
        db::booking_notifications::drop_pending_reminders(conn, booking.id).await?;
        db::booking_notifications::schedule(conn, &moved, NotificationKind::Reschedule, link.as_deref()).await?;
        let data = json!({
            "bookingId": booking.id, "from": booking.starts_at, "to": moved.starts_at, "sequence": moved.sequence,
        });
        db::lead_events::append(
            conn,
            moved.workspace_id,
            moved.lead_id,
            LeadEventType::BookingRescheduled,
            &data,
            actor,
        )
        .await?;
        Ok((moved, bt))
    })
    .await
}

async fn cancel(
    conn: &mut AsyncPgConnection,
    target: Target<'_>,
    reason: Option<String>,
    actor: Actor,
) -> AppResult<(BookingRow, BookingTypeRow)> {
    let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 1000) {
        return Err(AppError::bad_input("reason", "must be at most 1000 characters"));
    }
    conn.transaction::<_, AppError, _>(async move |conn| {
        let booking = lock_target(conn, &target).await?;
        let bt = db::booking_types::find(conn, booking.booking_type_id).await?.ok_or(AppError::NotFound("booking"))?;
        let cancelled = db::bookings::cancel(conn, booking.id, reason.as_deref()).await?;
        db::booking_notifications::drop_pending_reminders(conn, booking.id).await?;
        db::booking_notifications::schedule(conn, &cancelled, NotificationKind::Cancellation, None).await?;
        let data = json!({ "bookingId": booking.id, "startsAt": booking.starts_at, "reason": reason });
        db::lead_events::append(
            conn,
            booking.workspace_id,
            booking.lead_id,
            LeadEventType::BookingCancelled,
            &data,
            actor,
        )
        .await?;
        Ok((cancelled, bt))
    })
    .await
}

/// The link to the page where the attendee reschedules or cancels.
pub fn manage_link(public_url: &str, token: &str) -> String {
    format!("{public_url}{MANAGE_PATH}?token={token}")
}

/// The booking a manage token names, with the slugs its page needs to ask `availableSlots`.
pub async fn managed(conn: &mut AsyncPgConnection, token: &str) -> AppResult<(BookingRow, BookingTypeRow, String)> {
    let booking =
        db::bookings::find_by_token(conn, &token::digest(token.trim())).await?.ok_or(AppError::NotFound("booking"))?;
    let bt = db::booking_types::find(conn, booking.booking_type_id).await?.ok_or(AppError::NotFound("booking"))?;
    let ws = db::workspaces::find(conn, bt.workspace_id).await?.ok_or(AppError::NotFound("booking"))?;
    Ok((booking, bt, ws.slug))
}

/// Moves a booking to `start` by its manage token (no account); the reschedule email carries
/// the manage link again.
pub async fn reschedule_by_token(
    conn: &mut AsyncPgConnection,
    public_url: &str,
    token: &str,
    start: DateTime<Utc>,
) -> AppResult<(BookingRow, BookingTypeRow)> {
    let link = manage_link(public_url, token.trim());
    reschedule(conn, Target::Token(token), start, Actor::default(), Some(link)).await
}

/// Cancels a booking by its manage token (no account); its time is offered again.
pub async fn cancel_by_token(
    conn: &mut AsyncPgConnection,
    token: &str,
    reason: Option<String>,
) -> AppResult<(BookingRow, BookingTypeRow)> {
    cancel(conn, Target::Token(token), reason, Actor::default()).await
}

/// Moves a booking to `start`. Needs MEMBER.
pub async fn reschedule_by_id(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    start: DateTime<Utc>,
) -> AppResult<Visible<BookingRow>> {
    let Visible { row, role } = access::load::<BookingRow>(conn, &caller.principal, id, Role::Member).await?;
    let (row, _) = reschedule(conn, Target::Id(row.id), start, actor_of(&caller.principal), None).await?;
    Ok(Visible { row, role })
}

/// Cancels a booking. Needs MEMBER.
pub async fn cancel_by_id(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    reason: Option<String>,
) -> AppResult<Visible<BookingRow>> {
    let Visible { row, role } = access::load::<BookingRow>(conn, &caller.principal, id, Role::Member).await?;
    let (row, _) = cancel(conn, Target::Id(row.id), reason, actor_of(&caller.principal)).await?;
    Ok(Visible { row, role })
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<BookingRow>> {
    access::load::<BookingRow>(conn, &caller.principal, id, Role::Viewer).await
}

/// One page of a workspace's bookings in time order; `host_member` is a member id. Needs VIEWER.
pub async fn page_for_workspace(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    mut filter: db::bookings::BookingFilter,
    host_member: Option<Uuid>,
    page: &db::paging::Page,
) -> AppResult<(Role, db::paging::Slice<BookingRow>)> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    if let Some(member) = host_member {
        let found = db::members::find(conn, member).await?.filter(|m| m.workspace_id == workspace_id);
        let member = found.ok_or_else(|| AppError::bad_input("filter.hostId", "is not a member of this workspace"))?;
        filter.host_user_id = Some(member.user_id);
    }
    Ok((role, db::bookings::page_for_workspace(conn, workspace_id, &filter, page).await?))
}

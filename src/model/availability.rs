//! Availability and bookable slots, as pure functions over a host's weekly hours, date
//! overrides and busy ranges. Hours are wall-clock times in the host's IANA time zone, so a
//! 09:00–17:00 day is 8 hours on an ordinary day and still 09:00–17:00 on a day the clocks
//! change: each slot's start and end are turned into instants separately, a wall time that
//! doesn't exist (spring forward) is skipped, and an ambiguous one (fall back) is its first
//! occurrence.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Hours on one weekday, `start` < `end`, both "HH:MM".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// A date's own hours (replacing the weekday's) or, when `unavailable`, no hours that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateOverride {
    pub date: NaiveDate,
    pub start: Option<NaiveTime>,
    pub end: Option<NaiveTime>,
    #[serde(default)]
    pub unavailable: bool,
}

/// A host's schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub time_zone: Tz,
    pub weekly: Vec<WeeklyHours>,
    pub overrides: Vec<DateOverride>,
}

/// The rules of a booking type that shape its slots.
#[derive(Debug, Clone, Copy)]
pub struct SlotRules {
    pub duration: Duration,
    pub increment: Duration,
    pub buffer_before: Duration,
    pub buffer_after: Duration,
    pub minimum_notice: Duration,
    pub window: Duration,
    /// Bookings per host per local day (in the host's zone).
    pub daily_limit: Option<u32>,
}

/// A time the host is taken: an existing booking's range, buffers included.
#[derive(Debug, Clone, Copy)]
pub struct Busy {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl SlotRules {
    /// The range a booking of `slot` keeps its host busy for.
    pub fn busy_range(&self, slot: Slot) -> Busy {
        Busy { start: slot.start - self.buffer_before, end: slot.end + self.buffer_after }
    }
}

/// The first instant a wall-clock time names in `tz`, if it exists.
fn instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

impl Schedule {
    /// The hours of a local date: its override's, else its weekday's.
    fn hours_on(&self, date: NaiveDate) -> Vec<(NaiveTime, NaiveTime)> {
        if let Some(o) = self.overrides.iter().find(|o| o.date == date) {
            return match (o.unavailable, o.start, o.end) {
                (false, Some(s), Some(e)) if s < e => vec![(s, e)],
                _ => Vec::new(),
            };
        }
        self.weekly
            .iter()
            .filter(|w| w.weekday == date.weekday() && w.start < w.end)
            .map(|w| (w.start, w.end))
            .collect()
    }

    /// Slots of `rules.duration` every `rules.increment` within the host's hours that start in
    /// `[from, to)`, honouring notice (from `now`), the booking window, busy ranges (with this
    /// booking's buffers) and the daily limit. `busy` may be in any order.
    pub fn slots(
        &self,
        rules: &SlotRules,
        busy: &[Busy],
        bookings_per_day: &dyn Fn(NaiveDate) -> u32,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        now: DateTime<Utc>,
    ) -> Vec<Slot> {
        let earliest = (now + rules.minimum_notice).max(from);
        let latest = (now + rules.window).min(to);
        if earliest >= latest || rules.increment <= Duration::zero() || rules.duration <= Duration::zero() {
            return Vec::new();
        }
        let tz = self.time_zone;
        // Local dates whose hours can reach the range, one day of margin for zone offsets.
        let first_day = earliest.with_timezone(&tz).date_naive() - Duration::days(1);
        let last_day = latest.with_timezone(&tz).date_naive() + Duration::days(1);
        let mut out = Vec::new();
        let mut day = first_day;
        while day <= last_day {
            let full = rules.daily_limit.is_some_and(|limit| bookings_per_day(day) >= limit);
            for (open, close) in if full { Vec::new() } else { self.hours_on(day) } {
                let closes_at = instant(tz, day, close);
                let mut local = open;
                // Wall-clock starts every increment; a meeting lasts its duration in real time.
                while local.overflowing_add_signed(rules.duration).1 == 0 && local + rules.duration <= close {
                    if let Some(start) = instant(tz, day, local) {
                        let slot = Slot { start, end: start + rules.duration };
                        let taken = rules.busy_range(slot);
                        let free = busy.iter().all(|b| b.end <= taken.start || b.start >= taken.end);
                        let inside = closes_at.is_none_or(|c| slot.end <= c);
                        if start >= earliest && start < latest && inside && free {
                            out.push(slot);
                        }
                    }
                    let (next, wrapped) = local.overflowing_add_signed(rules.increment);
                    if wrapped != 0 || next <= local {
                        break;
                    }
                    local = next;
                }
            }
            day += Duration::days(1);
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Parses "HH:MM" (24-hour).
pub fn parse_time(text: &str) -> Option<NaiveTime> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveTime {
        parse_time(s).expect("a time")
    }

    fn rules(minutes: i64) -> SlotRules {
        SlotRules {
            duration: Duration::minutes(minutes),
            increment: Duration::minutes(minutes),
            buffer_before: Duration::zero(),
            buffer_after: Duration::zero(),
            minimum_notice: Duration::zero(),
            window: Duration::days(365),
            daily_limit: None,
        }
    }

    fn nine_to_five(tz: Tz) -> Schedule {
        let weekly = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun]
            .into_iter()
            .map(|weekday| WeeklyHours { weekday, start: t("09:00"), end: t("17:00") })
            .collect();
        Schedule { time_zone: tz, weekly, overrides: Vec::new() }
    }

    fn day_range(tz: Tz, date: &str) -> (DateTime<Utc>, DateTime<Utc>) {
        let d: NaiveDate = date.parse().expect("date");
        let start = tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("t")).earliest().expect("start");
        let end =
            tz.from_local_datetime(&(d + Duration::days(1)).and_hms_opt(0, 0, 0).expect("t")).earliest().expect("end");
        (start.with_timezone(&Utc), end.with_timezone(&Utc))
    }

    fn none(_: NaiveDate) -> u32 {
        0
    }

    fn long_ago() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().expect("now")
    }

    #[test]
    fn hours_are_wall_clock_across_spring_forward_and_fall_back() {
        let tz: Tz = "America/New_York".parse().expect("zone");
        let s = nine_to_five(tz);
        for date in ["2026-03-08", "2026-11-01", "2026-06-10"] {
            let slots = s.slots(&rules(60), &[], &none, day_range(tz, date), long_ago());
            assert_eq!(slots.len(), 8, "{date}");
            let first = slots[0].start.with_timezone(&tz);
            assert_eq!(first.format("%H:%M").to_string(), "09:00", "{date}");
            assert!(slots.iter().all(|s| s.end - s.start == Duration::hours(1)), "{date}");
        }
        // 09:00 New York is 13:00 UTC in summer time and 14:00 UTC in winter time.
        let spring = s.slots(&rules(60), &[], &none, day_range(tz, "2026-03-08"), long_ago());
        assert_eq!(spring[0].start.to_rfc3339(), "2026-03-08T13:00:00+00:00");
        let autumn = s.slots(&rules(60), &[], &none, day_range(tz, "2026-11-01"), long_ago());
        assert_eq!(autumn[0].start.to_rfc3339(), "2026-11-01T14:00:00+00:00");
    }

    #[test]
    fn a_night_shift_skips_the_missing_hour_and_takes_the_repeated_one_once() {
        let tz: Tz = "Europe/Berlin".parse().expect("zone");
        let mut s = nine_to_five(tz);
        s.overrides = vec![
            DateOverride {
                date: "2026-03-29".parse().expect("d"),
                start: Some(t("01:00")),
                end: Some(t("04:00")),
                unavailable: false,
            },
            DateOverride {
                date: "2026-10-25".parse().expect("d"),
                start: Some(t("01:00")),
                end: Some(t("04:00")),
                unavailable: false,
            },
        ];
        // 02:00–03:00 does not exist on 29 March: the 02:00 slot is skipped.
        let spring = s.slots(&rules(60), &[], &none, day_range(tz, "2026-03-29"), long_ago());
        let starts: Vec<String> =
            spring.iter().map(|s| s.start.with_timezone(&tz).format("%H:%M").to_string()).collect();
        assert_eq!(starts, ["01:00", "03:00"]);
        // 02:00–03:00 happens twice on 25 October: the 02:00 slot is its first occurrence, and
        // every meeting lasts its hour in real time.
        let autumn = s.slots(&rules(60), &[], &none, day_range(tz, "2026-10-25"), long_ago());
        assert_eq!(autumn.len(), 3);
        assert_eq!(autumn[1].start.to_rfc3339(), "2026-10-25T00:00:00+00:00");
        assert!(autumn.iter().all(|s| s.end - s.start == Duration::hours(1)));
    }

    #[test]
    fn busy_ranges_buffers_notice_window_overrides_and_daily_limits() {
        let tz: Tz = "UTC".parse().expect("zone");
        let s = nine_to_five(tz);
        let day = day_range(tz, "2026-06-10");
        let mut r = rules(30);
        r.buffer_after = Duration::minutes(15);
        // Busy 10:00–11:00: with a 15-minute buffer after, 09:30 (ends 10:00, +15) is refused too.
        let busy = [Busy { start: day.0 + Duration::hours(10), end: day.0 + Duration::hours(11) }];
        let slots = s.slots(&r, &busy, &none, day, long_ago());
        let starts: Vec<String> = slots.iter().map(|s| s.start.format("%H:%M").to_string()).collect();
        assert_eq!(&starts[..2], ["09:00", "11:00"]);
        // Notice: at 12:10 with an hour's notice, the first slot is 13:30.
        let mut noticed = rules(30);
        noticed.minimum_notice = Duration::hours(1);
        let slots = s.slots(&noticed, &[], &none, day, day.0 + Duration::minutes(12 * 60 + 10));
        assert_eq!(slots[0].start.format("%H:%M").to_string(), "13:30");
        // The window ends the list.
        let mut windowed = rules(60);
        windowed.window = Duration::days(1);
        assert!(s.slots(&windowed, &[], &none, day_range(tz, "2026-06-12"), day.0).is_empty());
        // An unavailable date has nothing; a full day (daily limit) neither.
        let mut off = s.clone();
        off.overrides =
            vec![DateOverride { date: "2026-06-10".parse().expect("d"), start: None, end: None, unavailable: true }];
        assert!(off.slots(&rules(60), &[], &none, day, long_ago()).is_empty());
        let mut limited = rules(60);
        limited.daily_limit = Some(2);
        assert!(s.slots(&limited, &[], &|_| 2, day, long_ago()).is_empty());
        assert_eq!(s.slots(&limited, &[], &|_| 1, day, long_ago()).len(), 8);
    }
}

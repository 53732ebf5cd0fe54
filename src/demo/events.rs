//! A student's year of signals: card swipes at their sessions, VLE and other activity, and
//! the graduates of earlier years that the retention purge is shown on.

use std::io::Write;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{AcademicCalendar, DemoCounts, DemoSpec, Profile, SOURCES_OTHER, Session, Writers, people, rng_for};

pub(super) fn engaged_on(profile: &Profile, week: u32, day: NaiveDate) -> bool {
    profile.disengage_week.is_none_or(|w| week < w) && profile.absence.is_none_or(|(from, to)| day < from || day > to)
}

pub(super) fn generate_swipes(
    profile: &Profile,
    sessions: &[Session],
    rng: &mut ChaCha8Rng,
    w: &mut Writers,
    counts: &mut DemoCounts,
) -> std::io::Result<()> {
    let reader = |room: &str| format!("R-{room}");
    // A reader records one swipe per card per second: never write the same one twice.
    let mut written = std::collections::HashSet::new();
    let mut swipe = |w: &mut Writers,
                     counts: &mut DemoCounts,
                     room: &str,
                     at: NaiveDateTime,
                     reader: &str|
     -> std::io::Result<()> {
        if written.insert((room.to_string(), at)) {
            writeln!(w.swipes, "{},{room},{},{reader}", profile.id, iso(at))?;
            counts.swipes += 1;
        }
        Ok(())
    };
    for s in sessions {
        if !engaged_on(profile, s.week, s.starts.date()) || !rng.random_bool(profile.engagement * 0.92) {
            continue;
        }
        // Most arrive in the ten minutes before the start; some late; a few forget to swipe.
        let offset = rng.random_range(-25..15i64);
        let at = s.starts + Duration::minutes(offset) + Duration::seconds(rng.random_range(0..60));
        swipe(w, counts, &s.room, at, &reader(&s.room))?;
        match rng.random_range(0..100) {
            // A second tap a few minutes later: counts once.
            0..=4 => {
                let again = at + Duration::minutes(rng.random_range(1..20));
                if again <= s.ends {
                    swipe(w, counts, &s.room, again, &reader(&s.room))?;
                }
            }
            // Far too early: outside the window.
            5 => swipe(w, counts, &s.room, s.starts - Duration::minutes(rng.random_range(45..90)), &reader(&s.room))?,
            // A library gate, where no sessions are timetabled.
            6..=7 => swipe(w, counts, "LIB-GATE", at - Duration::hours(1), "R-LIB")?,
            _ => {}
        }
    }
    Ok(())
}

pub(super) fn generate_activity(
    spec: &DemoSpec,
    cal: &AcademicCalendar,
    profile: &Profile,
    rng: &mut ChaCha8Rng,
    w: &mut Writers,
    counts: &mut DemoCounts,
) -> std::io::Result<()> {
    let mut times = Vec::new();
    let mut day = cal.starts_on;
    while day <= cal.ends_on {
        let week = cal.teaching_week_of(day);
        let teaching = cal.is_teaching_day(day);
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let rhythm = match (teaching, weekend) {
            (true, _) => 1.0,
            (false, true) if cal.in_term(day) => 0.35,
            _ => 0.12,
        };
        let engaged = week.is_none_or(|week| engaged_on(profile, week, day))
            && profile.absence.is_none_or(|(from, to)| day < from || day > to);
        let active = if engaged { profile.engagement } else { 0.01 };
        let vle_rate = spec.vle_per_day * rhythm * active * if profile.distance { 1.4 } else { 1.0 };
        let n = poisson(rng, vle_rate);
        emit(rng, w, counts, &profile.id, day, "vle", n, &mut times)?;
        for (source, rate) in SOURCES_OTHER {
            let rate = rate * rhythm * active * if profile.distance && *source == "library" { 0.1 } else { 1.0 };
            let n = poisson(rng, rate);
            emit(rng, w, counts, &profile.id, day, source, n, &mut times)?;
        }
        // Coursework: a submission in weeks 6 and 11 of each term.
        if teaching
            && engaged
            && day.weekday() == Weekday::Fri
            && cal.week_in_term(day).is_some_and(|n| n == 6 || n == 11)
            && rng.random_bool(0.9)
        {
            emit(rng, w, counts, &profile.id, day, "submission", 1, &mut times)?;
        }
        day += Duration::days(1);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn emit(
    rng: &mut ChaCha8Rng,
    w: &mut Writers,
    counts: &mut DemoCounts,
    id: &str,
    day: NaiveDate,
    source: &str,
    n: u32,
    times: &mut Vec<u32>,
) -> std::io::Result<()> {
    if n == 0 {
        return Ok(());
    }
    times.clear();
    // Waking hours, 07:00 to 23:59, one row per distinct second (the key is the timestamp).
    times.extend((0..n).map(|_| rng.random_range(7 * 3600..86_400u32)));
    times.sort_unstable();
    times.dedup();
    for &t in times.iter() {
        let at = day.and_time(NaiveTime::from_num_seconds_from_midnight_opt(t, 0).expect("in range"));
        // 01:00-02:00 on the spring clock change does not exist locally; waking hours avoid it.
        let count = if source == "vle" { rng.random_range(1..6) } else { 1 };
        let duration = match source {
            "lecture-capture" | "online-meeting" => rng.random_range(300..3600).to_string(),
            _ => String::new(),
        };
        writeln!(w.activity()?, "{id},{},{source},{count},{duration}", iso(at))?;
        counts.activity += 1;
    }
    Ok(())
}

pub(super) fn generate_graduates(spec: &DemoSpec, w: &mut Writers, counts: &mut DemoCounts) -> std::io::Result<()> {
    // Former students who completed seven or more years ago: still held, due for erasure.
    let graduates = (spec.students / 50).max(2);
    for g in 0..graduates {
        let mut rng = rng_for(spec.seed, 4, u64::from(g));
        let id = format!("G{:07}", 1_000_000 + g);
        let (given, family) = people::name(&mut rng);
        let completed_year = spec.year - 7 - rng.random_range(0..2);
        let programme = people::programme(g);
        let completion = NaiveDate::from_ymd_opt(completed_year, 6, 30).expect("valid date");
        let start = NaiveDate::from_ymd_opt(completed_year - 3, 9, 22).expect("valid date");
        let status = if g % 5 == 4 { "withdrawn" } else { "completed" };
        writeln!(
            w.students,
            "{id},{given},{family},{}@alumni.example.ac.uk,{},{}6,{},6,3,full-time,{start},{completion},{completion},{status},{completion},,,SFE,{},,T{:04}",
            id.to_lowercase(),
            NaiveDate::from_ymd_opt(completed_year - 22, 3, 14).expect("valid date"),
            programme.code,
            programme.department,
            people::ethnicity(&mut rng),
            rng.random_range(1..400)
        )?;
        counts.students += 1;
        // Their last term's activity is still held too.
        for d in 0..10 {
            let at = NaiveDate::from_ymd_opt(completed_year, 5, 4).expect("valid date") + Duration::days(d * 3);
            let count = rng.random_range(1..5);
            writeln!(w.activity()?, "{id},{},vle,{count},", iso(at.and_hms_opt(11, 15, 0).expect("valid time")))?;
            counts.activity += 1;
        }
    }
    Ok(())
}

pub(super) fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    // Knuth's method: fine for the small rates used here.
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = rng.random::<f64>();
    while p > limit && k < 200 {
        k += 1;
        p *= rng.random::<f64>();
    }
    k
}

pub(super) fn iso(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

//! Maintenance-window start times: AWS's `cron(Minutes Hours Day-of-month Month
//! Day-of-week Year)` expressions (the EventBridge dialect AWS IoT uses), evaluated in
//! UTC. Supports `*`, `?`, lists, ranges, steps, month and weekday names and `L` (last
//! day of the month); `W` and `#` are refused with a message saying so. Written here
//! because the cron crates implement the Unix or Quartz dialects, whose fields, ranges and
//! weekday numbering differ (AWS counts SUN=1).

use time::{Date, OffsetDateTime, Time};

const MINUTE_MS: i64 = 60_000;
/// How far ahead an occurrence is searched for; AWS schedules at most two years out.
const HORIZON_DAYS: i64 = 3 * 366;

#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    /// Bit d for day d (1..=31).
    days: u32,
    last_day: bool,
    any_day: bool,
    months: u16,
    /// Bit w for weekday w, SUN=1..SAT=7.
    weekdays: u8,
    any_weekday: bool,
    /// Allowed years, or all when `None`.
    years: Option<Vec<u16>>,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(s: &str, names: &[&str], base: u32, field: &str) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u32 + base);
    }
    s.parse::<u32>()
        .map_err(|_| format!("`{s}` is not a valid value for the {field} field"))
}

/// The values a field allows, as a list of numbers in `min..=max`.
fn field(spec: &str, min: u32, max: u32, names: &[&str], field: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in spec.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("`{s}` is not a valid step in the {field} field"))?,
            ),
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, min, field)?, value(b, names, min, field)?)
        } else {
            let v = value(range, names, min, field)?;
            // `5/10` means from 5 to the end, every 10.
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!(
                "`{part}` is outside {min}-{max} in the {field} field"
            ));
        }
        out.extend((lo..=hi).step_by(step as usize));
    }
    Ok(out)
}

impl Cron {
    /// Parses `cron(...)`; the error says what is wrong in words a user can act on.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let inner = expr
            .trim()
            .strip_prefix("cron(")
            .and_then(|s| s.strip_suffix(')'))
            .ok_or("must have the form cron(Minutes Hours Day-of-month Month Day-of-week Year)")?;
        let f: Vec<&str> = inner.split_whitespace().collect();
        let [min, hour, dom, month, dow, year] = f.as_slice() else {
            return Err(format!(
                "needs 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), found {}",
                f.len()
            ));
        };
        if (*dom == "?") == (*dow == "?") {
            return Err("exactly one of Day-of-month and Day-of-week must be `?`".into());
        }
        if dom.contains('W') {
            return Err(
                "`W` (nearest weekday) in the Day-of-month field is not supported by the emulator"
                    .into(),
            );
        }
        if dow.contains('#') {
            return Err(
                "`#` (nth weekday) in the Day-of-week field is not supported by the emulator"
                    .into(),
            );
        }
        let bits64 = |v: Vec<u32>| v.into_iter().fold(0u64, |b, x| b | (1 << x));
        let mut c = Cron {
            minutes: bits64(field(min, 0, 59, &[], "Minutes")?),
            hours: bits64(field(hour, 0, 23, &[], "Hours")?) as u32,
            days: 0,
            last_day: false,
            any_day: *dom == "?",
            months: bits64(field(month, 1, 12, &MONTHS, "Month")?) as u16,
            weekdays: 0,
            any_weekday: *dow == "?",
            years: None,
        };
        if *dom == "L" {
            c.last_day = true;
        } else if *dom != "?" {
            c.days = bits64(field(dom, 1, 31, &[], "Day-of-month")?) as u32;
        }
        if *dow != "?" {
            let dow: &str = if *dow == "L" { "7" } else { dow };
            c.weekdays = bits64(field(dow, 1, 7, &WEEKDAYS, "Day-of-week")?) as u8;
        }
        if *year != "*" {
            c.years = Some(
                field(year, 1970, 2199, &[], "Year")?
                    .into_iter()
                    .map(|y| y as u16)
                    .collect(),
            );
        }
        Ok(c)
    }

    fn day_matches(&self, d: Date) -> bool {
        if let Some(ys) = &self.years {
            if !ys.contains(&(d.year() as u16)) {
                return false;
            }
        }
        if self.months & (1 << (d.month() as u8)) == 0 {
            return false;
        }
        let dom_ok = if self.any_day {
            true
        } else if self.last_day {
            d.next_day().is_none_or(|n| n.month() != d.month())
        } else {
            self.days & (1 << d.day()) != 0
        };
        let dow_ok =
            self.any_weekday || self.weekdays & (1 << (d.weekday().number_from_sunday())) != 0;
        dom_ok && dow_ok
    }

    /// The first start at or after `from_ms` (minute resolution), within three years.
    pub fn next_start(&self, from_ms: i64) -> Option<i64> {
        // Round up to the next whole minute.
        let from = from_ms.div_euclid(MINUTE_MS) * MINUTE_MS
            + if from_ms.rem_euclid(MINUTE_MS) == 0 {
                0
            } else {
                MINUTE_MS
            };
        let start = OffsetDateTime::from_unix_timestamp(from / 1000).ok()?;
        let day0 = start.date();
        let midnight = |d: Date| d.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp() * 1000;
        let mut d = day0;
        for _ in 0..HORIZON_DAYS {
            if self.day_matches(d) {
                let base = midnight(d);
                for h in 0..24u32 {
                    if self.hours & (1 << h) == 0 {
                        continue;
                    }
                    for m in 0..60u32 {
                        if self.minutes & (1 << m) == 0 {
                            continue;
                        }
                        let t = base + (h as i64 * 60 + m as i64) * MINUTE_MS;
                        if t >= from {
                            return Some(t);
                        }
                    }
                }
            }
            d = d.next_day()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        crate::validate::parse_date_time("t", s).unwrap()
    }

    #[test]
    fn daily_and_weekly() {
        let c = Cron::parse("cron(0 22 ? * SAT *)").unwrap();
        // 2026-01-01 is a Thursday; the next Saturday is the 3rd.
        assert_eq!(
            c.next_start(at("2026-01-01T00:00")),
            Some(at("2026-01-03T22:00"))
        );
        assert_eq!(
            c.next_start(at("2026-01-03T22:00")),
            Some(at("2026-01-03T22:00"))
        );
        assert_eq!(
            c.next_start(at("2026-01-03T22:01")),
            Some(at("2026-01-10T22:00"))
        );
        let d = Cron::parse("cron(30 */6 * * ? *)").unwrap();
        assert_eq!(
            d.next_start(at("2026-01-01T06:31")),
            Some(at("2026-01-01T12:30"))
        );
        let l = Cron::parse("cron(0 0 L * ? 2026)").unwrap();
        assert_eq!(
            l.next_start(at("2026-02-02T00:00")),
            Some(at("2026-02-28T00:00"))
        );
        assert_eq!(l.next_start(at("2027-01-01T00:00")), None);
        let m = Cron::parse("cron(15 10 1,15 JAN-MAR ? *)").unwrap();
        assert_eq!(
            m.next_start(at("2026-03-16T00:00")),
            Some(at("2027-01-01T10:15"))
        );
    }

    #[test]
    fn bad_expressions_say_why() {
        for (e, want) in [
            ("0 22 ? * SAT *", "form cron("),
            ("cron(0 22 * *)", "6 fields"),
            ("cron(0 22 * * MON *)", "exactly one"),
            ("cron(61 22 ? * MON *)", "0-59"),
            ("cron(0 22 ? * 2#1 *)", "not supported"),
            ("cron(0 x ? * MON *)", "Hours"),
        ] {
            let err = Cron::parse(e).unwrap_err();
            assert!(err.contains(want), "{e}: {err}");
        }
    }
}

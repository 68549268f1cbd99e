//! When a property is next inspected and patrolled, by its risk: the inspection plan's and the patrol grades'
//! rules. Pure: no I/O, no clock; the day is passed in.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::text_enum;

text_enum! {
    /// Why an inspection is due, in order of precedence (the first orders a line among those due the same day):
    /// `critical_order_open` (a pending critical rectification order: open, reported or overdue), `patrol_issue`
    /// (a patrol visit found an issue after the last inspection), `never_rated`, `expired` (the rating is past
    /// its validity), `interval` (the interval for the stars has run since the last inspection, or will have by
    /// `due_on`), `expiring` (a line not yet due whose rating runs out first).
    pub enum PlanReason {
        CriticalOrderOpen => "critical_order_open",
        AppealUpheld => "appeal_upheld",
        ReratingRequested => "rerating_requested",
        PatrolIssue => "patrol_issue",
        NeverRated => "never_rated",
        Expired => "expired",
        Interval => "interval",
        Expiring => "expiring",
    }
}

text_enum! {
    /// A property's patrol colour: `red` for 0–1 stars, a suspended property, or one never rated; `orange`
    /// 2 stars; `yellow` 3; `green` 4–5.
    pub enum PatrolGrade {
        Red => "red",
        Orange => "orange",
        Yellow => "yellow",
        Green => "green",
    }
}

/// Visits due per colour, in days between patrol visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatrolDays {
    pub red: u32,
    pub orange: u32,
    pub yellow: u32,
    pub green: u32,
}

impl Default for PatrolDays {
    fn default() -> Self {
        PatrolDays {
            red: 7,
            orange: 14,
            yellow: 30,
            green: 90,
        }
    }
}

impl PatrolDays {
    pub fn of(&self, grade: PatrolGrade) -> u32 {
        match grade {
            PatrolGrade::Red => self.red,
            PatrolGrade::Orange => self.orange,
            PatrolGrade::Yellow => self.yellow,
            PatrolGrade::Green => self.green,
        }
    }
}

/// Every number of the plan a town may tune (`ANZU_INSPECTION_PLAN`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanRules {
    /// Months from the last inspection to the next, indexed by stars (0..=5); 0 means "before the rating
    /// expires" only. Whatever the interval, an inspection is due by the rating's last valid day.
    pub interval_months_by_stars: [u32; 6],
    /// Lines due within this many days are listed ahead of time.
    pub horizon_days: u32,
    /// Days between patrol visits, by colour.
    pub patrol_visit_days: PatrolDays,
}

impl Default for PlanRules {
    fn default() -> Self {
        PlanRules {
            interval_months_by_stars: [1, 1, 3, 6, 12, 0],
            horizon_days: 30,
            patrol_visit_days: PatrolDays::default(),
        }
    }
}

impl PlanRules {
    /// Refuses rules that cannot be meant: a 0-star rating has no validity, so it needs an interval; intervals
    /// past ten years, a horizon past a year, a visit frequency of 0 or past a year.
    pub fn check(&self) -> Result<(), String> {
        if self.interval_months_by_stars[0] == 0 {
            return Err("interval_months_by_stars[0] must be at least 1: a 0-star rating never expires".into());
        }
        if self.interval_months_by_stars.iter().any(|&m| m > 120) {
            return Err("interval_months_by_stars are months from 0 to 120".into());
        }
        if self.horizon_days > 366 {
            return Err("horizon_days must be from 0 to 366".into());
        }
        let p = self.patrol_visit_days;
        if [p.red, p.orange, p.yellow, p.green]
            .iter()
            .any(|&d| !(1..=366).contains(&d))
        {
            return Err("patrol_visit_days are days from 1 to 366".into());
        }
        Ok(())
    }
}

/// What the plan knows of one property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub stars: Option<i32>,
    pub rating_valid_until: Option<NaiveDate>,
    pub last_inspected_on: Option<NaiveDate>,
    pub critical_order_open: bool,
    /// An appeal against its last inspection was upheld, and it is not inspected again yet.
    pub appeal_upheld: bool,
    /// Its landlord asked for a re-rating after fixing what failed.
    pub rerating_requested: bool,
    /// The latest patrol visit that found an issue.
    pub last_patrol_issue_on: Option<NaiveDate>,
}

/// When a property's next inspection is due, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub due_on: NaiveDate,
    /// Most pressing first (the order of [`PlanReason`]); never empty.
    pub reasons: Vec<PlanReason>,
}

/// The next inspection of a property as of `today`: never rated or a pending critical order or a patrol issue
/// since the last inspection makes it due today (or earlier, if already overdue); otherwise the interval for its
/// stars after the last inspection, and at the latest the rating's last valid day. Reasons that make it due by
/// `today` are listed; a line not yet due carries the reason its date comes from.
pub fn next_inspection(rules: &PlanRules, standing: &Standing, today: NaiveDate) -> Due {
    let mut reasons = Vec::new();
    let mut due_on = NaiveDate::MAX;
    if standing.critical_order_open {
        reasons.push(PlanReason::CriticalOrderOpen);
    }
    if standing.appeal_upheld {
        reasons.push(PlanReason::AppealUpheld);
    }
    if standing.rerating_requested {
        reasons.push(PlanReason::ReratingRequested);
    }
    let issue_since = match (standing.last_patrol_issue_on, standing.last_inspected_on) {
        (Some(issue), Some(inspected)) => issue > inspected,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if issue_since {
        reasons.push(PlanReason::PatrolIssue);
    }
    let (Some(stars), Some(last)) = (standing.stars, standing.last_inspected_on) else {
        reasons.push(PlanReason::NeverRated);
        return Due { due_on: today, reasons };
    };
    let months = usize::try_from(stars)
        .ok()
        .and_then(|s| rules.interval_months_by_stars.get(s).copied())
        .unwrap_or(0);
    let interval_due = (months > 0)
        .then(|| last.checked_add_months(Months::new(months)))
        .flatten();
    if let Some(until) = standing.rating_valid_until {
        due_on = until;
        if until < today {
            reasons.push(PlanReason::Expired);
        }
    }
    if let Some(interval_due) = interval_due {
        if interval_due <= due_on {
            due_on = interval_due;
        }
        if interval_due <= today {
            reasons.push(PlanReason::Interval);
        }
    }
    if !reasons.is_empty() {
        due_on = due_on.min(today);
    } else {
        reasons.push(if interval_due == Some(due_on) {
            PlanReason::Interval
        } else {
            PlanReason::Expiring
        });
    }
    Due { due_on, reasons }
}

/// A property's patrol colour from its stars and status (as read today). Never rated counts as red: nothing is
/// known of it yet.
pub fn patrol_grade(stars: Option<i32>, suspended: bool) -> PatrolGrade {
    match stars {
        _ if suspended => PatrolGrade::Red,
        None | Some(..=1) => PatrolGrade::Red,
        Some(2) => PatrolGrade::Orange,
        Some(3) => PatrolGrade::Yellow,
        Some(_) => PatrolGrade::Green,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn rated(stars: i32, last: &str, until: Option<&str>) -> Standing {
        Standing {
            stars: Some(stars),
            rating_valid_until: until.map(day),
            last_inspected_on: Some(day(last)),
            critical_order_open: false,
            appeal_upheld: false,
            rerating_requested: false,
            last_patrol_issue_on: None,
        }
    }

    #[test]
    fn intervals_follow_the_stars() {
        let rules = PlanRules::default();
        let today = day("2026-06-15");
        let cases = [
            (
                rated(1, "2026-06-01", Some("2026-09-01")),
                "2026-07-01",
                PlanReason::Interval,
            ),
            (
                rated(2, "2026-06-01", Some("2026-12-01")),
                "2026-09-01",
                PlanReason::Interval,
            ),
            (
                rated(3, "2026-06-01", Some("2027-06-01")),
                "2026-12-01",
                PlanReason::Interval,
            ),
            (
                rated(4, "2026-06-01", Some("2027-12-01")),
                "2027-06-01",
                PlanReason::Interval,
            ),
            (
                rated(5, "2026-06-01", Some("2028-06-01")),
                "2028-06-01",
                PlanReason::Expiring,
            ),
            (rated(0, "2026-06-01", None), "2026-07-01", PlanReason::Interval),
        ];
        for (standing, due_on, reason) in cases {
            let due = next_inspection(&rules, &standing, today);
            assert_eq!((due.due_on, due.reasons), (day(due_on), vec![reason]), "{standing:?}");
        }
    }

    #[test]
    fn overdue_keeps_its_date_and_triggers_make_it_due_today() {
        let rules = PlanRules::default();
        let today = day("2026-06-15");
        let expired = rated(5, "2024-06-01", Some("2026-06-01"));
        let due = next_inspection(&rules, &expired, today);
        assert_eq!(
            (due.due_on, due.reasons),
            (day("2026-06-01"), vec![PlanReason::Expired])
        );

        let mut critical = rated(4, "2026-06-01", Some("2027-12-01"));
        critical.critical_order_open = true;
        critical.last_patrol_issue_on = Some(day("2026-06-10"));
        let due = next_inspection(&rules, &critical, today);
        assert_eq!(
            (due.due_on, due.reasons),
            (today, vec![PlanReason::CriticalOrderOpen, PlanReason::PatrolIssue])
        );

        let mut before = rated(4, "2026-06-01", Some("2027-12-01"));
        before.last_patrol_issue_on = Some(day("2026-06-01"));
        assert_eq!(next_inspection(&rules, &before, today).reasons, [PlanReason::Interval]);

        let never = Standing {
            stars: None,
            rating_valid_until: None,
            last_inspected_on: None,
            critical_order_open: false,
            appeal_upheld: false,
            rerating_requested: false,
            last_patrol_issue_on: None,
        };
        assert_eq!(
            next_inspection(&rules, &never, today),
            Due {
                due_on: today,
                reasons: vec![PlanReason::NeverRated]
            }
        );
    }

    #[test]
    fn grades_and_rules() {
        assert_eq!(patrol_grade(None, false), PatrolGrade::Red);
        assert_eq!(patrol_grade(Some(5), true), PatrolGrade::Red);
        assert_eq!(patrol_grade(Some(1), false), PatrolGrade::Red);
        assert_eq!(patrol_grade(Some(2), false), PatrolGrade::Orange);
        assert_eq!(patrol_grade(Some(3), false), PatrolGrade::Yellow);
        assert_eq!(patrol_grade(Some(4), false), PatrolGrade::Green);
        assert!(PlanRules::default().check().is_ok());
        let mut bad = PlanRules::default();
        bad.interval_months_by_stars[0] = 0;
        assert!(bad.check().is_err());
        bad = PlanRules::default();
        bad.patrol_visit_days.red = 0;
        assert!(bad.check().is_err());
    }
}

//! Fire-safety rating engine: checklist results → score, stars, validity and due dates. Pure: no I/O, no clock.
//!
//! The rules (thresholds, caps, validity periods, due days) are all in [`RatingRules`] so a town
//! can tune them in settings; [`RatingRules::default`] gives the association's standard values.

use std::cmp::Ordering;

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::text_enum;

text_enum! {
    /// How serious a checklist item is when it fails: `critical` makes the rating 0 stars, `major` caps
    /// it, `minor` counts only through the score.
    pub enum Severity {
        Critical => "critical",
        Major => "major",
        Minor => "minor",
    }
}

impl Severity {
    /// 0 for the most severe; used to order items "most severe first".
    fn rank(self) -> u8 {
        match self {
            Severity::Critical => 0,
            Severity::Major => 1,
            Severity::Minor => 2,
        }
    }
}

text_enum! {
    /// The inspector's finding for one checklist item; `na` (not applicable) counts for neither side.
    pub enum Outcome {
        Pass => "pass",
        Fail => "fail",
        Na => "na",
    }
}

/// Every number of the rating a town may tune.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RatingRules {
    /// Minimum score for 5, 4, 3 and 2 stars, in that order; a lower score gives 1 star.
    pub star_thresholds: [u8; 4],
    /// The most stars a rating may have while any major item fails.
    pub major_failure_cap_stars: u8,
    /// The most stars a rating may have while any critical item fails.
    pub critical_failure_stars: u8,
    /// Months a rating stays valid, indexed by stars (0..=5); 0 means no validity.
    pub validity_months_by_stars: [u32; 6],
    /// Days to fix a failed critical item.
    pub due_days_critical: u32,
    /// Days to fix a failed major item.
    pub due_days_major: u32,
    /// Days to fix a failed minor item.
    pub due_days_minor: u32,
}

impl Default for RatingRules {
    fn default() -> Self {
        RatingRules {
            star_thresholds: [90, 80, 70, 60],
            major_failure_cap_stars: 2,
            critical_failure_stars: 0,
            validity_months_by_stars: [0, 3, 6, 12, 18, 24],
            due_days_critical: 1,
            due_days_major: 7,
            due_days_minor: 30,
        }
    }
}

impl RatingRules {
    /// Refuses rules that cannot be meant: thresholds out of order or above 100, caps above five stars.
    pub fn check(&self) -> Result<(), String> {
        let t = self.star_thresholds;
        if t.iter().any(|&v| v > 100) || !(t[0] >= t[1] && t[1] >= t[2] && t[2] >= t[3]) {
            return Err("star_thresholds must be scores from 100 down, for 5, 4, 3 and 2 stars".into());
        }
        if self.major_failure_cap_stars > 5 || self.critical_failure_stars > 5 {
            return Err("caps are stars from 0 to 5".into());
        }
        Ok(())
    }

    /// The most stars allowed while an item of this severity fails, if failing it caps at all.
    fn cap_for(&self, severity: Severity) -> Option<u8> {
        match severity {
            Severity::Critical => Some(self.critical_failure_stars),
            Severity::Major => Some(self.major_failure_cap_stars),
            Severity::Minor => None,
        }
    }
}

/// One item of a filled-in checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemResult<'a> {
    pub code: &'a str,
    pub severity: Severity,
    pub weight: u32,
    pub outcome: Outcome,
}

/// The result of rating an inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rating {
    /// 0..=100.
    pub score: u8,
    /// 0..=5.
    pub stars: u8,
    /// Last day covered by the rating; `None` for a rating with no validity (0 stars by default).
    pub valid_until: Option<NaiveDate>,
}

/// The cheapest way to the next star: which failed items to fix and the stars that gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextStar {
    /// The stars the rating reaches once `fix_items` pass (at least one more than now).
    pub stars: u8,
    /// Codes of the items to fix, most severe first, then by larger weight, then by code.
    pub fix_items: Vec<String>,
}

/// Sums of the weights that count for the score, and which capping severities failed.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    passed: u64,
    failed: u64,
    critical_failed: bool,
    major_failed: bool,
}

impl Tally {
    fn of(results: &[ItemResult<'_>]) -> Self {
        let mut tally = Tally::default();
        for item in results {
            let weight = u64::from(item.weight);
            match item.outcome {
                Outcome::Pass => tally.passed += weight,
                Outcome::Fail => {
                    tally.failed += weight;
                    match item.severity {
                        Severity::Critical => tally.critical_failed = true,
                        Severity::Major => tally.major_failed = true,
                        Severity::Minor => {}
                    }
                }
                Outcome::Na => {}
            }
        }
        tally
    }

    fn total(&self) -> u64 {
        self.passed + self.failed
    }
}

/// `round(100 × passed ÷ total)` with halves rounded up; 0 when nothing counted (`total == 0`).
fn score_of(passed: u64, total: u64) -> u8 {
    if total == 0 {
        return 0;
    }
    // round(x) = floor(x + 1/2) = floor((200 × passed + total) ÷ (2 × total)).
    let score = (200 * passed.min(total) + total) / (2 * total);
    u8::try_from(score).unwrap_or(100)
}

/// Stars earned by the score alone, before any cap. Nothing verified (no weight passed or failed)
/// earns 1 star whatever the thresholds say.
fn score_stars(rules: &RatingRules, score: u8, verified: bool) -> u8 {
    if !verified {
        return 1;
    }
    rules
        .star_thresholds
        .iter()
        .zip([5u8, 4, 3, 2])
        .find(|(threshold, _)| score >= **threshold)
        .map_or(1, |(_, stars)| stars)
}

/// Rates a filled-in checklist.
///
/// - `score` = round(100 × passed weight ÷ (passed weight + failed weight)), halves rounded up;
///   items with outcome `na` count for neither side.
/// - If no weight was passed or failed (only `na` results, or no results, or only zero weights),
///   nothing was verified: the score is 0 and the score earns **1 star** (not the 0 stars
///   reserved for critical failures); caps below still apply to failed zero-weight items.
/// - Stars from the score with [`RatingRules::star_thresholds`] (defaults: ≥ 90 → 5, ≥ 80 → 4,
///   ≥ 70 → 3, ≥ 60 → 2, else 1).
/// - Any failed major item caps the stars at [`RatingRules::major_failure_cap_stars`] (2); any
///   failed critical item caps them at [`RatingRules::critical_failure_stars`] (0).
/// - `valid_until` = `inspected_on` + [`RatingRules::validity_months_by_stars`] months for the
///   stars (24/18/12/6/3 at 5/4/3/2/1 stars), by chrono's `checked_add_months`, which clamps to
///   the end of a shorter month (2026-01-31 + 1 month = 2026-02-28). 0 months (0 stars by
///   default) gives `None`.
pub fn rate(rules: &RatingRules, results: &[ItemResult<'_>], inspected_on: NaiveDate) -> Rating {
    let tally = Tally::of(results);
    let score = score_of(tally.passed, tally.total());
    let mut stars = score_stars(rules, score, tally.total() > 0);
    if tally.major_failed {
        stars = stars.min(rules.major_failure_cap_stars);
    }
    if tally.critical_failed {
        stars = stars.min(rules.critical_failure_stars);
    }
    let months = rules
        .validity_months_by_stars
        .get(usize::from(stars))
        .copied()
        .unwrap_or(0);
    let valid_until = if months == 0 {
        None
    } else {
        inspected_on.checked_add_months(Months::new(months))
    };
    Rating {
        score,
        stars,
        valid_until,
    }
}

/// The day by which a failed item of this severity must be fixed: 1 / 7 / 30 days after the
/// inspection by default. Saturates at the last representable date.
pub fn due_on(rules: &RatingRules, severity: Severity, inspected_on: NaiveDate) -> NaiveDate {
    let days = match severity {
        Severity::Critical => rules.due_days_critical,
        Severity::Major => rules.due_days_major,
        Severity::Minor => rules.due_days_minor,
    };
    inspected_on
        .checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX)
}

/// The smallest set of failed items whose fixing lifts the rating by at least one star.
///
/// Returns `None` at 5 stars, or when no set of fixes lifts the stars (only when nothing can be
/// verified, e.g. all results `na`, or when a town's thresholds are unreachable).
///
/// Among the smallest sets the one preferred is the one whose items, sorted most severe first,
/// then by larger weight, then by code, come first lexicographically.
///
/// Why this gives a smallest set. Let `t` = current stars + 1. After fixing a set `S`, the stars
/// are `min(score stars, caps of the severities still failing)`, and the score depends only on
/// the total weight fixed (fixing moves weight from "failed" to "passed"; the denominator stays
/// the same, so the score grows with the fixed weight). Hence:
/// 1. A severity whose cap is below `t` must have *every* failed item in `S`: these items are
///    forced, in every solution. A severity whose cap is at least `t` does not constrain reaching
///    `t`, so its items are optional. There is only one target `t` (reaching more than `t` is
///    also reaching at least `t`), so there is no "lift the cap or not" choice left to weigh:
///    the forced set is exactly the classes capped below `t`, and no solution avoids them.
/// 2. What remains is reaching a weight `W` with the fewest optional items. The `k` heaviest
///    items have the largest sum of any `k` items, so the smallest `k` whose heaviest-`k` sum
///    reaches `W` is the minimum count (greedy by weight descending, *across* severities —
///    going severity-first could need more items when weights are tuned unusually).
/// 3. The tie-break then builds the preferred `k`-set item by item in (severity, weight desc,
///    code) order, taking an item whenever the set can still be completed: its weight plus the
///    heaviest remaining items after it still reach `W`.
pub fn next_star(rules: &RatingRules, results: &[ItemResult<'_>], inspected_on: NaiveDate) -> Option<NextStar> {
    let current = rate(rules, results, inspected_on).stars;
    if current >= 5 {
        return None;
    }
    let target = current + 1;
    let tally = Tally::of(results);
    let total = tally.total();
    let reaches = |fixed_weight: u64| {
        let score = score_of(tally.passed + fixed_weight, total);
        score_stars(rules, score, total > 0) >= target
    };
    let weight = |index: usize| u64::from(results[index].weight);

    // Indices of the failed items in preference order.
    let mut failed: Vec<usize> = (0..results.len())
        .filter(|&index| results[index].outcome == Outcome::Fail)
        .collect();
    failed.sort_by(|&a, &b| preference(&results[a], &results[b]));

    // Step 1: items of a severity capped below the target are forced.
    let (forced, optional): (Vec<usize>, Vec<usize>) = failed
        .into_iter()
        .partition(|&index| rules.cap_for(results[index].severity).is_some_and(|cap| cap < target));
    let forced_weight: u64 = forced.iter().map(|&index| weight(index)).sum();
    let heaviest_sum = |items: &[usize], count: usize| -> u64 {
        let mut weights: Vec<u64> = items.iter().map(|&index| weight(index)).collect();
        weights.sort_unstable_by(|a, b| b.cmp(a));
        weights.iter().take(count).sum()
    };

    // Step 2: the fewest optional items; `None` when even fixing them all does not reach.
    let count = (0..=optional.len()).find(|&k| reaches(forced_weight + heaviest_sum(&optional, k)))?;

    // Step 3: the preferred set of that size. Always finds an item: the heaviest-`count` set
    // found in step 2 is a completion.
    let mut fix = forced;
    let mut fixed_weight = forced_weight;
    let mut start = 0;
    for slot in 0..count {
        let slots_after = count - slot - 1;
        let pick = (start..optional.len()).find(|&at| {
            let with_item = fixed_weight + weight(optional[at]);
            reaches(with_item + heaviest_sum(&optional[at + 1..], slots_after))
        })?;
        fix.push(optional[pick]);
        fixed_weight += weight(optional[pick]);
        start = pick + 1;
    }
    fix.sort_by(|&a, &b| preference(&results[a], &results[b]));

    Some(NextStar {
        stars: stars_with_fixed(rules, results, &fix, inspected_on),
        fix_items: fix.iter().map(|&index| results[index].code.to_owned()).collect(),
    })
}

/// The stars the inspection would have with the items at `fix` passed.
fn stars_with_fixed(rules: &RatingRules, results: &[ItemResult<'_>], fix: &[usize], inspected_on: NaiveDate) -> u8 {
    let mut fixed = results.to_vec();
    for &index in fix {
        fixed[index].outcome = Outcome::Pass;
    }
    rate(rules, &fixed, inspected_on).stars
}

/// Most severe first, then larger weight, then code.
fn preference(a: &ItemResult<'_>, b: &ItemResult<'_>) -> Ordering {
    a.severity
        .rank()
        .cmp(&b.severity.rank())
        .then(b.weight.cmp(&a.weight))
        .then(a.code.cmp(b.code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn item(code: &str, severity: Severity, weight: u32, outcome: Outcome) -> ItemResult<'_> {
        ItemResult {
            code,
            severity,
            weight,
            outcome,
        }
    }

    /// One passed and one failed minor item with these weights.
    fn minors(passed: u32, failed: u32) -> Vec<ItemResult<'static>> {
        vec![
            item("P", Severity::Minor, passed, Outcome::Pass),
            item("F", Severity::Minor, failed, Outcome::Fail),
        ]
    }

    /// The inspection day used where the date does not matter.
    fn day() -> NaiveDate {
        date(2026, 11, 29)
    }

    #[test]
    fn defaults() {
        let rules = RatingRules::default();
        assert_eq!(rules.star_thresholds, [90, 80, 70, 60]);
        assert_eq!(rules.major_failure_cap_stars, 2);
        assert_eq!(rules.critical_failure_stars, 0);
        assert_eq!(rules.validity_months_by_stars, [0, 3, 6, 12, 18, 24]);
        assert_eq!(
            (rules.due_days_critical, rules.due_days_major, rules.due_days_minor),
            (1, 7, 30)
        );
        assert_eq!(Severity::Critical.as_str(), "critical");
        assert_eq!(Severity::Major.as_str(), "major");
        assert_eq!(Severity::Minor.as_str(), "minor");
        assert_eq!(Outcome::Pass.as_str(), "pass");
        assert_eq!(Outcome::Fail.as_str(), "fail");
        assert_eq!(Outcome::Na.as_str(), "na");
    }

    #[test]
    fn star_boundaries() {
        // (passed weight, failed weight, score, stars)
        let table = [
            (0, 100, 0, 1),
            (59, 41, 59, 1),
            (60, 40, 60, 2),
            (69, 31, 69, 2),
            (70, 30, 70, 3),
            (79, 21, 79, 3),
            (80, 20, 80, 4),
            (89, 11, 89, 4),
            (90, 10, 90, 5),
            (100, 0, 100, 5),
            // Halves round up: 59.5 → 60, 89.5 → 90; 89.4 → 89.
            (119, 81, 60, 2),
            (895, 105, 90, 5),
            (894, 106, 89, 4),
            // 2 of 3: 66.67 → 67.
            (2, 1, 67, 2),
        ];
        let rules = RatingRules::default();
        for (passed, failed, score, stars) in table {
            let rating = rate(&rules, &minors(passed, failed), day());
            assert_eq!(
                (rating.score, rating.stars),
                (score, stars),
                "passed {passed}, failed {failed}"
            );
        }
    }

    #[test]
    fn hundred_unit_items() {
        let rules = RatingRules::default();
        let codes: Vec<String> = (0..100).map(|n| format!("I{n:03}")).collect();
        for (passed, stars) in [(59, 1), (60, 2), (69, 2), (70, 3), (79, 3), (80, 4), (89, 4), (90, 5)] {
            let results: Vec<ItemResult<'_>> = codes
                .iter()
                .enumerate()
                .map(|(n, code)| {
                    let outcome = if n < passed { Outcome::Pass } else { Outcome::Fail };
                    item(code, Severity::Minor, 1, outcome)
                })
                .collect();
            let rating = rate(&rules, &results, day());
            assert_eq!(usize::from(rating.score), passed);
            assert_eq!(rating.stars, stars, "{passed} of 100 passed");
        }
    }

    #[test]
    fn na_counts_for_neither_side() {
        let rules = RatingRules::default();
        let mut results = minors(90, 10);
        results.push(item("N", Severity::Critical, 10, Outcome::Na));
        results.push(item("M", Severity::Major, 50, Outcome::Na));
        let rating = rate(&rules, &results, day());
        assert_eq!((rating.score, rating.stars), (90, 5));
    }

    #[test]
    fn nothing_verified_is_score_0_and_1_star() {
        let rules = RatingRules::default();
        let only_na = [
            item("A", Severity::Critical, 10, Outcome::Na),
            item("B", Severity::Minor, 2, Outcome::Na),
        ];
        for results in [&only_na[..], &[]] {
            let rating = rate(&rules, results, day());
            assert_eq!(
                rating,
                Rating {
                    score: 0,
                    stars: 1,
                    valid_until: Some(date(2027, 2, 28)),
                }
            );
        }
    }

    #[test]
    fn failed_minor_only_lowers_the_score() {
        let rules = RatingRules::default();
        let rating = rate(&rules, &minors(95, 5), day());
        assert_eq!(
            rating,
            Rating {
                score: 95,
                stars: 5,
                valid_until: Some(date(2028, 11, 29)),
            }
        );
    }

    #[test]
    fn failed_major_caps_at_2_stars() {
        let rules = RatingRules::default();
        let results = [
            item("P", Severity::Minor, 95, Outcome::Pass),
            item("M", Severity::Major, 5, Outcome::Fail),
        ];
        let rating = rate(&rules, &results, day());
        assert_eq!(
            rating,
            Rating {
                score: 95,
                stars: 2,
                valid_until: Some(date(2027, 5, 29)),
            }
        );
        // A major cap never raises a lower score.
        let results = [
            item("P", Severity::Minor, 50, Outcome::Pass),
            item("M", Severity::Major, 50, Outcome::Fail),
        ];
        assert_eq!(rate(&rules, &results, day()).stars, 1);
    }

    #[test]
    fn failed_critical_is_0_stars_without_validity() {
        let rules = RatingRules::default();
        let results = [
            item("P", Severity::Minor, 97, Outcome::Pass),
            item("C", Severity::Critical, 3, Outcome::Fail),
        ];
        let rating = rate(&rules, &results, day());
        assert_eq!(
            rating,
            Rating {
                score: 97,
                stars: 0,
                valid_until: None,
            }
        );
        let results = [
            item("P", Severity::Minor, 90, Outcome::Pass),
            item("M", Severity::Major, 5, Outcome::Fail),
            item("C", Severity::Critical, 5, Outcome::Fail),
        ];
        assert_eq!(rate(&rules, &results, day()).stars, 0);
    }

    #[test]
    fn validity_dates() {
        let rules = RatingRules::default();
        // (passed, failed, inspected on, valid until) with default months 24/18/12/6/3.
        let table = [
            (100, 0, date(2026, 11, 29), date(2028, 11, 29)),
            (80, 20, date(2026, 11, 29), date(2028, 5, 29)),
            (70, 30, date(2026, 11, 29), date(2027, 11, 29)),
            (60, 40, date(2026, 8, 31), date(2027, 2, 28)),
            (10, 90, date(2026, 11, 30), date(2027, 2, 28)),
            (100, 0, date(2026, 2, 28), date(2028, 2, 28)),
        ];
        for (passed, failed, on, until) in table {
            assert_eq!(rate(&rules, &minors(passed, failed), on).valid_until, Some(until));
        }
        // chrono's checked_add_months clamps to the last day of a shorter month.
        let monthly = RatingRules {
            validity_months_by_stars: [0, 1, 1, 1, 1, 1],
            ..RatingRules::default()
        };
        let rate_on = |on| rate(&monthly, &minors(1, 0), on).valid_until;
        assert_eq!(rate_on(date(2026, 1, 31)), Some(date(2026, 2, 28)));
        assert_eq!(rate_on(date(2028, 1, 31)), Some(date(2028, 2, 29)));
        assert_eq!(rate_on(date(2026, 3, 31)), Some(date(2026, 4, 30)));
        // A star level with 0 months has no validity.
        let none_at_5 = RatingRules {
            validity_months_by_stars: [0, 3, 6, 12, 18, 0],
            ..RatingRules::default()
        };
        assert_eq!(rate(&none_at_5, &minors(1, 0), day()).valid_until, None);
    }

    #[test]
    fn due_dates() {
        let rules = RatingRules::default();
        assert_eq!(due_on(&rules, Severity::Critical, day()), date(2026, 11, 30));
        assert_eq!(due_on(&rules, Severity::Major, day()), date(2026, 12, 6));
        assert_eq!(due_on(&rules, Severity::Minor, day()), date(2026, 12, 29));
        assert_eq!(due_on(&rules, Severity::Minor, date(2028, 2, 1)), date(2028, 3, 2));
        assert_eq!(due_on(&rules, Severity::Critical, NaiveDate::MAX), NaiveDate::MAX);
    }

    /// `next_star` with the default rules, as "stars: CODE,CODE" or "none".
    fn next(results: &[ItemResult<'_>]) -> String {
        match next_star(&RatingRules::default(), results, day()) {
            Some(next) => format!("{}: {}", next.stars, next.fix_items.join(",")),
            None => "none".to_owned(),
        }
    }

    #[test]
    fn next_star_must_fix_every_failed_critical() {
        let results = [
            item("P", Severity::Minor, 70, Outcome::Pass),
            item("ESC-01", Severity::Critical, 10, Outcome::Fail),
            item("ELEC-03", Severity::Critical, 10, Outcome::Fail),
            item("MGT-01", Severity::Minor, 10, Outcome::Fail),
        ];
        assert_eq!(rate(&RatingRules::default(), &results, day()).stars, 0);
        // Fixing both criticals: 90 → 5 stars; the minor is not needed.
        assert_eq!(next(&results), "5: ELEC-03,ESC-01");
    }

    #[test]
    fn next_star_at_0_stars_needs_criticals_only_even_with_a_major() {
        let results = [
            item("P", Severity::Minor, 40, Outcome::Pass),
            item("C", Severity::Critical, 10, Outcome::Fail),
            item("M", Severity::Major, 50, Outcome::Fail),
        ];
        // 1 star is the target: the major's cap of 2 does not stand in the way.
        assert_eq!(next(&results), "1: C");
    }

    #[test]
    fn next_star_lifts_a_major_cap() {
        let results = [
            item("P", Severity::Minor, 90, Outcome::Pass),
            item("GAS-02", Severity::Major, 5, Outcome::Fail),
            item("MGT-01", Severity::Minor, 5, Outcome::Fail),
        ];
        assert_eq!(rate(&RatingRules::default(), &results, day()).stars, 2);
        assert_eq!(next(&results), "5: GAS-02");
        // Capped and short on score: the major, then the heavier minor.
        let results = [
            item("P", Severity::Minor, 60, Outcome::Pass),
            item("M", Severity::Major, 5, Outcome::Fail),
            item("N1", Severity::Minor, 20, Outcome::Fail),
            item("N2", Severity::Minor, 15, Outcome::Fail),
        ];
        assert_eq!(next(&results), "4: M,N1");
    }

    #[test]
    fn next_star_fewest_items_then_most_severe() {
        // Score 52: one 40-weight minor beats three 2-weight majors (fewest items first).
        let results = [
            item("P", Severity::Minor, 50, Outcome::Pass),
            item("MA", Severity::Major, 2, Outcome::Fail),
            item("MB", Severity::Major, 2, Outcome::Fail),
            item("MC", Severity::Major, 2, Outcome::Fail),
            item("N", Severity::Minor, 40, Outcome::Fail),
        ];
        assert_eq!(rate(&RatingRules::default(), &results, day()).stars, 1);
        assert_eq!(next(&results), "2: N");
        // Score 55: any one item reaches 60; the major is preferred over heavier minors.
        let results = [
            item("P", Severity::Minor, 55, Outcome::Pass),
            item("N2", Severity::Minor, 35, Outcome::Fail),
            item("N1", Severity::Minor, 5, Outcome::Fail),
            item("M", Severity::Major, 5, Outcome::Fail),
        ];
        assert_eq!(next(&results), "2: M");
        // Same severity: the larger weight, then the code.
        let results = [
            item("P", Severity::Minor, 55, Outcome::Pass),
            item("B", Severity::Minor, 5, Outcome::Fail),
            item("A", Severity::Minor, 5, Outcome::Fail),
            item("C", Severity::Minor, 35, Outcome::Fail),
        ];
        assert_eq!(next(&results), "5: C");
        // 55/100; 60 needs +4.5 → 5: A or B alone (equal), the 4-weight items do not reach.
        let mut results = vec![
            item("P", Severity::Minor, 55, Outcome::Pass),
            item("B", Severity::Minor, 5, Outcome::Fail),
            item("A", Severity::Minor, 5, Outcome::Fail),
            item("D", Severity::Minor, 3, Outcome::Fail),
        ];
        results.extend(
            ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"].map(|code| item(code, Severity::Minor, 4, Outcome::Fail)),
        );
        assert_eq!(rate(&RatingRules::default(), &results, day()).score, 55);
        assert_eq!(next(&results), "2: A");
    }

    /// A table of cases, each with its arithmetic: longer than 60 lines, and clearer whole.
    #[test]
    fn next_star_pure_score_needs_several_items() {
        // 40/100 → 1 star; 60 needs +19.5 → 20: 10 + 8 = 18 is short, so three items.
        let results = [
            item("P", Severity::Minor, 40, Outcome::Pass),
            item("I", Severity::Minor, 6, Outcome::Fail),
            item("C", Severity::Minor, 6, Outcome::Fail),
            item("D", Severity::Minor, 6, Outcome::Fail),
            item("A", Severity::Minor, 10, Outcome::Fail),
            item("B", Severity::Minor, 8, Outcome::Fail),
            item("E", Severity::Minor, 6, Outcome::Fail),
            item("F", Severity::Minor, 6, Outcome::Fail),
            item("G", Severity::Minor, 6, Outcome::Fail),
            item("H", Severity::Minor, 6, Outcome::Fail),
        ];
        assert_eq!(next(&results), "2: A,B,C");
        // 40 of 100 passed; 60 needs 20 more weight: 10 + 8 + 3 is the fewest (3 items).
        let results = [
            item("P", Severity::Minor, 40, Outcome::Pass),
            item("A", Severity::Minor, 10, Outcome::Fail),
            item("B", Severity::Minor, 8, Outcome::Fail),
            item("C", Severity::Minor, 3, Outcome::Fail),
            item("D", Severity::Minor, 3, Outcome::Fail),
            item("E", Severity::Minor, 2, Outcome::Fail),
            item("F", Severity::Minor, 2, Outcome::Fail),
            item("G", Severity::Minor, 2, Outcome::Fail),
            item("H", Severity::Minor, 30, Outcome::Na),
        ];
        // Weights fail 30 of 70 counted: 40/70 = 57 → 1 star; needs 42/70 = 60.
        // Fewest is one item (A alone: 50/70 = 71 → 3 stars).
        assert_eq!(next(&results), "3: A");
        let results = [
            item("P", Severity::Minor, 40, Outcome::Pass),
            item("A", Severity::Minor, 10, Outcome::Fail),
            item("B", Severity::Minor, 8, Outcome::Fail),
            item("C", Severity::Minor, 3, Outcome::Fail),
            item("D", Severity::Minor, 3, Outcome::Fail),
            item("E", Severity::Minor, 2, Outcome::Fail),
            item("F", Severity::Minor, 2, Outcome::Fail),
            item("G", Severity::Minor, 32, Outcome::Fail),
        ];
        // 40/100 → 1 star; 60 needs +20: G alone (72 → 3 stars).
        assert_eq!(next(&results), "3: G");
        let results = [
            item("P", Severity::Minor, 40, Outcome::Pass),
            item("A", Severity::Minor, 10, Outcome::Fail),
            item("B", Severity::Minor, 8, Outcome::Fail),
            item("C", Severity::Minor, 3, Outcome::Fail),
            item("D", Severity::Minor, 3, Outcome::Fail),
            item("E", Severity::Minor, 2, Outcome::Fail),
            item("F", Severity::Minor, 2, Outcome::Fail),
            item("G", Severity::Minor, 2, Outcome::Fail),
            item("H", Severity::Minor, 30, Outcome::Fail),
        ];
        // 40/100 → 1 star; needs +19.5 → 20: H alone.
        assert_eq!(next(&results), "3: H");
        let results = [
            item("P", Severity::Minor, 50, Outcome::Pass),
            item("A", Severity::Minor, 6, Outcome::Fail),
            item("B", Severity::Minor, 5, Outcome::Fail),
            item("C", Severity::Minor, 5, Outcome::Fail),
            item("D", Severity::Minor, 4, Outcome::Fail),
            item("E", Severity::Minor, 4, Outcome::Fail),
            item("F", Severity::Minor, 4, Outcome::Fail),
            item("G", Severity::Minor, 4, Outcome::Fail),
            item("H", Severity::Minor, 4, Outcome::Fail),
            item("I", Severity::Minor, 4, Outcome::Fail),
            item("J", Severity::Minor, 4, Outcome::Fail),
            item("K", Severity::Minor, 3, Outcome::Fail),
            item("L", Severity::Minor, 3, Outcome::Fail),
        ];
        // 50/100 → 1 star; 60 needs +9.5 → 10: two items. Preferred pair: A (6) with the
        // first item completing it in order: B (5) → 61 → 2 stars.
        assert_eq!(next(&results), "2: A,B");
    }

    #[test]
    fn next_star_none() {
        // Already 5 stars.
        assert_eq!(next(&minors(95, 5)), "none");
        // Nothing verified: no fix can lift 1 star.
        assert_eq!(next(&[item("A", Severity::Minor, 3, Outcome::Na)]), "none");
        assert_eq!(next(&[]), "none");
        // Unreachable town thresholds.
        let strict = RatingRules {
            star_thresholds: [101, 101, 101, 101],
            ..RatingRules::default()
        };
        assert_eq!(next_star(&strict, &minors(50, 50), day()), None);
    }

    /// The preferred smallest fix set by brute force over all subsets of the failed items.
    fn brute_force(rules: &RatingRules, results: &[ItemResult<'_>]) -> Option<Vec<String>> {
        let stars = rate(rules, results, day()).stars;
        if stars >= 5 {
            return None;
        }
        let failed: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].outcome == Outcome::Fail)
            .collect();
        let mut best: Option<Vec<ItemResult<'_>>> = None;
        for mask in 0u32..(1 << failed.len()) {
            let mut fixed = results.to_vec();
            let mut set = Vec::new();
            for (bit, &index) in failed.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    fixed[index].outcome = Outcome::Pass;
                    set.push(results[index]);
                }
            }
            if rate(rules, &fixed, day()).stars <= stars {
                continue;
            }
            set.sort_by(preference);
            let better = match &best {
                None => true,
                Some(current) => {
                    set.len() < current.len()
                        || (set.len() == current.len()
                            && set
                                .iter()
                                .zip(current)
                                .map(|(a, b)| preference(a, b))
                                .find(|order| order.is_ne())
                                == Some(Ordering::Less))
                }
            };
            if better {
                best = Some(set);
            }
        }
        best.map(|set| set.iter().map(|item| item.code.to_owned()).collect())
    }

    /// Random checklists: fixing one failed item never lowers the stars, and `next_star` really
    /// reaches the next star — with the smallest, preferred set when small enough to brute-force.
    /// One generator and its checks, read together: longer than 60 lines on purpose.
    #[test]
    fn property_fixing_never_lowers_and_next_star_reaches() {
        let rules = RatingRules::default();
        let codes: Vec<String> = (0..40).map(|n| format!("I{n:02}")).collect();
        let mut rng = StdRng::seed_from_u64(0x616e_7a75);
        let mut seen = [0u32; 6];
        for case in 0..3000 {
            let len = rng.random_range(0..=if case % 2 == 0 { 12 } else { 40 });
            // Vary the mix per case so every star level comes up, not mostly 0 stars.
            let fail_percent = rng.random_range(0..=60);
            let capping_percent = rng.random_range(0..=60);
            let results: Vec<ItemResult<'_>> = codes[..len]
                .iter()
                .map(|code| {
                    let severity = if rng.random_range(0..100) >= capping_percent {
                        Severity::Minor
                    } else if rng.random_bool(0.5) {
                        Severity::Critical
                    } else {
                        Severity::Major
                    };
                    let outcome = match rng.random_range(0..100) {
                        n if n < fail_percent => Outcome::Fail,
                        n if n < 90 => Outcome::Pass,
                        _ => Outcome::Na,
                    };
                    item(code, severity, rng.random_range(1..=10), outcome)
                })
                .collect();
            let before = rate(&rules, &results, day());
            seen[usize::from(before.stars)] += 1;

            for index in 0..results.len() {
                if results[index].outcome == Outcome::Fail {
                    let mut fixed = results.clone();
                    fixed[index].outcome = Outcome::Pass;
                    let after = rate(&rules, &fixed, day());
                    assert!(after.stars >= before.stars, "case {case}: {results:?} fixing {index}");
                    assert!(after.score >= before.score, "case {case}: {results:?} fixing {index}");
                }
            }

            let next = next_star(&rules, &results, day());
            let verified = results.iter().any(|item| item.outcome != Outcome::Na);
            match &next {
                None => assert!(before.stars == 5 || !verified, "case {case}: {results:?}"),
                Some(next) => {
                    let mut fixed = results.clone();
                    for code in &next.fix_items {
                        let at = fixed.iter().position(|item| item.code == code).unwrap();
                        assert_eq!(fixed[at].outcome, Outcome::Fail, "case {case}");
                        fixed[at].outcome = Outcome::Pass;
                    }
                    let after = rate(&rules, &fixed, day()).stars;
                    assert!(after > before.stars, "case {case}: {results:?} → {next:?}");
                    assert_eq!(after, next.stars, "case {case}");
                }
            }
            let failed = results.iter().filter(|item| item.outcome == Outcome::Fail).count();
            if failed <= 12 {
                assert_eq!(
                    next.map(|next| next.fix_items),
                    brute_force(&rules, &results),
                    "case {case}: {results:?}"
                );
            }
        }
        assert!(seen.iter().all(|&count| count >= 100), "star levels seen: {seen:?}");
    }
}

//! What a store keeps so that a report over whole UTC days need not read
//! the deployments (issue 23's kept form): [`DeployTally`]s and
//! [`PrTally`]s per service (repository) and UTC day, as built, and added
//! up over spans of days as a report reads them.
//!
//! Why spans: the organisation's 90 days are some 45 000 kept days of
//! deployments and as many of pull requests. Decoded one tally each, the
//! report spent most of its time making and adding small tallies. A
//! report asks its kept days for a few windows only — its own, its trend's
//! buckets — so a store may add up a service's days between two of the
//! days those windows start or end at ([`KeptCuts`]) as it reads them
//! ([`KeptTallies`]): some 1 000 tallies instead. **Invariant:** a span
//! lies wholly inside or wholly outside every window a report asks of it
//! (checked in debug builds); its figures are then the days' exactly.

use crate::input::{Scope, Window};
use crate::{DeployTally, PrTally};
use lantern_events::*;
use std::collections::BTreeMap;
use std::ops::Range;

/// What a store hands over instead of the deployments: the tallies of the
/// scope's services over spans of days, from the earlier of the window's
/// start and 90 days before its first bucket's end (hygiene.md F1 looks
/// that far back) to its end, and which incidents are linked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeptDays {
    /// A tally per service and span of days; the spans of a service are
    /// disjoint, and every day on which a deployment of it finished is in
    /// one (a day with none is in none).
    pub tallies: Vec<((Name, DaySpan), DeployTally)>,
    /// Each (service, day) on which some deployment of it finished, of any
    /// environment and status: hygiene.md F7 counts each as an event.
    pub deployed: Vec<(Name, i64)>,
    /// Of the incidents handed over, those [`crate::Ledger::linked_incidents`]
    /// would find linked to a deployment.
    pub linked_incidents: foldhash::HashSet<EventId>,
    /// The organisation's pull-request tallies per repository and span of
    /// days of merge over the window's days, when kept: the organisation's
    /// report then needs no pull request (other scopes read theirs).
    pub pull_requests: Option<Vec<((Name, DaySpan), PrTally)>>,
}

/// UTC days `first..end` (days since the epoch) a kept tally covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DaySpan {
    pub first: i64,
    pub end: i64,
}

impl DaySpan {
    pub fn day(day: i64) -> Self {
        DaySpan {
            first: day,
            end: day + 1,
        }
    }

    /// Whether the span lies in `days`, a window's. It lies wholly inside
    /// or wholly outside (the module's invariant).
    fn within(self, days: &Range<i64>) -> bool {
        let inside = days.start <= self.first && self.end <= days.end;
        debug_assert!(
            inside || self.end <= days.start || days.end <= self.first,
            "kept span {self:?} straddles the days {days:?} of a window its cuts did not name"
        );
        inside
    }
}

/// The days at which the windows a report asks of its kept days start or
/// end. A store may add up a service's kept days that fall between the
/// same two cuts; `every_day` keeps each day apart, whatever is asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeptCuts(Option<Vec<i64>>);

impl KeptCuts {
    pub fn every_day() -> Self {
        KeptCuts(None)
    }

    /// The cuts of these windows (which start and end at midnights).
    pub fn of(windows: &[Window]) -> Self {
        let day = |t: Timestamp| t.micros().div_euclid(MICROS_PER_DAY);
        let mut cuts: Vec<i64> = windows
            .iter()
            .flat_map(|w| [day(w.from), day(w.to)])
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        KeptCuts(Some(cuts))
    }

    /// The cuts of a report over `window` and, with a trend, its buckets.
    pub fn of_report(window: Window, trend: Option<&[Window]>) -> Self {
        let asked: Vec<Window> = std::iter::once(window)
            .chain(trend.into_iter().flatten().copied())
            .collect();
        Self::of(&asked)
    }

    /// Which stretch between cuts `day` is in: days of one may be added up.
    fn segment(&self, day: i64) -> i64 {
        match &self.0 {
            None => day,
            Some(cuts) => cuts.partition_point(|&c| c <= day) as i64,
        }
    }
}

/// Tallies read day by day, each added into its service's tally of the
/// stretch between cuts its day is in.
pub struct KeptTallies<T> {
    cuts: KeptCuts,
    /// Each name's (segment, position in `out`), in reading order.
    open: foldhash::HashMap<Name, Vec<(i64, usize)>>,
    out: Vec<((Name, DaySpan), T)>,
}

impl<T: Default> KeptTallies<T> {
    pub fn new(cuts: KeptCuts) -> Self {
        KeptTallies {
            cuts,
            open: foldhash::HashMap::default(),
            out: Vec::new(),
        }
    }

    /// The tally `name`'s kept day `day` is to be added into.
    pub fn day(&mut self, name: &Name, day: i64) -> &mut T {
        let segment = self.cuts.segment(day);
        if !self.open.contains_key(name) {
            self.open.insert(name.clone(), Vec::new());
        }
        let open = self.open.get_mut(name).expect("inserted above");
        // Stores read by day, so a name's segment is most often its last.
        let found = (open.iter().rev())
            .find(|&&(s, _)| s == segment)
            .map(|&(_, at)| at);
        let at = match found {
            Some(at) => at,
            None => {
                self.out
                    .push(((name.clone(), DaySpan::day(day)), T::default()));
                open.push((segment, self.out.len() - 1));
                self.out.len() - 1
            }
        };
        let ((_, span), tally) = &mut self.out[at];
        span.first = span.first.min(day);
        span.end = span.end.max(day + 1);
        tally
    }

    pub fn finish(self) -> Vec<((Name, DaySpan), T)> {
        self.out
    }
}

impl KeptDays {
    /// The kept days a window holds: those from its start's to its end's
    /// (windows given with kept days start and end at midnights).
    pub(crate) fn days_of(window: &Window) -> Range<i64> {
        let day = |t: Timestamp| t.micros().div_euclid(MICROS_PER_DAY);
        day(window.from)..day(window.to)
    }

    /// The tallies of the scope's services over the window's days.
    pub fn in_window<'k, 's>(
        &'k self,
        scope: &'s Scope,
        window: &Window,
    ) -> impl Iterator<Item = (&'k Name, &'k DeployTally)> + use<'k, 's> {
        let days = Self::days_of(window);
        self.tallies
            .iter()
            .filter(move |((service, span), _)| span.within(&days) && scope.contains(service))
            .map(|((service, _), t)| (service, t))
    }

    /// The organisation's pull-request tallies over the window's days.
    pub(crate) fn pull_requests_in<'k>(
        kept: &'k [((Name, DaySpan), PrTally)],
        window: &Window,
    ) -> impl Iterator<Item = &'k PrTally> {
        let days = Self::days_of(window);
        (kept.iter())
            .filter(move |((_, span), _)| span.within(&days))
            .map(|(_, t)| t)
    }

    /// The days on which each of the scope's services had a successful
    /// production deployment in the window, in order.
    pub fn deploy_days<'k>(
        &'k self,
        scope: &Scope,
        window: &Window,
    ) -> BTreeMap<&'k Name, Vec<i64>> {
        let mut out: foldhash::HashMap<&Name, Vec<i64>> = foldhash::HashMap::default();
        for (service, t) in self.in_window(scope, window) {
            if !t.days.is_empty() {
                let days = out.entry(service).or_default();
                days.extend(t.days.iter().filter(|&&(_, n)| n > 0).map(|&(d, _)| d));
            }
        }
        for days in out.values_mut() {
            days.sort_unstable();
            days.dedup();
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn days_between_the_same_cuts_add_up_into_one_span() {
        let midnight = |d: i64| Timestamp::from_micros(d * MICROS_PER_DAY);
        let window = Window::new(midnight(10), midnight(20)).unwrap();
        let mut kept = KeptTallies::<u64>::new(KeptCuts::of(&[window]));
        for day in [3, 5, 10, 12, 19, 20, 25] {
            *kept.day(&name("api"), day) += 1;
        }
        *kept.day(&name("web"), 11) += 1;
        let spans: Vec<(String, DaySpan, u64)> = (kept.finish().into_iter())
            .map(|((n, span), t)| (n.to_string(), span, t))
            .collect();
        let span = |first, end| DaySpan { first, end };
        assert_eq!(
            spans,
            vec![
                ("api".into(), span(3, 6), 2),
                ("api".into(), span(10, 20), 3),
                ("api".into(), span(20, 26), 2),
                ("web".into(), span(11, 12), 1),
            ]
        );
    }

    #[test]
    fn every_day_keeps_each_day_apart() {
        let mut kept = KeptTallies::<u64>::new(KeptCuts::every_day());
        for day in [4, 4, 5] {
            *kept.day(&name("api"), day) += 1;
        }
        let spans: Vec<(DaySpan, u64)> = (kept.finish().into_iter())
            .map(|((_, span), t)| (span, t))
            .collect();
        assert_eq!(spans, vec![(DaySpan::day(4), 2), (DaySpan::day(5), 1)]);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "straddles")]
    fn a_window_its_cuts_did_not_name_is_caught() {
        let midnight = |d: i64| Timestamp::from_micros(d * MICROS_PER_DAY);
        let kept = KeptDays {
            tallies: vec![(
                (name("api"), DaySpan { first: 0, end: 10 }),
                DeployTally::default(),
            )],
            ..KeptDays::default()
        };
        let inside = Window::new(midnight(5), midnight(8)).unwrap();
        let _ = kept.in_window(&Scope::Org, &inside).count();
    }
}

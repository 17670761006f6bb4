//! The organisation page's content (issue 6), as data: every team and
//! service in alphabetical order with the bands of its four banded
//! metrics, and how many services sit in each band — a distribution, never
//! a ranking. Scopes a reader may not see are listed as withheld, with
//! the reason, and counted apart. Pure: reports in, rows out.

use lantern_engine::{Band, Report};

/// The four DORA metrics that have bands, in the order metrics.md gives.
pub const BANDED: [&str; 4] = [
    "deployment_frequency",
    "lead_time",
    "change_failure_rate",
    "failed_deployment_recovery_time",
];

/// What a reader may see of one scope.
#[derive(Debug, Clone)]
pub enum Figures {
    Shown(Box<Report>),
    /// Rule 2: why the figures are withheld from this reader.
    Withheld(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    /// A band per metric of [`BANDED`] (none: nothing to measure).
    pub bands: Option<[Option<Band>; 4]>,
    /// Why the figures are withheld, when they are.
    pub withheld: Option<String>,
}

/// How many services are in each band, per metric: the counts for elite,
/// high, medium, low, and nothing to measure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distribution {
    pub counts: [[u64; 5]; 4],
    /// Services whose figures this reader may not see.
    pub withheld: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    pub teams: Vec<Row>,
    pub services: Vec<Row>,
    pub distribution: Distribution,
}

fn bands(r: &Report) -> [Option<Band>; 4] {
    [
        r.deployment_frequency.band,
        r.lead_time.band,
        r.change_failure_rate.band,
        r.failed_deployment_recovery_time.band,
    ]
}

fn row(name: String, figures: &Figures) -> Row {
    match figures {
        Figures::Shown(r) => Row {
            name,
            bands: Some(bands(r)),
            withheld: None,
        },
        Figures::Withheld(why) => Row {
            name,
            bands: None,
            withheld: Some(why.clone()),
        },
    }
}

fn slot(band: Option<Band>) -> usize {
    match band {
        Some(Band::Elite) => 0,
        Some(Band::High) => 1,
        Some(Band::Medium) => 2,
        Some(Band::Low) => 3,
        None => 4,
    }
}

impl Overview {
    /// Rows sorted by name whatever order they come in: the page must
    /// never read as a league table.
    pub fn build(teams: &[(String, Figures)], services: &[(String, Figures)]) -> Overview {
        let mut distribution = Distribution::default();
        for (_, figures) in services {
            match figures {
                Figures::Shown(r) => {
                    for (metric, band) in bands(r).into_iter().enumerate() {
                        distribution.counts[metric][slot(band)] += 1;
                    }
                }
                Figures::Withheld(_) => distribution.withheld += 1,
            }
        }
        let sorted = |list: &[(String, Figures)]| {
            let mut rows: Vec<Row> = list.iter().map(|(n, f)| row(n.clone(), f)).collect();
            rows.sort_by(|a, b| {
                a.name
                    .to_lowercase()
                    .cmp(&b.name.to_lowercase())
                    .then(a.name.cmp(&b.name))
            });
            rows
        };
        Overview {
            teams: sorted(teams),
            services: sorted(services),
            distribution,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_engine::{EngineConfig, EventSet, Scope, Window, report};
    use lantern_events::{Name, Pseudonymiser, Timestamp, parse_event_json};

    /// A real report of `deploys` deployments of one service in March.
    fn shown(service: &str, deploys: usize) -> Figures {
        let p = Pseudonymiser::from_key([1; 32]);
        let events = (0..deploys).map(|i| {
            parse_event_json(
                &format!(
                    r#"{{"type":"deployment","id":"{service}-{i}","service":"{service}","environment":"production","finished_at":"2026-03-{:02}T10:00:00Z"}}"#,
                    i % 28 + 1
                ),
                &p,
            )
            .unwrap()
        });
        let window = Window::new(
            Timestamp::parse_bound("2026-03-01").unwrap(),
            Timestamp::parse_bound("2026-04-01").unwrap(),
        )
        .unwrap();
        let scope = Scope::Service(Name::parse(service).unwrap());
        let r = report(
            &EventSet::from_events(events),
            &scope,
            window,
            &EngineConfig::default(),
        );
        Figures::Shown(Box::new(r))
    }

    #[test]
    fn rows_are_alphabetical_and_bands_are_counted_not_ranked() {
        let services = vec![
            ("zeta".to_string(), shown("zeta", 60)),
            ("Alpha".to_string(), shown("Alpha", 1)),
            (
                "beta".to_string(),
                Figures::Withheld("fewer than 3 contributors".into()),
            ),
            ("gamma".to_string(), shown("gamma", 0)),
        ];
        let o = Overview::build(
            &[("payments".into(), Figures::Withheld("x".into()))],
            &services,
        );
        let names: Vec<&str> = o.services.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["Alpha", "beta", "gamma", "zeta"],
            "by name, never by figure"
        );
        assert_eq!(
            o.services[1].withheld.as_deref(),
            Some("fewer than 3 contributors")
        );
        assert!(o.services[1].bands.is_none());
        // Deployment frequency: every shown service is in exactly one slot.
        let df = o.distribution.counts[0];
        assert_eq!(df.iter().sum::<u64>(), 3);
        assert_eq!(o.distribution.withheld, 1);
        let zeta = o.services[3].bands.unwrap()[0];
        assert!(zeta.is_some(), "60 deployments in a month have a band");
        assert_eq!(
            df[slot(zeta)],
            if o.services[0].bands.unwrap()[0] == zeta {
                2
            } else {
                1
            }
        );
        assert_eq!(o.teams[0].withheld.as_deref(), Some("x"));
    }
}

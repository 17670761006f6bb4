//! A [`DeployTally`] as bytes, for the kept per-(service, day) tallies
//! (issue 23): a version byte, the counters, then the days and the three
//! duration and instant lists, each sorted and stored as LEB128 deltas.
//! A day's lead times sort into small gaps, so a tally of a dozen
//! deployments is a few dozen bytes.
//!
//! Order inside a list is not kept: every reader of a tally's lists
//! selects or sorts (`Stats::of_micros`, hygiene.md F1), and tallies add
//! up in any order.

use crate::codec::corrupt;
use crate::{Result, StoreError};
use lantern_engine::{DeployTally, PrTally};

const VERSION: u8 = 1;

pub fn encode_tally(t: &DeployTally) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 3 * t.lead_times.len());
    out.push(VERSION);
    for n in counters(t) {
        put(&mut out, n);
    }
    let days = t.day_counts();
    put(&mut out, days.len() as u64);
    let mut previous = 0i64;
    for (&day, &n) in &days {
        put(&mut out, zigzag(day.wrapping_sub(previous)));
        put(&mut out, n);
        previous = day;
    }
    for list in [&t.lead_times, &t.recoveries, &t.finishes] {
        put_sorted(&mut out, list);
    }
    out
}

#[cfg(test)]
fn decode_tally(blob: &[u8]) -> Result<DeployTally> {
    let mut t = DeployTally::default();
    add_tally(blob, &mut t)?;
    Ok(t)
}

/// Adds the tally `blob` holds into `into` without making it apart (a
/// report reads tens of thousands into a few hundred, `KeptTallies`). On
/// an error `into` holds part of it: the read it is for fails.
pub fn add_tally(blob: &[u8], into: &mut DeployTally) -> Result<()> {
    let mut r = Reader(blob);
    if r.byte()? != VERSION {
        return Err(bad());
    }
    let mut counts = [0u64; 23];
    for n in &mut counts {
        *n = r.count()?;
    }
    into.add(&with_counters(counts));
    let days = r.len()?;
    let mut day = 0i64;
    for _ in 0..days {
        day = day.wrapping_add(unzigzag(r.varint()?));
        into.days.push((day, r.count()?));
    }
    r.sorted_into(&mut into.lead_times)?;
    r.sorted_into(&mut into.recoveries)?;
    r.sorted_into(&mut into.finishes)?;
    match r.0.is_empty() {
        true => Ok(()),
        false => Err(bad()),
    }
}

/// A [`PrTally`]: its counters, then its five lists.
pub fn encode_pr_tally(t: &PrTally) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + 4 * t.sizes.len());
    out.push(VERSION);
    for n in [
        t.merged,
        t.negative_stages,
        t.large,
        t.review_kept,
        t.reviewed,
    ] {
        put(&mut out, n);
    }
    for list in [&t.coding, &t.pickup, &t.review, &t.deploy, &t.sizes] {
        put_sorted(&mut out, list);
    }
    out
}

#[cfg(test)]
fn decode_pr_tally(blob: &[u8]) -> Result<PrTally> {
    let mut t = PrTally::default();
    add_pr_tally(blob, &mut t)?;
    Ok(t)
}

/// Adds the [`PrTally`] `blob` holds into `into` (see [`add_tally`]).
pub fn add_pr_tally(blob: &[u8], into: &mut PrTally) -> Result<()> {
    let mut r = Reader(blob);
    if r.byte()? != VERSION {
        return Err(bad());
    }
    for n in [
        &mut into.merged,
        &mut into.negative_stages,
        &mut into.large,
        &mut into.review_kept,
        &mut into.reviewed,
    ] {
        *n += r.count()?;
    }
    r.sorted_into(&mut into.coding)?;
    r.sorted_into(&mut into.pickup)?;
    r.sorted_into(&mut into.review)?;
    r.sorted_into(&mut into.deploy)?;
    r.sorted_into(&mut into.sizes)?;
    match r.0.is_empty() {
        true => Ok(()),
        false => Err(bad()),
    }
}

fn bad() -> StoreError {
    corrupt("a kept deployment tally")
}

/// The counters, in the order they are stored.
fn counters(t: &DeployTally) -> [u64; 23] {
    [
        t.negative_lead_times,
        t.baselines,
        t.without_changes,
        t.unknown_shas,
        t.failed,
        t.causes.incident_explicit,
        t.causes.incident_inferred,
        t.causes.rollback,
        t.causes.hotfix,
        t.links.by_id,
        t.links.by_sha,
        t.links.inferred,
        t.negative_recovery_times,
        t.unresolved,
        t.rework,
        t.automation_stated,
        t.automated,
        t.rollbacks,
        t.attempts,
        t.succeeded,
        t.inverted,
        t.partial_rollouts,
        0, // room for one more count without a new version
    ]
}

/// A tally with the counters of [`counters`]' order (the spare dropped).
fn with_counters(c: [u64; 23]) -> DeployTally {
    let mut t = DeployTally {
        negative_lead_times: c[0],
        baselines: c[1],
        without_changes: c[2],
        unknown_shas: c[3],
        failed: c[4],
        negative_recovery_times: c[12],
        unresolved: c[13],
        rework: c[14],
        automation_stated: c[15],
        automated: c[16],
        rollbacks: c[17],
        attempts: c[18],
        succeeded: c[19],
        inverted: c[20],
        partial_rollouts: c[21],
        ..DeployTally::default()
    };
    (t.causes.incident_explicit, t.causes.incident_inferred) = (c[5], c[6]);
    (t.causes.rollback, t.causes.hotfix) = (c[7], c[8]);
    (t.links.by_id, t.links.by_sha, t.links.inferred) = (c[9], c[10], c[11]);
    t
}

fn put(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_sorted(out: &mut Vec<u8>, list: &[i64]) {
    let mut sorted = list.to_vec();
    sorted.sort_unstable();
    put(out, sorted.len() as u64);
    let mut previous = 0i64;
    for (i, v) in sorted.into_iter().enumerate() {
        match i {
            0 => put(out, zigzag(v)),
            _ => put(out, v.wrapping_sub(previous) as u64),
        }
        previous = v;
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

struct Reader<'b>(&'b [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let (&first, rest) = self.0.split_first().ok_or_else(bad)?;
        self.0 = rest;
        Ok(first)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(bad())
    }

    /// A count of items still to come: never more than the bytes left,
    /// so a corrupt count cannot ask for a huge allocation.
    fn len(&mut self) -> Result<usize> {
        let n = self.varint()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.0.len() => Ok(n),
            _ => Err(bad()),
        }
    }

    /// A count: no tally counts 2^40 of anything, so a larger one is
    /// corrupt — and millions of tallies add up without overflowing.
    fn count(&mut self) -> Result<u64> {
        match self.varint()? {
            n if n < 1 << 40 => Ok(n),
            _ => Err(bad()),
        }
    }

    /// Appends a sorted list to `out`.
    fn sorted_into(&mut self, out: &mut Vec<i64>) -> Result<()> {
        let n = self.len()?;
        out.reserve(n);
        let mut previous = 0i64;
        for i in 0..n {
            let v = match i {
                0 => unzigzag(self.varint()?),
                _ => previous.wrapping_add(self.varint()? as i64),
            };
            out.push(v);
            previous = v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_engine::rng::Rng;

    fn random_tally(rng: &mut Rng) -> DeployTally {
        let mut t = with_counters(std::array::from_fn(|i| match i {
            22 => 0,
            _ => {
                let bits = rng.below(40) + 1;
                rng.below(1 << bits)
            }
        }));
        let list = |rng: &mut Rng| -> Vec<i64> {
            (0..rng.below(20))
                .map(|_| rng.below(1 << 50) as i64 - (1 << 40))
                .collect()
        };
        (t.lead_times, t.recoveries, t.finishes) = (list(rng), list(rng), list(rng));
        for _ in 0..rng.below(4) {
            t.days
                .push((rng.below(40_000) as i64 - 1_000, 1 + rng.below(100)));
        }
        t
    }

    #[test]
    fn a_tally_comes_back_as_it_went_in_its_lists_sorted() {
        let mut rng = Rng::new(23);
        for _ in 0..500 {
            let mut t = random_tally(&mut rng);
            let back = decode_tally(&encode_tally(&t)).unwrap();
            for list in [&mut t.lead_times, &mut t.recoveries, &mut t.finishes] {
                list.sort_unstable();
            }
            // Days come back summed per day, in order.
            t.days = t.day_counts().into_iter().collect();
            assert_eq!(back, t);
        }
        let extreme = DeployTally {
            lead_times: vec![i64::MIN, -1, 0, i64::MAX],
            failed: (1 << 40) - 1,
            ..DeployTally::default()
        };
        assert_eq!(decode_tally(&encode_tally(&extreme)).unwrap(), extreme);
        // A count no tally reaches is corrupt, not an overflow later.
        let absurd = DeployTally {
            failed: u64::MAX,
            ..DeployTally::default()
        };
        assert!(decode_tally(&encode_tally(&absurd)).is_err());
    }

    #[test]
    fn tallies_added_from_their_bytes_are_their_sum() {
        let mut rng = Rng::new(31);
        for _ in 0..50 {
            let parts: Vec<DeployTally> =
                (0..rng.below(6)).map(|_| random_tally(&mut rng)).collect();
            let mut from_bytes = DeployTally::default();
            let mut summed = DeployTally::default();
            for t in &parts {
                add_tally(&encode_tally(t), &mut from_bytes).unwrap();
                summed.add(&decode_tally(&encode_tally(t)).unwrap());
            }
            assert_eq!(from_bytes, summed);
        }
    }

    #[test]
    fn a_pull_request_tally_comes_back_as_it_went_in() {
        let mut rng = Rng::new(29);
        for _ in 0..300 {
            let list = |rng: &mut Rng| -> Vec<i64> {
                let mut v: Vec<i64> = (0..rng.below(12))
                    .map(|_| rng.below(1 << 45) as i64)
                    .collect();
                v.sort_unstable();
                v
            };
            let t = PrTally {
                merged: rng.below(1000),
                negative_stages: rng.below(10),
                large: rng.below(10),
                review_kept: rng.below(100),
                reviewed: rng.below(100),
                coding: list(&mut rng),
                pickup: list(&mut rng),
                review: list(&mut rng),
                deploy: list(&mut rng),
                sizes: list(&mut rng),
            };
            let blob = encode_pr_tally(&t);
            assert_eq!(decode_pr_tally(&blob).unwrap(), t);
            for cut in 0..blob.len() {
                assert!(decode_pr_tally(&blob[..cut]).is_err());
            }
        }
    }

    #[test]
    fn corrupt_bytes_are_an_error_never_a_panic() {
        let mut rng = Rng::new(5);
        let good = encode_tally(&random_tally(&mut rng));
        for cut in 0..good.len() {
            assert!(decode_tally(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(decode_tally(&longer).is_err());
        for _ in 0..2_000 {
            let bytes: Vec<u8> = (0..rng.below(80)).map(|_| rng.below(256) as u8).collect();
            let _ = decode_tally(&bytes);
        }
        assert!(
            decode_tally(&[
                VERSION, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ])
            .is_err()
        );
    }
}

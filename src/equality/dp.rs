//! The differentially private release, built from OpenDP's proven parts.
//!
//! The dataset is one record per student (the privacy unit); each record holds the
//! student's cell in every released table. Each table is a chain of: take that table's
//! field of every record (row by row, so 1-stable under the symmetric distance), count
//! records per cell (`make_count_by_categories`), add noise. The tables are composed with
//! `make_composition`, so OpenDP's privacy map gives the epsilon of the whole release for
//! the configured neighbouring relation, and that is what the ledger is charged.
//!
//! OpenDP measurements are not `Send`: everything here is synchronous and is called after
//! the exact records have been collected from DataFusion.

use opendp::accuracy::{discrete_gaussian_scale_to_accuracy, discrete_laplacian_scale_to_accuracy};
use opendp::combinators::{make_chain_mt, make_chain_tt, make_composition, make_zCDP_to_approxDP};
use opendp::core::{Function, Measurement, StabilityMap, Transformation};
use opendp::domains::{AtomDomain, VectorDomain};
use opendp::measurements::{make_gaussian, make_laplace};
use opendp::measures::{MaxDivergence, ZeroConcentratedDivergence};
use opendp::metrics::{L1Distance, L2Distance, SymmetricDistance};
use opendp::transformations::make_count_by_categories;

use crate::config::Mechanism;
use crate::error::{Error, Result};

/// Separates the fields of a student record.
pub const SEP: char = '\u{1f}';

/// What is released: tables of counts over fixed cells, one record per student.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Noise mechanism.
    pub mechanism: Mechanism,
    /// Symmetric distance between neighbouring datasets (1 add/remove, 2 replace).
    pub d_in: u32,
    /// Delta at which a Gaussian release is charged.
    pub delta: f64,
    /// The cells of each table; record field `i` holds the student's cell in table `i`
    /// (or nothing that is a cell, when the student is not in that table's population).
    pub tables: Vec<Vec<String>>,
}

/// A calibrated release: its noise scale and the epsilon OpenDP's privacy map charges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Noise scale of every count.
    pub scale: f64,
    /// Epsilon of the whole release (every table composed).
    pub epsilon: f64,
}

type Records = Vec<String>;
/// The dataset: one record per student.
type Students = VectorDomain<AtomDomain<String>>;
type Measured = Measurement<Students, SymmetricDistance, MaxDivergence, Vec<Vec<i64>>>;
type MeasuredZcdp = Measurement<Students, SymmetricDistance, ZeroConcentratedDivergence, Vec<Vec<i64>>>;

fn fail(e: opendp::error::Error) -> Error {
    // The message only: OpenDP's debug form carries a backtrace.
    Error::Internal(format!("differential privacy: {:?}: {}", e.variant, e.message.unwrap_or_default()))
}

/// Field `i` of each record: a row-by-row map, so neighbouring inputs stay neighbours.
fn field(i: usize) -> Result<Transformation<Students, SymmetricDistance, Students, SymmetricDistance>> {
    let domain = VectorDomain::new(AtomDomain::<String>::default());
    Transformation::new(
        domain.clone(),
        SymmetricDistance,
        domain,
        SymmetricDistance,
        Function::new(move |records: &Records| {
            records.iter().map(|r| r.split(SEP).nth(i).unwrap_or_default().to_string()).collect()
        }),
        StabilityMap::new_from_constant(1u32),
    )
    .map_err(fail)
}

/// The composition, over every table of a plan, of: the table's field of each record,
/// counts per cell, noise. `$metric` is the counts' distance the noise is calibrated to.
macro_rules! composed {
    ($plan:expr, $scale:expr, $metric:ty, $measure:ty, $noise:ident) => {{
        let mut parts = Vec::with_capacity($plan.tables.len());
        for (i, cells) in $plan.tables.iter().enumerate() {
            let count = make_count_by_categories::<$metric, String, i64>(
                VectorDomain::new(AtomDomain::default()),
                SymmetricDistance,
                cells.clone(),
                false,
            )
            .map_err(fail)?;
            let noise =
                $noise::<_, _, $measure>(count.output_domain.clone(), count.output_metric.clone(), $scale, None)
                    .map_err(fail)?;
            let counted = make_chain_tt(&count, &field(i)?).map_err(fail)?;
            parts.push(make_chain_mt(&noise, &counted).map_err(fail)?);
        }
        make_composition(parts).map_err(fail)
    }};
}

impl Plan {
    fn laplace(&self, scale: f64) -> Result<Measured> {
        composed!(self, scale, L1Distance<i64>, MaxDivergence, make_laplace)
    }

    fn gaussian(&self, scale: f64) -> Result<MeasuredZcdp> {
        composed!(self, scale, L2Distance<i64>, ZeroConcentratedDivergence, make_gaussian)
    }

    /// The epsilon OpenDP's privacy map gives this release at `scale`.
    pub fn epsilon_at(&self, scale: f64) -> Result<f64> {
        match self.mechanism {
            Mechanism::Laplace => self.laplace(scale)?.map(&self.d_in).map_err(fail),
            Mechanism::Gaussian => {
                let approx = make_zCDP_to_approxDP(self.gaussian(scale)?).map_err(fail)?;
                approx.map(&self.d_in).map_err(fail)?.epsilon(self.delta).map_err(fail)
            }
        }
    }

    /// Zero-concentrated DP's rho of a Gaussian release at `scale` (what Gaussian releases
    /// compose by); 0 for Laplace, which composes by epsilon.
    pub fn rho_at(&self, scale: f64) -> Result<f64> {
        match self.mechanism {
            Mechanism::Laplace => Ok(0.0),
            Mechanism::Gaussian => self.gaussian(scale)?.map(&self.d_in).map_err(fail),
        }
    }

    /// The smallest noise scale whose release costs at most `epsilon` (found by bisection
    /// on OpenDP's own privacy map, so its rounding is respected).
    pub fn calibrate(&self, epsilon: f64) -> Result<Calibration> {
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(Error::Usage("epsilon must be a positive number".into()));
        }
        if self.tables.is_empty() {
            return Err(Error::Internal("a release needs at least one table".into()));
        }
        // A scale too small for OpenDP's map to give a finite epsilon costs too much.
        let cost = |scale: f64| self.epsilon_at(scale).unwrap_or(f64::INFINITY);
        // Analytic starting point: the Laplace scale that spends epsilon exactly.
        let mut hi = f64::from(self.d_in) * self.tables.len() as f64 / epsilon;
        let mut doublings = 0;
        while cost(hi) > epsilon {
            hi *= 2.0;
            doublings += 1;
            if doublings > 64 {
                // Not a matter of scale: report OpenDP's own reason.
                self.epsilon_at(hi)?;
                return Err(Error::Internal("no noise scale meets the requested epsilon".into()));
            }
        }
        let mut lo = hi / 1024.0;
        if cost(lo) <= epsilon {
            return Ok(Calibration { scale: lo, epsilon: self.epsilon_at(lo)? });
        }
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if cost(mid) <= epsilon {
                hi = mid;
            } else {
                lo = mid;
            }
            if hi - lo <= hi * 1e-9 {
                break;
            }
        }
        Ok(Calibration { scale: hi, epsilon: self.epsilon_at(hi)? })
    }

    /// Draws the noisy counts of every table from the records.
    pub fn release(&self, scale: f64, records: &Records) -> Result<Vec<Vec<i64>>> {
        match self.mechanism {
            Mechanism::Laplace => self.laplace(scale)?.invoke(records).map_err(fail),
            Mechanism::Gaussian => self.gaussian(scale)?.invoke(records).map_err(fail),
        }
    }

    /// Half-width of the interval that holds one count's noise with probability
    /// `confidence` (OpenDP's accuracy functions).
    pub fn accuracy(&self, scale: f64, confidence: f64) -> Result<f64> {
        let alpha = 1.0 - confidence;
        match self.mechanism {
            Mechanism::Laplace => discrete_laplacian_scale_to_accuracy(scale, alpha).map_err(fail),
            Mechanism::Gaussian => discrete_gaussian_scale_to_accuracy(scale, alpha).map_err(fail),
        }
    }

    /// Half-width for a sum of `n` published (non-negative) counts. Setting a negative count
    /// to 0 only moves it towards the true count, so the error of the sum is at most the sum
    /// of the `n` absolute noises. That sum's distribution is computed exactly (by
    /// convolution) and its `confidence` quantile returned; where that would be too costly,
    /// the union bound is used instead (each count within the accuracy at
    /// `(1 - confidence) / n`). Both hold with at least the confidence asked for.
    pub fn sum_accuracy(&self, scale: f64, confidence: f64, n: usize) -> Result<f64> {
        if n <= 1 {
            return self.accuracy(scale, confidence);
        }
        let union = n as f64 * self.accuracy(scale, 1.0 - (1.0 - confidence) / n as f64)?;
        let single = self.abs_noise_pmf(scale);
        if (single.len() * n).pow(2) > 200_000_000 {
            return Ok(union);
        }
        let mut sum = single.clone();
        for _ in 1..n {
            let mut next = vec![0.0; sum.len() + single.len() - 1];
            for (i, p) in sum.iter().enumerate() {
                for (j, q) in single.iter().enumerate() {
                    next[i + j] += p * q;
                }
            }
            sum = truncate_tail(next);
        }
        let mut cumulative = 0.0;
        for (t, p) in sum.iter().enumerate() {
            cumulative += p;
            if cumulative >= confidence {
                return Ok((t as f64).min(union));
            }
        }
        Ok(union)
    }

    /// P(|noise| = k) for k = 0, 1, ..., with the far tail (below 1e-15) folded into the
    /// last value kept, which can only make quantiles larger.
    fn abs_noise_pmf(&self, scale: f64) -> Vec<f64> {
        if scale <= 0.0 {
            return vec![1.0];
        }
        let weight = |k: f64| match self.mechanism {
            Mechanism::Laplace => (-k / scale).exp(),
            Mechanism::Gaussian => (-k * k / (2.0 * scale * scale)).exp(),
        };
        let mut weights = vec![weight(0.0)];
        let mut k = 1.0;
        while weight(k) > 1e-18 * weights[0] {
            weights.push(2.0 * weight(k));
            k += 1.0;
        }
        let total: f64 = weights.iter().sum();
        truncate_tail(weights.into_iter().map(|w| w / total).collect())
    }
}

/// Drops the values beyond the point where less than 1e-15 of the mass remains, adding
/// that mass to the last value kept.
fn truncate_tail(mut pmf: Vec<f64>) -> Vec<f64> {
    let mut tail = 0.0;
    while pmf.len() > 1 && tail + pmf[pmf.len() - 1] < 1e-15 {
        tail += pmf.pop().unwrap_or_default();
    }
    if let Some(last) = pmf.last_mut() {
        *last += tail;
    }
    pmf
}

/// The epsilon at `delta` of a total zero-concentrated DP cost `rho`, by OpenDP's own
/// conversion (the one a single Gaussian release is charged by).
pub fn zcdp_epsilon(rho: f64, delta: f64) -> Result<f64> {
    if !(rho.is_finite() && rho >= 0.0) {
        return Ok(f64::INFINITY);
    }
    let domain = VectorDomain::new(AtomDomain::<String>::default());
    let spent: MeasuredZcdp = Measurement::new(
        domain,
        SymmetricDistance,
        ZeroConcentratedDivergence,
        Function::new(|_: &Records| Vec::new()),
        opendp::core::PrivacyMap::new(move |_: &u32| rho),
    )
    .map_err(fail)?;
    let approx = make_zCDP_to_approxDP(spent).map_err(fail)?;
    approx.map(&1).map_err(fail)?.epsilon(delta).map_err(fail)
}

/// Post-processing of one group's noisy counts over a table's categories (free under
/// differential privacy): the closest non-negative counts, in the least-squares sense,
/// whose sum is the noisy sum (or 0 if that is negative). Unlike setting negative counts
/// to 0, this keeps a group's total unbiased: clamping alone adds the clipped noise to it,
/// which lifts small groups' totals (by about 8 for a group of 21 at epsilon 1). The
/// result is whole numbers with the same sum (largest remainders round up).
pub fn project(noisy: &[i64]) -> Vec<i64> {
    let target: i64 = noisy.iter().sum::<i64>().max(0);
    if target == 0 {
        return vec![0; noisy.len()];
    }
    // Euclidean projection onto {y >= 0, sum y = target}: y = max(x - tau, 0) for the tau
    // that makes the sum right (the classic sort-based method).
    let mut sorted: Vec<f64> = noisy.iter().map(|n| *n as f64).collect();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut cumulative = 0.0;
    let mut tau = 0.0;
    for (i, value) in sorted.iter().enumerate() {
        cumulative += value;
        let t = (cumulative - target as f64) / (i + 1) as f64;
        // The first value always qualifies (it is left with the whole target).
        if i == 0 || *value - t > 0.0 {
            tau = t;
        }
    }
    let exact: Vec<f64> = noisy.iter().map(|n| (*n as f64 - tau).max(0.0)).collect();
    let mut whole: Vec<i64> = exact.iter().map(|v| v.floor() as i64).collect();
    let mut short = target - whole.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..exact.len()).collect();
    order.sort_by(|a, b| (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor())).then(a.cmp(b)));
    for i in order.into_iter().cycle() {
        if short <= 0 {
            break;
        }
        whole[i] += 1;
        short -= 1;
    }
    whole
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(mechanism: Mechanism, tables: usize, d_in: u32) -> Plan {
        let cells = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        Plan { mechanism, d_in, delta: 1e-7, tables: vec![cells; tables] }
    }

    #[test]
    fn calibration_spends_the_requested_epsilon_over_every_table() {
        for (tables, d_in) in [(1, 1), (4, 1), (4, 2)] {
            let p = plan(Mechanism::Laplace, tables, d_in);
            let c = p.calibrate(1.0).unwrap();
            assert!(c.epsilon <= 1.0 && c.epsilon > 0.999, "{c:?}");
            // Composition: each table costs d_in / scale, and they add up.
            let expected = f64::from(d_in) * tables as f64;
            assert!((c.scale - expected).abs() < expected * 1e-6, "{c:?} vs {expected}");
        }
        let g = plan(Mechanism::Gaussian, 4, 1).calibrate(1.0).unwrap();
        assert!(g.epsilon <= 1.0 && g.epsilon > 0.999, "{g:?}");
    }

    #[test]
    fn zero_noise_is_exact_and_costs_infinite_epsilon() {
        let p = plan(Mechanism::Laplace, 2, 1);
        let records = vec![format!("a{SEP}b"), format!("a{SEP}c"), format!("b{SEP}x")];
        assert_eq!(p.release(0.0, &records).unwrap(), vec![vec![2, 1, 0], vec![0, 1, 1]]);
        // Without noise there is no finite privacy guarantee: OpenDP's map refuses it.
        assert!(p.epsilon_at(0.0).map_or(true, f64::is_infinite));
    }

    #[test]
    fn accuracy_widens_with_confidence_and_for_sums() {
        let p = plan(Mechanism::Laplace, 1, 1);
        let a95 = p.accuracy(4.0, 0.95).unwrap();
        let a99 = p.accuracy(4.0, 0.99).unwrap();
        assert!(a95 > 10.0 && a95 < 14.0, "{a95}");
        assert!(a99 > a95);
        // A sum of 6 counts: wider than one count, far narrower than 6 times one.
        let sum6 = p.sum_accuracy(4.0, 0.95, 6).unwrap();
        assert!(sum6 > a95 * 2.0 && sum6 < a95 * 6.0, "{sum6} vs {a95}");
        // And it holds: of 2,500 drawn sums of six absolute noises, at least 95% are expected
        // within it; below 92.5% is more than 5 standard errors off (p < 1e-6).
        let c = p.calibrate(0.25).unwrap();
        assert!((c.scale - 4.0).abs() < 1e-6, "{c:?}");
        let noise: Vec<i64> = (0..5_000).flat_map(|_| p.release(c.scale, &Vec::new()).unwrap().remove(0)).collect();
        let sums: Vec<i64> = noise.chunks(6).map(|c| c.iter().map(|e| e.abs()).sum()).collect();
        let within = sums.iter().filter(|s| **s as f64 <= sum6).count();
        let share = within as f64 / sums.len() as f64;
        assert!(share > 0.925, "{share} of sums within {sum6}");
    }

    #[test]
    fn projection_keeps_counts_non_negative_totals_unbiased_and_large_cells_alone() {
        assert_eq!(project(&[-3, 0, 7]), vec![0, 0, 4], "the sum stays the noisy sum, 4");
        assert_eq!(project(&[10, 20, 30]), vec![10, 20, 30], "nothing to change");
        assert_eq!(project(&[-5, -2, 3]), vec![0, 0, 0], "a negative sum becomes 0");
        let p = project(&[5, -1, -1, 2]);
        assert!(p.iter().all(|c| *c >= 0) && p.iter().sum::<i64>() == 5, "{p:?}");
        // A group of 21 across 7 categories (20 in one), at epsilon 1 over 4 tables (scale 4):
        // clamping lifts the group's total by several students, the projection does not.
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let a: f64 = (-1.0f64 / 4.0).exp();
        let mut draw = || -> i64 {
            // Discrete Laplace as the difference of two geometric draws.
            let g = |rng: &mut rand::rngs::StdRng| ((1.0 - rng.random::<f64>()).ln() / a.ln()).floor() as i64;
            g(&mut rng) - g(&mut rng)
        };
        let truth = [0i64, 0, 1, 20, 0, 0, 0];
        let (mut clamped, mut projected) = (0.0, 0.0);
        let runs = 20_000;
        for _ in 0..runs {
            let noisy: Vec<i64> = truth.iter().map(|t| t + draw()).collect();
            clamped += noisy.iter().map(|n| (*n).max(0)).sum::<i64>() as f64;
            projected += project(&noisy).iter().sum::<i64>() as f64;
        }
        let (clamped, projected) = (clamped / runs as f64 - 21.0, projected / runs as f64 - 21.0);
        assert!(clamped > 5.0, "clamping's bias on the total: {clamped}");
        // What remains is the rare negative noisy sum set to 0 (about 0.5 here).
        assert!(projected.abs() < 1.0, "the projection's bias on the total: {projected}");
    }

    /// The discrete Laplace distribution with scale `b`: P(X = k) = (1 - a) / (1 + a) a^|k|,
    /// a = exp(-1 / b). Its CDF at integer `k`.
    fn discrete_laplace_cdf(b: f64, k: i64) -> f64 {
        let a = (-1.0 / b).exp();
        if k < 0 { a.powi((-k) as i32) / (1.0 + a) } else { 1.0 - a.powi((k + 1) as i32) / (1.0 + a) }
    }

    /// `n` noise values drawn by releases of `p` at `scale`, sorted. 40 students are all in
    /// cell "a" of every table: the noise of cell "a" is (count - 40), of the other cells
    /// the count itself.
    fn drawn_noise(p: &Plan, scale: f64, n: usize) -> Vec<i64> {
        let records: Vec<String> = (0..40).map(|_| vec!["a"; p.tables.len()].join(&SEP.to_string())).collect();
        let mut noise = Vec::with_capacity(n);
        while noise.len() < n {
            for table in p.release(scale, &records).unwrap() {
                noise.push(table[0] - 40);
                noise.extend_from_slice(&table[1..]);
            }
        }
        noise.truncate(n);
        noise.sort_unstable();
        noise
    }

    /// Draws `n` noise values from the release at the configured epsilon, and the largest
    /// gap between their empirical CDF and the discrete Laplace CDF at `scale`.
    fn ks_gap(p: &Plan, epsilon: f64, scale_tested: f64, n: usize) -> f64 {
        let noise = drawn_noise(p, p.calibrate(epsilon).unwrap().scale, n);
        let mut gap = 0.0f64;
        for k in -60..=60 {
            let below = noise.partition_point(|x| *x <= k) as f64 / n as f64;
            gap = gap.max((below - discrete_laplace_cdf(scale_tested, k)).abs());
        }
        gap
    }

    /// The noise drawn at a configured epsilon has the scale that epsilon implies, checked
    /// against the exact discrete Laplace distribution with the Dvoretzky-Kiefer-Wolfowitz
    /// inequality: P(sup |F_n - F| > t) <= 2 exp(-2 n t^2). With n = 200,000 and
    /// t = 0.0065 that probability is below 1e-7, so a correct sampler fails this test
    /// less than once in ten million runs; a scale 15% off is far outside the bound.
    #[test]
    fn noise_matches_the_configured_epsilon() {
        let n = 200_000;
        let t = 0.0065;
        assert!(2.0 * (-2.0 * n as f64 * t * t).exp() < 1e-6);
        // 4 tables (2 census dates x 2 tables), add/remove: each count gets scale 4 / epsilon.
        let p = plan(Mechanism::Laplace, 4, 1);
        let epsilon = 2.0;
        let scale = 4.0 / epsilon;
        let gap = ks_gap(&p, epsilon, scale, n);
        assert!(gap < t, "empirical CDF is {gap} from the discrete Laplace at scale {scale}");
        // The same test rejects noise of the wrong scale: it can fail.
        let wrong = ks_gap(&p, epsilon, scale * 1.15, n);
        assert!(wrong > t, "a 15% wrong scale was not detected ({wrong})");
    }

    /// The discrete Gaussian with scale `sigma` (P(X = k) proportional to
    /// exp(-k^2 / (2 sigma^2))): its CDF at integer `k`, summed numerically.
    fn discrete_gaussian_cdf(sigma: f64, k: i64) -> f64 {
        let weight = |j: i64| (-((j * j) as f64) / (2.0 * sigma * sigma)).exp();
        let reach = (sigma * 40.0).ceil() as i64 + 1;
        let total: f64 = (-reach..=reach).map(weight).sum();
        (-reach..=k.min(reach)).map(weight).sum::<f64>() / total
    }

    /// The Gaussian mechanism, likewise: the noise drawn at a configured epsilon follows
    /// the discrete Gaussian at the calibrated scale (DKW bound: with n = 100,000 and
    /// t = 0.0092 a correct sampler fails less than once in ten million runs), and a
    /// scale 15% off is detected.
    #[test]
    fn gaussian_noise_matches_its_scale() {
        let n = 100_000;
        let t = 0.0092;
        assert!(2.0 * (-2.0 * n as f64 * t * t).exp() < 1e-6);
        let p = plan(Mechanism::Gaussian, 4, 1);
        let c = p.calibrate(2.0).unwrap();
        let noise = drawn_noise(&p, c.scale, n);
        let gap = |sigma: f64| {
            let mut gap = 0.0f64;
            for k in -80..=80 {
                let below = noise.partition_point(|x| *x <= k) as f64 / n as f64;
                gap = gap.max((below - discrete_gaussian_cdf(sigma, k)).abs());
            }
            gap
        };
        assert!(gap(c.scale) < t, "the noise is {} from the discrete Gaussian at {}", gap(c.scale), c.scale);
        assert!(gap(c.scale * 1.15) > t, "a 15% wrong scale was not detected");
        // Its privacy cost composes by rho, and one release's rho converts back to its epsilon.
        let rho = p.rho_at(c.scale).unwrap();
        let back = zcdp_epsilon(rho, 1e-7).unwrap();
        assert!((back - c.epsilon).abs() < 1e-6, "{back} vs {}", c.epsilon);
        assert!(zcdp_epsilon(2.0 * rho, 1e-7).unwrap() < 2.0 * c.epsilon, "zCDP composes more tightly than adding");
    }
}

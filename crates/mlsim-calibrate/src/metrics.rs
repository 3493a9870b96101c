//! Error metrics of predictions against measurements.

/// Signed error of a prediction in percent of the measurement:
/// `100 (predicted - measured) / measured`. Positive means the model
/// predicted a longer runtime than measured.
pub fn signed_error_pct(predicted: f64, measured: f64) -> f64 {
    100.0 * (predicted - measured) / measured
}

/// Median of `values` (the mean of the two middle values for an even
/// count); `None` when empty or when any value is NaN.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    // Selection, not a sort: O(n) for the million-row files validate
    // scores. Left of `mid` lie the values ordered before it, so the
    // largest of them is the one a sort would put at `mid - 1`.
    let mut v = values.to_vec();
    let mid = v.len() / 2;
    let (below, &mut upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    Some(if values.len().is_multiple_of(2) {
        let lower = below
            .iter()
            .copied()
            .max_by(f64::total_cmp)
            .expect("an even count has values below the middle");
        (lower + upper) / 2.0
    } else {
        upper
    })
}

/// Summary of a set of signed percentage errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorSummary {
    /// Number of points.
    pub count: usize,
    /// Mean absolute percentage error.
    pub mape_pct: f64,
    /// Median absolute percentage error.
    pub median_ape_pct: f64,
    /// Mean signed error (bias), percent.
    pub mean_signed_pct: f64,
    /// Share of points within 20%, in [0, 1].
    pub within_20: f64,
    /// Share of points within 25%, in [0, 1].
    pub within_25: f64,
}

impl ErrorSummary {
    /// Summarise signed errors in percent; `None` for an empty or NaN input.
    pub fn from_signed(signed_pct: &[f64]) -> Option<Self> {
        let abs: Vec<f64> = signed_pct.iter().map(|e| e.abs()).collect();
        let median_ape_pct = median(&abs)?;
        let n = signed_pct.len() as f64;
        let within = |limit: f64| abs.iter().filter(|&&e| e <= limit).count() as f64 / n;
        Some(Self {
            count: signed_pct.len(),
            mape_pct: abs.iter().sum::<f64>() / n,
            median_ape_pct,
            mean_signed_pct: signed_pct.iter().sum::<f64>() / n,
            within_20: within(20.0),
            within_25: within(25.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        assert_eq!(signed_error_pct(5.0, 10.0), -50.0);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[5.0, -1.0]), Some(2.0));
        assert_eq!(median(&[4.0, 4.0, 9.0, 4.0, 1.0]), Some(4.0));
        // Against a sort, over odd and even counts with repeats.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for n in 1..300usize {
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 50) as f64 - 20.0
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let want = if n % 2 == 0 {
                (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
            } else {
                sorted[n / 2]
            };
            assert_eq!(median(&values), Some(want), "{values:?}");
        }
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
        // |errors| 5, 15, 20, 40: MAPE 20, median 17.5, 3 of 4 within 20 and 25.
        let s = ErrorSummary::from_signed(&[-5.0, 15.0, -20.0, 40.0]).unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.mape_pct, 20.0);
        assert_eq!(s.median_ape_pct, 17.5);
        assert_eq!(s.mean_signed_pct, 7.5);
        assert_eq!(s.within_20, 0.75);
        assert_eq!(s.within_25, 0.75);
    }
}

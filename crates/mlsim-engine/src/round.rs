//! Rounding of non-negative f64 without a libm call: baseline x86-64 has
//! no rounding instruction, so `f64::floor` and `f64::ceil` are calls, and
//! a sweep of millions of GEMMs makes about twenty of them a prediction.
//! Both are exact (the same value as std's) for every `x >= 0` and NaN.

/// Every f64 at or above 2^52 is already an integer.
const INTEGRAL_FROM: f64 = 4_503_599_627_370_496.0;

/// `x.floor()` for `x >= 0`: below 2^52 truncation toward zero is the
/// floor. Through i64, not u64: baseline x86-64 converts signed integers
/// in one instruction each way, unsigned ones in a branchy sequence.
#[inline]
pub(crate) fn floor_non_negative(x: f64) -> f64 {
    debug_assert!(x >= 0.0 || x.is_nan(), "{x} is negative");
    if x < INTEGRAL_FROM {
        (x as i64) as f64
    } else {
        x
    }
}

/// `x.ceil()` for `x >= 0`: the floor, plus one when `x` has a fraction.
#[inline]
pub(crate) fn ceil_non_negative(x: f64) -> f64 {
    debug_assert!(x >= 0.0 || x.is_nan(), "{x} is negative");
    if x < INTEGRAL_FROM {
        let floor = (x as i64) as f64;
        if floor < x { floor + 1.0 } else { floor }
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::{ceil_non_negative, floor_non_negative};

    /// Against std's floor and ceil (the libm result), bit for bit, at
    /// integers, just off them, at 2^52 and 2^53 and beyond.
    #[test]
    fn floor_and_ceil_match_std() {
        let two_52 = 4_503_599_627_370_496.0_f64;
        let mut xs = vec![
            0.0,
            f64::MIN_POSITIVE,
            0.3,
            1.0,
            1.999_999,
            12_195.72,
            two_52 - 0.5,
            two_52,
            two_52 + 1.0,
            9.1e15,
            1e300,
            f64::MAX,
            f64::INFINITY,
        ];
        for i in 0..2000u32 {
            let x = f64::from(i) * 0.37;
            xs.extend([
                x,
                f64::from(i),
                f64::from(i).next_up(),
                f64::from(i).next_down().max(0.0),
            ]);
        }
        for x in xs {
            assert_eq!(
                floor_non_negative(x).to_bits(),
                x.floor().to_bits(),
                "floor {x}"
            );
            assert_eq!(
                ceil_non_negative(x).to_bits(),
                x.ceil().to_bits(),
                "ceil {x}"
            );
        }
        assert!(floor_non_negative(f64::NAN).is_nan());
        assert!(ceil_non_negative(f64::NAN).is_nan());
    }
}

//! Measurements against predictions.
//!
//! - [`measurements`]: reading `results/*.csv` (mlsim's format and the
//!   original's) with polars, every cell checked, errors naming file, line,
//!   row and column.
//! - [`metrics`]: signed error, MAPE, median, shares within 20% and 25%.
//! - [`validate`]: per-point predictions and the decision scores (is a
//!   dtype faster than fp32, which dtype is fastest, from which size a
//!   dtype wins).
//! - [`targets`]: what each row is predicted on (chip, stack, framework,
//!   timing and host floor, per row).
//! - [`fit`]: fitting a setup's parameters (the software stack's, by
//!   default) by least squared log error.
//! - [`cv`]: leave-one-size-out cross-validation and the original's
//!   holdout.
//! - [`report`]: what `mlsim validate` and `mlsim crossover` report, as
//!   data shared by the CLI and the Python package.
//! - [`preset`]: writing a calibrated stack (or chip) file that records the
//!   fit.
//!
//! ```
//! use mlsim_calibrate::metrics::{ErrorSummary, signed_error_pct};
//! assert_eq!(signed_error_pct(11.0, 10.0), 10.0); // predicted 11 ms, measured 10 ms
//! let s = ErrorSummary::from_signed(&[10.0, -20.0, 30.0]).unwrap();
//! assert_eq!(s.mape_pct, 20.0);
//! assert_eq!(s.median_ape_pct, 20.0);
//! ```
#![deny(missing_docs)]

pub mod cv;
mod error;
pub mod fit;
pub mod measurements;
pub mod metrics;
pub mod preset;
pub mod report;
pub mod scorecard;
pub mod serving;
pub mod shards;
pub mod targets;
pub mod validate;

pub use error::CalibrateError;

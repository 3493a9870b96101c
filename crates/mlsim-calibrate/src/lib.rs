//! Measurements against predictions.
//!
//! This crate is where measured runtimes meet the model: reading
//! measurement files, error metrics, fitting a chip's free parameters and
//! cross-validation (see ARCHITECTURE.md). Today it holds the error metrics
//! every validation report is built from; measurement reading, fitting and
//! cross-validation arrive with the calibration work (issue 3).
//!
//! ```
//! use mlsim_calibrate::metrics::{ErrorSummary, signed_error_pct};
//! assert_eq!(signed_error_pct(11.0, 10.0), 10.0); // predicted 11 ms, measured 10 ms
//! let s = ErrorSummary::from_signed(&[10.0, -20.0, 30.0]).unwrap();
//! assert_eq!(s.mape_pct, 20.0);
//! assert_eq!(s.median_ape_pct, 20.0);
//! ```
#![deny(missing_docs)]

pub mod metrics;

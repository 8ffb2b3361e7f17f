//! Stopping long work: the process asks once (SIGTERM) and every long loop
//! (accumulation, the solve, the condition number) checks between steps, so
//! a stopped job ends within its grace period instead of finishing a
//! minutes-long factorisation nobody will read. One flag for the process:
//! after SIGTERM nothing is left to compute.

use crate::error::CoreError;
use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks every running and future computation to stop.
pub fn request() {
    REQUESTED.store(true, Ordering::Relaxed);
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// `Err(Terminated)` once a stop was requested.
pub fn check() -> Result<(), CoreError> {
    if requested() {
        Err(CoreError::Terminated)
    } else {
        Ok(())
    }
}

//! The one clock every time check reads: whole seconds since the Unix epoch, as in JWT
//! `exp`.

/// The current time in whole seconds since the epoch.
///
/// On Linux it is the coarse real-time clock: read from the vDSO without the time
/// counter, it costs a few nanoseconds instead of a few tens, and lags the precise
/// clock by at most one scheduler tick (a few milliseconds): claims are whole seconds,
/// and the lag adds at most that tick to the configured leeway for `exp`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn now() -> i64 {
    rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse).tv_sec
}

/// The current time in whole seconds since the epoch.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::now;

    #[test]
    fn clock_is_the_current_second_or_a_tick_behind() {
        let precise = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
        };
        for _ in 0..1000 {
            let before = precise();
            let ours = now() as f64;
            let after = precise();
            // Whole seconds, at most one scheduler tick (well under 100 ms) behind.
            assert!(ours <= after.floor(), "{ours} after {after}");
            assert!(ours >= (before - 0.1).floor(), "{ours} before {before}");
        }
    }
}

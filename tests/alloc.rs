//! The JWT fast path allocates nothing beyond what the claims type needs: a claims type
//! with no heap data costs zero allocations per validated token.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;
use serde_json::json;
use tower_bearer::JwtValidator;

mod common;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Only allocations of the measuring thread count (the harness has its own).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Claims with no heap data.
#[derive(Debug, Clone, Deserialize)]
struct Times {
    exp: i64,
    iat: Option<i64>,
}

#[test]
fn hs256_verify_no_allocation_ok() {
    let validator = JwtValidator::<Times>::hs256(common::SECRET)
        .unwrap()
        .with_issuer("https://auth.example.com")
        .unwrap()
        .with_audience("api")
        .unwrap();
    let now = common::now();
    let payload = json!({
        "sub": "alice", "iss": "https://auth.example.com", "aud": "api",
        "exp": now + 600, "iat": now, "scope": "read write", "jti": "abc",
    });
    let token = common::raw_hs256(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &payload.to_string(),
        common::SECRET,
    );
    // Warm up (lazy statics, if any).
    validator.verify(&token).unwrap();
    COUNTING.with(|c| c.set(true));
    for _ in 0..100 {
        let claims = validator.verify(&token).unwrap();
        assert_eq!(claims.iat, Some(now));
        assert!(claims.exp > now);
    }
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(
        allocations, 0,
        "{allocations} allocations in 100 validations"
    );
}

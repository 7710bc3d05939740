//! The JWT fast path allocates nothing beyond what the claims type needs: a claims type
//! with no heap data costs zero allocations per validated token.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use serde::Deserialize;
use serde_json::json;
use tower_bearer::JwtValidator;

mod common;

struct Counting;

thread_local! {
    /// Only allocations of the measuring thread count (the harness and the other
    /// tests have their own threads).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
    }
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
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

fn validator<T>() -> JwtValidator<T> {
    JwtValidator::<T>::hs256(common::SECRET)
        .unwrap()
        .with_issuer("https://auth.example.com")
        .unwrap()
        .with_audience("api")
        .unwrap()
}

fn token(now: i64) -> String {
    let payload = json!({
        "sub": "alice", "iss": "https://auth.example.com", "aud": "api",
        "exp": now + 600, "iat": now, "scope": "read write", "jti": "abc", "name": "Alice",
    });
    common::raw_hs256(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &payload.to_string(),
        common::SECRET,
    )
}

/// Allocations made by 100 validations of `token` (after one to warm up lazy
/// statics), each checked by `check`.
fn allocations_of_100<T>(validator: &JwtValidator<T>, token: &str, check: impl Fn(T)) -> usize
where
    T: serde::de::DeserializeOwned + 'static,
{
    validator.verify(token).unwrap();
    let before = allocations();
    COUNTING.with(|c| c.set(true));
    for _ in 0..100 {
        check(validator.verify(token).unwrap());
    }
    COUNTING.with(|c| c.set(false));
    allocations() - before
}

#[test]
fn hs256_verify_no_allocation_ok() {
    let now = common::now();
    let allocations = allocations_of_100(&validator::<Times>(), &token(now), |claims| {
        assert_eq!(claims.iat, Some(now));
        assert!(claims.exp > now);
    });
    assert_eq!(
        allocations, 0,
        "{allocations} allocations in 100 validations"
    );
}

/// The default `Claims`, read from the fast path: one allocation per string claim it
/// holds (`sub`, `iss`, `aud`, `jti`, `scope`), nothing for the parse itself.
#[test]
fn default_claims_allocate_only_their_strings_ok() {
    let now = common::now();
    let allocations = allocations_of_100(
        &validator::<tower_bearer::Claims>(),
        &token(now),
        |claims| {
            assert_eq!(claims.sub.as_deref(), Some("alice"));
            assert_eq!(claims.iat, Some(now));
        },
    );
    assert_eq!(
        allocations,
        5 * 100,
        "{allocations} allocations in 100 validations"
    );
}

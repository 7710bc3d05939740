//! [`PasswordHasher`]: Argon2id password hashes (PHC strings), verified off the async
//! workers under a concurrency bound.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::admission::{Admission, Refused};
use crate::error::ConfigError;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP's Argon2id parameters: 19 MiB of memory, 2 passes, 1 lane.
pub const OWASP_MEMORY_KIB: u32 = 19_456;
/// OWASP's Argon2id pass count.
pub const OWASP_ITERATIONS: u32 = 2;
/// OWASP's Argon2id lane count.
pub const OWASP_PARALLELISM: u32 = 1;
/// Default upper bound on a password's length, in bytes. Longer passwords are refused
/// (as wrong) without hashing, so their cost stays bounded.
pub const DEFAULT_MAX_PASSWORD_LEN: usize = 1024;
/// Default number of logins that may wait for a verification slot, per slot (so 64
/// times [`PasswordHasher::max_concurrency`]); see [`PasswordHasher::with_max_waiting`].
pub const DEFAULT_WAITING_PER_SLOT: usize = 64;
/// Default longest wait for a verification slot; see [`PasswordHasher::with_max_wait`].
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(2);

/// Why a login's password could not be checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VerifyError {
    /// Too many logins wait: answer `503` with `Retry-After` (seconds).
    Busy {
        /// Seconds to announce in `Retry-After`.
        retry_after: u32,
    },
    /// The hashing threads could not run the job.
    Unavailable,
}

/// Hashes `password` with Argon2id and OWASP's parameters, for seeding a user store.
///
/// ```
/// let phc = tower_bearer::token_endpoint::hash_password("secret")?;
/// assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
/// # Ok::<_, tower_bearer::ConfigError>(())
/// ```
///
/// # Errors
///
/// [`ConfigError::RandomnessUnavailable`] if no salt could be drawn,
/// [`ConfigError::InvalidSecret`] if Argon2 refuses the password.
pub fn hash_password(password: &str) -> Result<String, ConfigError> {
    PasswordHasher::new().hash(password)
}

/// Hashes and verifies passwords with Argon2id.
///
/// Verification runs on a dedicated pool of threads (one per CPU) at the lowest
/// scheduling priority (`SCHED_BATCH`, nice 19 on Linux), never on the async workers,
/// and at most [`max_concurrency`](Self::with_max_concurrency) at a time (default: the
/// number of CPUs). A login storm so neither exhausts memory (each verification holds
/// its Argon2 memory) nor delays request handling: hashing only gets the CPU time the
/// async workers leave; further logins wait their turn.
///
/// The wait is bounded: at most [`max_waiting`](Self::with_max_waiting) logins wait
/// (default 64 per slot), each at most [`max_wait`](Self::with_max_wait) (default 2 s).
/// Beyond that the token endpoint answers `503 temporarily_unavailable` with
/// `Retry-After`. Logins for usernames that failed recently on this node wait in a
/// second lane (of the same size) that gets one slot in four while others wait, so a
/// flood of failing logins that repeats usernames does not starve other users'
/// logins; see the crate's SECURITY.md ("Login floods") for what this does and does
/// not cover.
///
/// Unknown users are checked against a dummy hash made once with the same parameters,
/// so answering takes as long whether the user exists or not. Hash comparison is
/// constant-time (done by `argon2`).
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    admission: Arc<Admission>,
    max_concurrency: usize,
    max_password_len: usize,
    dummy: Arc<OnceLock<Option<String>>>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", self.argon2.params())
            .field("max_concurrency", &self.max_concurrency)
            .field("max_waiting", &self.admission.max_waiting())
            .field("max_wait", &self.admission.max_wait())
            .field("max_password_len", &self.max_password_len)
            .finish_non_exhaustive()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    /// Argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1), as many concurrent
    /// verifications as CPUs.
    #[must_use]
    pub fn new() -> Self {
        let params = Params::new(OWASP_MEMORY_KIB, OWASP_ITERATIONS, OWASP_PARALLELISM, None)
            .unwrap_or_default();
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Self::from_parts(
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            cpus,
            cpus.saturating_mul(DEFAULT_WAITING_PER_SLOT),
            DEFAULT_MAX_WAIT,
        )
    }

    fn from_parts(
        argon2: Argon2<'static>,
        max_concurrency: usize,
        max_waiting: usize,
        max_wait: Duration,
    ) -> Self {
        Self {
            argon2,
            admission: Arc::new(Admission::new(max_concurrency, max_waiting, max_wait)),
            max_concurrency,
            max_password_len: DEFAULT_MAX_PASSWORD_LEN,
            dummy: Arc::new(OnceLock::new()),
        }
    }

    /// Other Argon2id parameters for new hashes (memory in KiB, passes, lanes).
    /// Verification always uses the parameters stored in each hash.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] if Argon2 refuses the parameters.
    pub fn with_params(
        self,
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<Self, ConfigError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|_| ConfigError::OutOfRange("argon2 parameters"))?;
        Ok(Self::from_parts(
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            self.max_concurrency,
            self.admission.max_waiting(),
            self.admission.max_wait(),
        )
        .with_max_password_len_unchecked(self.max_password_len))
    }

    /// At most `n` verifications at a time (default: the number of CPUs). The number of
    /// waiting logins allowed is kept.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for `0`.
    pub fn with_max_concurrency(mut self, n: usize) -> Result<Self, ConfigError> {
        if n == 0 || n > MAX_BOUND {
            return Err(ConfigError::OutOfRange("max_concurrency"));
        }
        self.admission = Arc::new(Admission::new(
            n,
            self.admission.max_waiting(),
            self.admission.max_wait(),
        ));
        self.max_concurrency = n;
        Ok(self)
    }

    /// At most `n` logins wait for a verification slot in each lane (default 64 per
    /// slot); one more is answered `503 temporarily_unavailable` with `Retry-After` at
    /// once. `0` means no waiting at all: a login that finds every slot busy is refused.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] above one million.
    pub fn with_max_waiting(mut self, n: usize) -> Result<Self, ConfigError> {
        if n > MAX_BOUND {
            return Err(ConfigError::OutOfRange("max_waiting"));
        }
        self.admission = Arc::new(Admission::new(
            self.max_concurrency,
            n,
            self.admission.max_wait(),
        ));
        Ok(self)
    }

    /// A login waits at most `wait` for a verification slot (default
    /// [`DEFAULT_MAX_WAIT`]), then is answered `503 temporarily_unavailable` with
    /// `Retry-After` (this wait in whole seconds, at least 1).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for zero or more than an hour.
    pub fn with_max_wait(mut self, wait: Duration) -> Result<Self, ConfigError> {
        if wait.is_zero() || wait > Duration::from_secs(3600) {
            return Err(ConfigError::OutOfRange("max_wait"));
        }
        self.admission = Arc::new(Admission::new(
            self.max_concurrency,
            self.admission.max_waiting(),
            wait,
        ));
        Ok(self)
    }

    /// Longest password considered, in bytes (default 1 KiB); longer ones are wrong.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for `0`.
    pub fn with_max_password_len(self, max: usize) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::OutOfRange("max_password_len"));
        }
        Ok(self.with_max_password_len_unchecked(max))
    }

    fn with_max_password_len_unchecked(mut self, max: usize) -> Self {
        self.max_password_len = max;
        self
    }

    /// The concurrency bound.
    #[must_use]
    pub fn max_concurrency(&self) -> usize {
        self.max_concurrency
    }

    /// Hashes `password` into a PHC string with a fresh random salt. Blocking: tens of
    /// milliseconds.
    ///
    /// # Errors
    ///
    /// [`ConfigError::RandomnessUnavailable`] if no salt could be drawn,
    /// [`ConfigError::InvalidSecret`] if Argon2 refuses the password (e.g. longer than
    /// Argon2 allows).
    pub fn hash(&self, password: &str) -> Result<String, ConfigError> {
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt).map_err(|_| ConfigError::RandomnessUnavailable)?;
        let salt = SaltString::encode_b64(&salt).map_err(|_| ConfigError::RandomnessUnavailable)?;
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|_| ConfigError::InvalidSecret("password"))
    }

    /// Checks `password` against the PHC string `hash`, synchronously (blocking).
    /// An unparsable hash or an over-long password is a mismatch.
    #[must_use]
    pub fn verify_blocking(&self, password: &str, hash: &str) -> bool {
        if password.len() > self.max_password_len {
            return false;
        }
        PasswordHash::new(hash).is_ok_and(|parsed| verify_reusing_memory(password, &parsed))
    }

    /// Checks `username`'s `password` against `hash` on the low-priority hashing
    /// threads, once admitted (see [`Admission`]). With `hash` `None` (unknown user)
    /// the dummy hash is checked instead and the answer is `false`, after the same
    /// work. The outcome marks or clears `username` as recently failed.
    pub(crate) async fn verify_login(
        &self,
        username: &str,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, VerifyError> {
        if password.len() > self.max_password_len {
            self.admission.record(username, false);
            return Ok(false);
        }
        let permit = self
            .admission
            .admit(username)
            .await
            .map_err(|Refused::Busy| VerifyError::Busy {
                retry_after: self.retry_after(),
            })?;
        let hasher = self.clone();
        let matched = super::pool::run_low_priority(move || {
            let _permit = permit;
            match hash {
                Some(hash) => hasher.verify_blocking(&password, &hash),
                None => {
                    if let Some(dummy) = hasher.dummy_hash() {
                        let _ = hasher.verify_blocking(&password, dummy);
                    }
                    false
                }
            }
        })
        .await
        .ok_or(VerifyError::Unavailable)?;
        self.admission.record(username, matched);
        Ok(matched)
    }

    /// `Retry-After` for a refused login: the longest wait in whole seconds, at least 1.
    fn retry_after(&self) -> u32 {
        let wait = self.admission.max_wait();
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
    }

    /// The dummy hash, made on first use with this hasher's parameters.
    fn dummy_hash(&self) -> Option<&str> {
        self.dummy
            .get_or_init(|| self.hash("dummy password for unknown users").ok())
            .as_deref()
    }

    /// Computes the dummy hash now, so the first unknown-user login is not faster or
    /// slower than the others. Blocking (one Argon2id hash).
    /// [`TokenEndpointBuilder::build`](super::TokenEndpointBuilder::build) calls it.
    pub fn warm_up(&self) {
        let _ = self.dummy_hash();
    }

    /// `true` once the dummy hash for unknown users exists (after
    /// [`warm_up`](Self::warm_up), on this hasher or a clone of it).
    #[must_use]
    pub fn is_warm(&self) -> bool {
        self.dummy.get().is_some_and(Option::is_some)
    }
}

thread_local! {
    /// Argon2's working memory, kept by each hashing thread between verifications.
    /// Allocating 19 MiB per login made the allocator keep a growing set of such
    /// blocks (the process grew to ~280 MB under a login storm); one buffer per thread
    /// bounds it to the hashing threads times the largest `m_cost` seen.
    static ARGON2_MEMORY: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// What `argon2`'s `verify_password` does (algorithm, version and parameters from the
/// PHC string, the same output length, a constant-time comparison), with the working
/// memory reused instead of allocated.
fn verify_reusing_memory(password: &str, hash: &PasswordHash<'_>) -> bool {
    use subtle::ConstantTimeEq as _;
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut computed = vec![0u8; expected.len()];
    let hashed = ARGON2_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        let hashed = argon2.hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut computed,
            &mut memory[..blocks],
        );
        // A stored hash with an unusual cost must not pin its memory for good.
        if memory.len() > MAX_RETAINED_BLOCKS {
            *memory = Vec::new();
        }
        hashed
    });
    hashed.is_ok() && bool::from(computed.as_slice().ct_eq(expected.as_bytes()))
}

/// Largest accepted concurrency or queue bound.
const MAX_BOUND: usize = 1_000_000;

/// The most Argon2 memory a hashing thread keeps between verifications: 64 MiB.
const MAX_RETAINED_BLOCKS: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory-reusing verification answers as `argon2`'s own `verify_password`.
    #[test]
    fn verification_matches_argon2_verify_password() {
        use argon2::password_hash::PasswordVerifier as _;
        let variants = [
            (Algorithm::Argon2id, Version::V0x13),
            (Algorithm::Argon2i, Version::V0x13),
            (Algorithm::Argon2d, Version::V0x10),
        ];
        for (algorithm, version) in variants {
            let params = Params::new(64, 1, 1, Some(24)).unwrap();
            let argon2 = Argon2::new(algorithm, version, params);
            let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
            let phc = argon2.hash_password(b"secret", &salt).unwrap().to_string();
            let tampered = {
                let mut t = phc.clone();
                let last = t.pop().unwrap();
                t.push(if last == 'A' { 'B' } else { 'A' });
                t
            };
            for hash in [phc.as_str(), tampered.as_str()] {
                let parsed = PasswordHash::new(hash).unwrap();
                for password in ["secret", "Secret", "", "secret\0"] {
                    let reference = Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok();
                    assert_eq!(
                        verify_reusing_memory(password, &parsed),
                        reference,
                        "{hash} {password:?}"
                    );
                }
            }
        }
        // A PHC string without its hash or salt never verifies.
        let bare = PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1").unwrap();
        assert!(!verify_reusing_memory("secret", &bare));
    }

    #[test]
    fn hash_then_verify_ok() {
        let hasher = PasswordHasher::new().with_params(256, 1, 1).unwrap();
        let phc = hasher.hash("pw").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(hasher.verify_blocking("pw", &phc));
        assert!(!hasher.verify_blocking("pW", &phc));
        assert!(!hasher.verify_blocking("pw", "not a phc string"));
    }
}

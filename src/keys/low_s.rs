//! ECDSA signature malleability (ES256, ES384): from a valid `(r, s)` anyone can make
//! the equally valid `(r, n - s)`. Validators refuse the high form; this crate's signers
//! emit only the low one.

use jsonwebtoken::Algorithm;

/// Half the order of P-256, big-endian.
const P256_HALF_N: [u8; 32] =
    hex32(*b"7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8");
/// The order of P-256, big-endian.
const P256_N: [u8; 32] =
    hex32(*b"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
/// Half the order of P-384, big-endian.
const P384_HALF_N: [u8; 48] = hex48(*b"7fffffffffffffffffffffffffffffffffffffffffffffffe3b1a6c0fa1b96efac0d06d9245853bd76760cb5666294b9");
/// The order of P-384, big-endian.
const P384_N: [u8; 48] = hex48(*b"ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973");

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

const fn hex32(text: [u8; 64]) -> [u8; 32] {
    let mut out = [0; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]);
        i += 1;
    }
    out
}

const fn hex48(text: [u8; 96]) -> [u8; 48] {
    let mut out = [0; 48];
    let mut i = 0;
    while i < 48 {
        out[i] = nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]);
        i += 1;
    }
    out
}

/// The order and half the order of the curve of `algorithm`, for ECDSA algorithms.
fn order(algorithm: Algorithm) -> Option<(&'static [u8], &'static [u8])> {
    match algorithm {
        Algorithm::ES256 => Some((&P256_N, &P256_HALF_N)),
        Algorithm::ES384 => Some((&P384_N, &P384_HALF_N)),
        _ => None,
    }
}

/// `true` if `signature` (raw `r || s`, RFC 7518 §3.4) of an ECDSA `algorithm` has
/// `s > n/2`. Signatures of another length are left to the verifier (which refuses
/// them).
pub(crate) fn is_high_s(algorithm: Algorithm, signature: &[u8]) -> bool {
    let Some((_, half)) = order(algorithm) else {
        return false;
    };
    if signature.len() != 2 * half.len() {
        return false;
    }
    // Equal-length big-endian numbers compare as byte strings.
    &signature[half.len()..] > half
}

/// Replaces a high `s` by `n - s` in a raw ECDSA signature (the same signature of the
/// same message, in its low form). Anything else is left unchanged.
#[cfg_attr(not(feature = "token-endpoint"), allow(dead_code))]
pub(crate) fn normalize(algorithm: Algorithm, signature: &mut [u8]) {
    if !is_high_s(algorithm, signature) {
        return;
    }
    let Some((n, half)) = order(algorithm) else {
        return;
    };
    let s = &mut signature[half.len()..];
    // s = n - s, byte by byte from the least significant end (n > s here).
    let mut borrow = 0u16;
    for (s, n) in s.iter_mut().rev().zip(n.iter().rev()) {
        let difference = u16::from(*n)
            .wrapping_sub(u16::from(*s))
            .wrapping_sub(borrow);
        borrow = (difference >> 15) & 1;
        *s = difference as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_orders_are_half_the_orders() {
        for (n, half) in [
            (&P256_N[..], &P256_HALF_N[..]),
            (&P384_N[..], &P384_HALF_N[..]),
        ] {
            // half * 2 + 1 == n (n is odd).
            let mut doubled = vec![0u8; half.len()];
            let mut carry = 1u16;
            for i in (0..half.len()).rev() {
                let v = u16::from(half[i]) * 2 + carry;
                doubled[i] = v as u8;
                carry = v >> 8;
            }
            assert_eq!(carry, 0);
            assert_eq!(doubled, n);
        }
    }

    #[test]
    fn normalize_flips_only_high_s() {
        let mut low = [0u8; 64];
        low[63] = 5;
        let before = low;
        normalize(Algorithm::ES256, &mut low);
        assert_eq!(low, before);

        // s = n - 5 is high; normalized it is 5.
        let mut high = [0u8; 64];
        high[32..].copy_from_slice(&P256_N);
        high[63] -= 5;
        assert!(is_high_s(Algorithm::ES256, &high));
        normalize(Algorithm::ES256, &mut high);
        assert_eq!(high, before);

        // s = n/2 is low, n/2 + 1 is high.
        let mut edge = [0u8; 96];
        edge[48..].copy_from_slice(&P384_HALF_N);
        assert!(!is_high_s(Algorithm::ES384, &edge));
        edge[95] += 1;
        assert!(is_high_s(Algorithm::ES384, &edge));
        normalize(Algorithm::ES384, &mut edge);
        // n - (n/2 + 1) = n/2 (n odd).
        assert_eq!(&edge[48..], &P384_HALF_N);
        assert!(!is_high_s(Algorithm::RS256, &[0xff; 64]));
    }
}

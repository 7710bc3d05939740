//! Strict base64url (RFC 4648 §5, no padding, no stray bits: RFC 7515 §2), decoded with
//! SIMD where the CPU has it. Payloads are the longest part of a token after the
//! signature check, and a scalar decoder was a tenth of the layer's time.

use std::mem::MaybeUninit;

use base64_simd::{Out, URL_SAFE_NO_PAD};

/// Decodes `text` into `buf`; `None` when it is not strict base64url or does not fit.
/// The buffer may be uninitialized: the decoder only writes to it, and zeroing a stack
/// buffer for every token is work for nothing.
pub(crate) fn decode_into<'b>(text: &[u8], buf: &'b mut [MaybeUninit<u8>]) -> Option<&'b [u8]> {
    // Checked first: the decoder panics on a short buffer.
    if URL_SAFE_NO_PAD.decoded_length(text).ok()? > buf.len() {
        return None;
    }
    URL_SAFE_NO_PAD
        .decode(text, Out::from_uninit_slice(buf))
        .ok()
        .map(|decoded| &*decoded)
}

/// An uninitialized buffer for [`decode_into`].
pub(crate) const fn buffer<const N: usize>() -> [MaybeUninit<u8>; N] {
    [const { MaybeUninit::uninit() }; N]
}

/// `true` if `text` is exactly the strict base64url encoding of `bytes` (at most 64
/// bytes), compared in constant time. Comparing encodings instead of decoding `text`
/// leaves nothing to check for padding or stray bits: only the canonical text matches.
pub(crate) fn encodes(bytes: &[u8], text: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    let mut buf = buffer::<86>();
    if bytes.len() > 64 || URL_SAFE_NO_PAD.encoded_length(bytes.len()) != text.len() {
        return false;
    }
    let expected = URL_SAFE_NO_PAD.encode(bytes, Out::from_uninit_slice(&mut buf));
    // No early exit: the differences are OR-ed over the whole length, and only the
    // total is compared (subtle's slice comparison hides each byte, which costs more
    // than the rest of the check).
    let difference = expected
        .iter()
        .zip(text)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b));
    bool::from(difference.ct_eq(&0))
}

/// Decodes `text` into a new vector; `None` when it is not strict base64url.
pub(crate) fn decode_to_vec(text: &[u8]) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode_to_vec(text).ok()
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as REFERENCE;
    use base64::Engine as _;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Accepts exactly what the `base64` crate's strict engine accepts, with the
        /// same bytes: the alphabet, lengths, `=` and stray trailing bits included.
        #[test]
        fn agrees_with_the_reference(text in "[A-Za-z0-9_\\-=+/. ]{0,80}") {
            let reference = REFERENCE.decode(&text).ok();
            prop_assert_eq!(decode_to_vec(text.as_bytes()), reference.clone());
            let mut buf = buffer::<64>();
            let fits = reference.as_ref().filter(|r| r.len() <= buf.len()).cloned();
            prop_assert_eq!(decode_into(text.as_bytes(), &mut buf).map(<[u8]>::to_vec), fits);
        }

        #[test]
        fn agrees_on_valid_text(bytes in proptest::collection::vec(any::<u8>(), 0..200), flip in any::<prop::sample::Index>()) {
            let mut text = REFERENCE.encode(&bytes).into_bytes();
            prop_assert_eq!(decode_to_vec(&text), Some(bytes.clone()));
            // One character changed: the last one often only in its stray bits.
            if !text.is_empty() {
                let at = flip.index(text.len());
                text[at] = if text[at] == b'A' { b'B' } else { b'A' };
                prop_assert_eq!(decode_to_vec(&text), REFERENCE.decode(&text).ok());
            }
        }
    }

    proptest! {
        /// Matches exactly when the strict decoder would give back the same bytes.
        #[test]
        fn encodes_agrees_with_strict_decoding(bytes in proptest::collection::vec(any::<u8>(), 0..=64), text in "[A-Za-z0-9_\\-=]{0,90}", flip in any::<prop::sample::Index>()) {
            let canonical = REFERENCE.encode(&bytes);
            prop_assert!(encodes(&bytes, canonical.as_bytes()));
            prop_assert_eq!(encodes(&bytes, text.as_bytes()), REFERENCE.decode(&text).ok() == Some(bytes.clone()));
            if !canonical.is_empty() {
                // One character changed, often only in the last character's stray bits.
                let mut changed = canonical.into_bytes();
                let at = flip.index(changed.len());
                changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
                prop_assert_eq!(encodes(&bytes, &changed), REFERENCE.decode(&changed).ok() == Some(bytes.clone()));
            }
        }
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let mut small = buffer::<2>();
        assert_eq!(decode_into(b"AAAA", &mut small), None);
        assert_eq!(decode_into(b"AAA", &mut small), Some(&[0u8, 0][..]));
    }
}

//! Request ids: an incoming `X-Request-Id` is kept when it is sane (it reaches logs and the
//! audit table), otherwise a random UUID v4 is generated.

/// Longest incoming id we keep.
const MAX_LEN: usize = 200;

/// 1–200 characters of `[A-Za-z0-9._-]`: nothing that could forge a log line or smuggle markup.
pub fn is_sane(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.iter().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
}

/// A random UUID v4 in its usual text form.
pub fn generate() -> String {
    let r: u128 = rand::random();
    // Version 4 in bits 76..80, variant 0b10 in bits 62..64.
    let r = (r & !(0xf << 76)) | (0x4 << 76);
    let r = (r & !(0x3 << 62)) | (0x2 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        r >> 96,
        (r >> 80) & 0xffff,
        (r >> 64) & 0xffff,
        (r >> 48) & 0xffff,
        r & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids() {
        assert!(is_sane(b"req-42"));
        assert!(is_sane(b"A.b_c-9"));
        assert!(is_sane(&[b'a'; 200]));
        assert!(!is_sane(&[b'a'; 201]));
        assert!(!is_sane(b""));
        assert!(!is_sane(b"a b"));
        assert!(!is_sane(b"a\nb"));
        assert!(!is_sane(b"a\"b"));
        assert!(!is_sane("é".as_bytes()));
    }

    #[test]
    fn generated_ids_are_uuid_v4_and_sane() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('4'), "{a}");
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{a}");
        assert!(is_sane(a.as_bytes()));
    }
}

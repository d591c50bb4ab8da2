//! Names and the content hash: Kubernetes names that fit their limits, and
//! the short deterministic suffixes of generated objects.

/// Longest service name (and DGD name) dgdr writes. The operator derives
/// child-resource names from `{dgd}-{service}`; upstream wrote longer ones
/// and the deployment failed (SPEC §9).
pub const MAX_SERVICE_NAME: usize = 45;

/// Longest Kubernetes label value.
pub const MAX_LABEL_VALUE: usize = 63;

/// FNV-1a, 32 bits: small, fast, the same on every platform and in wasm.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Four lowercase hex digits derived from `bytes` (the FNV-1a hash folded to
/// 16 bits). Used for `planner-config-<4hex>` and kin: the same content gives
/// the same name, every time, on every host.
pub fn hex4(bytes: &[u8]) -> String {
    let h = fnv1a32(bytes);
    format!("{:04x}", (h >> 16) ^ (h & 0xffff))
}

/// Shortens `name` to at most `max` characters, deterministically: a name
/// that fits is returned unchanged; a longer one keeps its beginning and ends
/// in `-` and [`hex4`] of the whole name, so two long names that share a
/// prefix stay distinct.
pub fn fit_name(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let suffix = format!("-{}", hex4(name.as_bytes()));
    let keep = max.saturating_sub(suffix.len());
    let head: String = name.chars().take(keep).collect();
    let head = head.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    format!("{head}{suffix}")
}

/// A DNS-1123 label from any string: lowercase ASCII letters, digits and
/// `-`, starting and ending with a letter or digit, at most `max` characters.
/// Other characters (`.`, `_`, upper case folded first) become `-`.
/// `None` when nothing usable is left.
pub fn dns_label(name: &str, max: usize) -> Option<String> {
    let mapped: String = name
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    if trimmed.is_empty() {
        return None;
    }
    Some(fit_name(trimmed, max))
}

/// A valid label value: `[A-Za-z0-9._-]`, alphanumeric at both ends, at most
/// 63 characters. `None` when nothing usable is left.
pub fn label_value(value: &str) -> Option<String> {
    let mapped: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        return None;
    }
    Some(fit_name(trimmed, MAX_LABEL_VALUE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        // Published FNV-1a 32-bit test vectors.
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn hex4_is_stable() {
        // Changing these changes every generated ConfigMap name: don't.
        assert_eq!(hex4(b""), "1cd9");
        assert_eq!(hex4(b"planner_config.json"), hex4(b"planner_config.json"));
        assert_eq!(hex4(b"foobar").len(), 4);
        assert_eq!(hex4(b"foobar"), "46f4");
        assert_ne!(hex4(b"a"), hex4(b"b"));
    }

    #[test]
    fn names_that_fit_are_kept() {
        assert_eq!(fit_name("VllmDecodeWorker", 45), "VllmDecodeWorker");
        let exactly = "a".repeat(45);
        assert_eq!(fit_name(&exactly, 45), exactly);
    }

    #[test]
    fn long_names_are_cut_and_hashed() {
        let long = format!("{}-{}", "x".repeat(40), "tail-that-does-not-fit");
        let fitted = fit_name(&long, 45);
        assert_eq!(fitted.len(), 45);
        assert!(fitted.starts_with(&"x".repeat(39)));
        assert_eq!(fitted, fit_name(&long, 45), "deterministic");
        // Same prefix, different tail: different names.
        let other = format!("{}-{}", "x".repeat(40), "another-tail-that-is-long");
        assert_ne!(fit_name(&other, 45), fitted);
        // A cut that lands on '-' does not leave "--".
        let dashy = format!("{}-{}", "y".repeat(39), "z".repeat(20));
        let f = fit_name(&dashy, 45);
        assert!(!f.contains("--"), "{f}");
        assert!(f.len() <= 45);
    }

    #[test]
    fn dns_labels_are_sanitised() {
        assert_eq!(
            dns_label("My.Model_Deploy", 45).as_deref(),
            Some("my-model-deploy")
        );
        assert_eq!(dns_label("--a--", 45).as_deref(), Some("a"));
        assert_eq!(dns_label("...", 45), None);
        let long = "a".repeat(100);
        assert_eq!(dns_label(&long, 45).map(|s| s.len()), Some(45));
    }

    #[test]
    fn label_values_are_sanitised() {
        assert_eq!(label_value("sla.moe").as_deref(), Some("sla.moe"));
        assert_eq!(label_value("a/b c").as_deref(), Some("a-b-c"));
        assert_eq!(label_value("").as_deref(), None);
        assert_eq!(label_value(&"n".repeat(200)).map(|s| s.len()), Some(63));
    }
}

//! Container images derived from `spec.image` (SPEC §5.3).
//!
//! The user names one Dynamo image (typically `…/dynamo-frontend:TAG`); the
//! workers run the backend's runtime image and the planner the planner
//! image, from the same registry, namespace and release. So the last path
//! component is replaced and everything else kept:
//!
//! | `spec.image` | `vllm-runtime` |
//! |---|---|
//! | `nvcr.io/nvidia/ai-dynamo/dynamo-frontend:1.0.0` | `nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.0` |
//! | `reg:5000/x/y@sha256:…` | `reg:5000/x/vllm-runtime@sha256:…` |
//! | `dynamo:1.0` (no path) | `vllm-runtime:1.0` |
//!
//! A registry port (`reg:5000/…`) is not a tag: only a `:` after the last `/`
//! starts one.

use super::RenderError;

/// The parts of an image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Registry and repository path up to the last `/`, without it; empty for a bare name.
    pub prefix: &'a str,
    /// The last path component.
    pub name: &'a str,
    /// The tag, without `:`.
    pub tag: Option<&'a str>,
    /// The digest, without `@` (e.g. `sha256:…`).
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    /// Splits an image reference. Errors say what is wrong with it.
    pub fn parse(image: &'a str) -> Result<ImageRef<'a>, RenderError> {
        let bad = |reason: &'static str| RenderError::InvalidImage {
            image: image.to_string(),
            reason,
        };
        if image.trim().is_empty() {
            return Err(bad("it is empty"));
        }
        if image.chars().any(char::is_whitespace) {
            return Err(bad("it contains whitespace"));
        }
        let (rest, digest) = match image.split_once('@') {
            Some((_, "")) => return Err(bad("nothing follows `@`")),
            Some((r, d)) => (r, Some(d)),
            None => (image, None),
        };
        let (prefix, last) = match rest.rsplit_once('/') {
            Some((p, l)) => (p, l),
            None => ("", rest),
        };
        let (name, tag) = match last.split_once(':') {
            Some((_, "")) => return Err(bad("nothing follows `:`")),
            Some((n, t)) => (n, Some(t)),
            None => (last, None),
        };
        if name.is_empty() {
            return Err(bad("it has no image name after the last `/`"));
        }
        if rest.starts_with('/') || rest.contains("//") {
            return Err(bad("it has an empty path component"));
        }
        Ok(ImageRef {
            prefix,
            name,
            tag,
            digest,
        })
    }

    /// The same reference with another last path component.
    pub fn with_name(&self, name: &str) -> String {
        let mut s = String::new();
        if !self.prefix.is_empty() {
            s.push_str(self.prefix);
            s.push('/');
        }
        s.push_str(name);
        if let Some(t) = self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

/// `image` with its last path component replaced by `name`, keeping
/// registry, path, tag and digest.
pub fn derive_image(image: &str, name: &str) -> Result<String, RenderError> {
    Ok(ImageRef::parse(image)?.with_name(name))
}

/// Whether deriving `name` from `image` keeps a digest that belongs to
/// another image (a digest names content, so `…/vllm-runtime@sha256:X` with
/// the frontend's `X` will not pull).
pub fn derived_digest_mismatch(image: &str, name: &str) -> bool {
    ImageRef::parse(image).is_ok_and(|r| r.digest.is_some() && r.name != name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_table() {
        let cases = [
            (
                "nvcr.io/nvidia/ai-dynamo/dynamo-frontend:1.0.0",
                "vllm-runtime",
                "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.0",
            ),
            (
                "nvcr.io/nvidia/ai-dynamo/dynamo-frontend:1.0.0",
                "tensorrtllm-runtime",
                "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.0.0",
            ),
            (
                "nvcr.io/nvidia/ai-dynamo/vllm-runtime:my-tag",
                "dynamo-planner",
                "nvcr.io/nvidia/ai-dynamo/dynamo-planner:my-tag",
            ),
            (
                "reg:5000/x/y@sha256:0123abcd",
                "sglang-runtime",
                "reg:5000/x/sglang-runtime@sha256:0123abcd",
            ),
            (
                "reg:5000/x/y:1.2@sha256:0123abcd",
                "sglang-runtime",
                "reg:5000/x/sglang-runtime:1.2@sha256:0123abcd",
            ),
            // A registry port is not a tag.
            ("reg:5000/y", "vllm-runtime", "reg:5000/vllm-runtime"),
            (
                "localhost:5000/team/dynamo:dev",
                "vllm-runtime",
                "localhost:5000/team/vllm-runtime:dev",
            ),
            // Bare names, with and without tag or digest.
            ("dynamo", "vllm-runtime", "vllm-runtime"),
            ("dynamo:1.0", "vllm-runtime", "vllm-runtime:1.0"),
            ("dynamo@sha256:ff", "vllm-runtime", "vllm-runtime@sha256:ff"),
            // Already the right image: unchanged.
            (
                "my-registry/sglang-runtime:my-tag",
                "sglang-runtime",
                "my-registry/sglang-runtime:my-tag",
            ),
        ];
        for (image, name, want) in cases {
            assert_eq!(derive_image(image, name).unwrap(), want, "{image} → {name}");
        }
    }

    #[test]
    fn malformed_images_are_rejected_with_a_reason() {
        for bad in [
            "", "  ", "a b", "reg/x/", "/x", "reg//x", "x:", "x@", "reg/:tag",
        ] {
            let e = derive_image(bad, "vllm-runtime").unwrap_err();
            assert!(
                matches!(e, RenderError::InvalidImage { .. }),
                "{bad:?}: {e:?}"
            );
        }
    }

    #[test]
    fn digest_mismatch_is_detected() {
        assert!(derived_digest_mismatch("a/b@sha256:1", "vllm-runtime"));
        assert!(!derived_digest_mismatch(
            "a/vllm-runtime@sha256:1",
            "vllm-runtime"
        ));
        assert!(!derived_digest_mismatch("a/b:1", "vllm-runtime"));
    }
}

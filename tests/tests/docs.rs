//! Documents generated from the code stay in step with it.
//! `UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test docs` rewrites them.

use dgdr_core::diag::Code;
use dgdr_tests::workspace_root;

fn codes_markdown() -> String {
    let mut s = String::from(
        "# Validation codes\n\n\
         Every problem `dgdr validate` (and the webhook, and the browser) reports carries one of \
         these codes. A code never changes meaning once released. `E` codes are errors (the \
         request is rejected), `W` codes are warnings (it is accepted). \
         `dgdr validate --list-codes` prints this list.\n\n\
         This file is generated from `core/src/diag.rs`; \
         `UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test docs` regenerates it.\n\n\
         | code | meaning |\n|---|---|\n",
    );
    for c in Code::ALL {
        s.push_str(&format!("| `{}` | {} |\n", c.as_str(), c.summary()));
    }
    s
}

#[test]
fn validation_codes_doc_is_current() {
    let path = workspace_root().join("docs/validation-codes.md");
    let want = codes_markdown();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/validation-codes.md is out of date; run UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test docs"
    );
}

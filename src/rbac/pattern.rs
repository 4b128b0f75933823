//! Operation patterns (`Microsoft.Storage/storageAccounts/*/read`, `*`, `*/read`) as Azure
//! RBAC matches them: case-insensitive, anchored at both ends, each `*` standing for any
//! run of characters including `/` (shared/reference/azure-rbac.md §1.4–1.5).
//!
//! Besides matching one operation, requirement checks need two relations between
//! patterns: whether one covers every operation of another, and whether two can match a
//! common operation. All three are small dynamic programs over ASCII-folded bytes.

fn fold(s: &str) -> Vec<u8> {
    s.bytes().map(|b| b.to_ascii_lowercase()).collect()
}

/// Whether `pattern` matches the whole operation name `operation`: the reference the
/// tests hold `covers` and `intersects` to (on a literal, both reduce to this).
#[cfg(test)]
pub fn matches(pattern: &str, operation: &str) -> bool {
    let (p, o) = (fold(pattern), fold(operation));
    // Classic glob matching with backtracking to the last star: linear in practice.
    let (mut pi, mut oi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while oi < o.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, oi));
            pi += 1;
        } else if pi < p.len() && p[pi] == o[oi] {
            pi += 1;
            oi += 1;
        } else if let Some((sp, so)) = star {
            pi = sp + 1;
            oi = so + 1;
            star = Some((sp, so + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether every operation matched by `narrow` is matched by `wide`.
///
/// Sound (never claims coverage that does not hold): `narrow`'s stars may only be absorbed
/// by `wide`'s stars, so whatever a `narrow` star expands to, `wide` still matches.
pub fn covers(wide: &str, narrow: &str) -> bool {
    let (w, n) = (wide.as_bytes(), narrow.as_bytes());
    // `wide`'s literal ends must appear, literally, at `narrow`'s ends: this settles most
    // pairs (other providers, other resource types) without the quadratic program.
    let Some(first_star) = w.iter().position(|&c| c == b'*') else {
        return !n.contains(&b'*') && w.eq_ignore_ascii_case(n);
    };
    let last_star = w.iter().rposition(|&c| c == b'*').unwrap_or(first_star);
    let (head, tail) = (&w[..first_star], &w[last_star + 1..]);
    let literal_end = |end: &[u8], of_narrow: &[u8]| {
        !of_narrow.contains(&b'*') && end.eq_ignore_ascii_case(of_narrow)
    };
    if n.len() < head.len() + tail.len()
        || !literal_end(head, &n[..head.len()])
        || !literal_end(tail, &n[n.len() - tail.len()..])
    {
        return false;
    }
    let (w, n) = (
        fold(&wide[first_star..=last_star]),
        fold(&narrow[head.len()..n.len() - tail.len()]),
    );
    // reach[i][j]: w[i..] covers n[j..]; rows are computed from the last, two at a time.
    let mut below = vec![false; n.len() + 1];
    let mut row = vec![false; n.len() + 1];
    below[n.len()] = true;
    for i in (0..w.len()).rev() {
        for j in (0..=n.len()).rev() {
            row[j] = match (w[i], n.get(j)) {
                (b'*', _) => below[j] || (j < n.len() && row[j + 1]),
                (wc, Some(&nc)) => nc != b'*' && wc == nc && below[j + 1],
                (_, None) => false,
            };
        }
        std::mem::swap(&mut below, &mut row);
    }
    below[0]
}

/// Whether some operation name matches both patterns.
pub fn intersects(a: &str, b: &str) -> bool {
    // The literal text before either pattern's first star must agree, and likewise after
    // the last: a cheap rejection for most pairs.
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let star_free = |s: &[u8]| s.iter().position(|&c| c == b'*').unwrap_or(s.len());
    let head = star_free(x).min(star_free(y));
    let star_free_end = |s: &[u8]| s.iter().rev().position(|&c| c == b'*').unwrap_or(s.len());
    let tail = star_free_end(x).min(star_free_end(y));
    let heads_agree =
        x.len() >= head && y.len() >= head && x[..head].eq_ignore_ascii_case(&y[..head]);
    let tails_agree = x[x.len() - tail..].eq_ignore_ascii_case(&y[y.len() - tail..]);
    if !heads_agree || !tails_agree {
        return false;
    }
    let (a, b) = (fold(a), fold(b));
    // reach[i][j]: a[i..] and b[j..] match a common string; two rows at a time.
    let mut below = vec![false; b.len() + 1];
    let mut row = vec![false; b.len() + 1];
    below[b.len()] = true;
    for j in (0..b.len()).rev() {
        below[j] = b[j] == b'*' && below[j + 1];
    }
    for i in (0..a.len()).rev() {
        for j in (0..=b.len()).rev() {
            row[j] = match (a[i], b.get(j)) {
                (b'*', _) => below[j] || (j < b.len() && row[j + 1]),
                (_, Some(b'*')) => row[j + 1] || below[j],
                (x, Some(&y)) => x == y && below[j + 1],
                (_, None) => false,
            };
        }
        std::mem::swap(&mut below, &mut row);
    }
    below[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn documented_wildcard_examples() {
        // (pattern, operation, matches) — azure-rbac.md §1.4 and §5 rules 3-5.
        let table = [
            ("*", "Microsoft.Compute/disks/write", true),
            ("*/read", "Microsoft.Storage/storageAccounts/read", true),
            (
                "*/read",
                "Microsoft.Storage/storageAccounts/listKeys/action",
                false,
            ),
            (
                "*/read",
                "Microsoft.Compute/disks/beginGetAccess/action",
                false,
            ),
            (
                "Microsoft.Compute/*",
                "Microsoft.Compute/snapshots/beginGetAccess/action",
                true,
            ),
            (
                "Microsoft.Compute/*",
                "Microsoft.ComputeSchedule/actions/read",
                false,
            ),
            (
                "Microsoft.Storage/storageAccounts/*/read",
                "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                true,
            ),
            (
                "Microsoft.Storage/storageAccounts/*/read",
                "Microsoft.Storage/storageAccounts/read",
                false,
            ),
            (
                "Microsoft.DataProtection/*/resourceGuards/write",
                "Microsoft.DataProtection/locations/x/resourceGuards/write",
                true,
            ),
            (
                "Microsoft.Authorization/*/Write",
                "microsoft.authorization/roleassignments/write",
                true,
            ),
            (
                "microsoft.web/sites/restart/Action",
                "Microsoft.Web/sites/restart/action",
                true,
            ),
            (
                "Microsoft.Compute/disks/read",
                "Microsoft.Compute/disks/readX",
                false,
            ),
            (
                "Microsoft.CostManagement/*/query/*",
                "Microsoft.CostManagement/a/b/query/c/d",
                true,
            ),
        ];
        for (pattern, operation, expected) in table {
            assert_eq!(
                matches(pattern, operation),
                expected,
                "{pattern} vs {operation}"
            );
        }
    }

    #[test]
    fn coverage_between_patterns() {
        assert!(covers("*", "*/read"));
        assert!(covers("*/read", "Microsoft.Network/*/read"));
        assert!(!covers("Microsoft.Network/*/read", "*/read"));
        assert!(!covers(
            "Microsoft.Storage/storageAccounts/*/read",
            "Microsoft.Storage/storageAccounts/read"
        ));
        assert!(covers(
            "Microsoft.Storage/storageAccounts/*",
            "Microsoft.Storage/storageAccounts/listkeys/action"
        ));
        assert!(!covers("*/read", "*"));
    }

    #[test]
    fn intersection_between_patterns() {
        assert!(intersects("*", "Microsoft.Compute/disks/write"));
        assert!(!intersects("Microsoft.Authorization/*/Delete", "*/read"));
        assert!(intersects("Microsoft.Authorization/*", "*/read"));
        assert!(!intersects("Microsoft.Compute/*", "Microsoft.Network/*"));
        assert!(intersects("*/write", "Microsoft.Compute/*"));
    }

    #[test]
    fn only_ascii_case_is_folded() {
        assert!(matches(
            "MICROSOFT¡COMPUTE/*",
            "microsoft¡compute/disks/read"
        ));
        assert!(!matches("microsoft\u{e9}/*", "MICROSOFT\u{c9}/read"));
        assert!(covers("Microsoft¡Compute/*", "MICROSOFT¡COMPUTE/disks/*"));
    }

    fn op() -> impl Strategy<Value = String> {
        let literal = prop_oneof![
            Just("Microsoft.Compute"),
            Just("disks"),
            Just("read"),
            Just("write"),
            Just("action")
        ];
        proptest::collection::vec(
            prop_oneof![literal.prop_map(str::to_string), "[a-zA-Z]{1,4}"],
            1..5,
        )
        .prop_map(|parts| parts.join("/"))
    }

    /// A pattern made from an operation by replacing some segments with `*`.
    fn pattern_of(operation: &str, mask: &[bool]) -> String {
        operation
            .split('/')
            .zip(mask.iter().cycle())
            .map(|(seg, star)| if *star { "*" } else { seg })
            .collect::<Vec<_>>()
            .join("/")
    }

    proptest! {
        #[test]
        fn never_panics(a in "\\PC{0,20}", b in "\\PC{0,20}") {
            let _ = matches(&a, &b);
            crate::harness::operation_patterns(format!("{a}\n{b}").as_bytes());
        }

        #[test]
        fn invariant_under_ascii_case(o in op(), mask in proptest::collection::vec(any::<bool>(), 1..5)) {
            let p = pattern_of(&o, &mask);
            prop_assert!(matches(&p, &o));
            prop_assert!(matches(&p.to_ascii_uppercase(), &o.to_ascii_lowercase()));
            prop_assert_eq!(covers(&p, &o), covers(&p.to_ascii_lowercase(), &o.to_ascii_uppercase()));
        }

        #[test]
        fn coverage_implies_matching(o in op(), mask in proptest::collection::vec(any::<bool>(), 1..5), wide_mask in proptest::collection::vec(any::<bool>(), 1..5)) {
            let narrow = pattern_of(&o, &mask);
            let wide = pattern_of(&o, &wide_mask);
            if covers(&wide, &narrow) {
                prop_assert!(matches(&wide, &o));
            }
            // Matching a literal is covering it, and a literal intersects exactly what matches it.
            prop_assert_eq!(covers(&wide, &o), matches(&wide, &o));
            prop_assert_eq!(intersects(&wide, &o), matches(&wide, &o));
        }
    }
}

//! Which actions an ABAC condition on a role definition's permission block restricts
//! (azure-rbac.md §1.7). A condition that names its actions, clause by clause, as
//! `(!(ActionMatches{'A'} [OR ActionMatches{'B'}]…)) OR (…)` holds for every other action,
//! so it restricts only those it names. Any other form may restrict every action of the
//! block: then no targets are reported and the caller treats the whole block as conditional.
//!
//! Pure text analysis: it never evaluates attributes (`@Request[…]`, `@Resource[…]`) and
//! never guesses a form it does not recognise.

/// The actions the condition restricts, or `None` when its form does not show them.
pub fn targeted_actions(condition: &str) -> Option<Vec<String>> {
    let mut targets = Vec::new();
    for clause in split_top_level(unwrap(condition), &["AND", "&&"]) {
        let operands = split_top_level(unwrap(clause), &["OR", "||"]);
        let guard = negated(unwrap(operands.first()?))?;
        targets.extend(action_disjunction(guard)?);
    }
    (!targets.is_empty()).then_some(targets)
}

/// `A OR B …` where each operand is `ActionMatches{'X'}`, optionally narrowed by
/// `AND NOT SubOperationMatches{'…'}` (a narrowing never widens what is targeted).
fn action_disjunction(expression: &str) -> Option<Vec<String>> {
    split_top_level(unwrap(expression), &["OR", "||"])
        .into_iter()
        .map(|operand| {
            let factors = split_top_level(unwrap(operand), &["AND", "&&"]);
            let narrowings_only = factors[1..]
                .iter()
                .all(|f| negated(unwrap(f)).is_some_and(|s| is_call(s, "SubOperationMatches")));
            if !narrowings_only {
                return None;
            }
            call_argument(unwrap(factors[0]), "ActionMatches")
        })
        .collect()
}

/// The expression under a leading `!` or `NOT`, when the negation covers all of `text`.
fn negated(text: &str) -> Option<&str> {
    let rest = if let Some(rest) = text.strip_prefix('!') {
        rest
    } else if let Some(rest) = text
        .get(..3)
        .filter(|head| head.eq_ignore_ascii_case("NOT"))
        .map(|_| &text[3..])
    {
        rest.starts_with(|c: char| c.is_whitespace() || c == '(')
            .then_some(rest)?
    } else {
        return None;
    };
    let rest = rest.trim();
    if rest.starts_with('(') {
        (closing_paren(rest) == Some(rest.len() - 1)).then(|| unwrap(rest))
    } else {
        is_call(rest, "SubOperationMatches").then_some(rest)
    }
}

fn is_call(text: &str, function: &str) -> bool {
    call_argument(text, function).is_some()
}

/// `X` of `Function{'X'}` when `text` is exactly that call with one quoted argument.
fn call_argument(text: &str, function: &str) -> Option<String> {
    let head = text.get(..function.len())?;
    if !head.eq_ignore_ascii_case(function) {
        return None;
    }
    let inner = text[function.len()..]
        .trim_start()
        .strip_prefix('{')?
        .strip_suffix('}')?
        .trim();
    let argument = inner.strip_prefix('\'')?.strip_suffix('\'')?;
    (!argument.is_empty() && !argument.contains('\'')).then(|| argument.to_string())
}

/// `text` without whitespace and without parentheses that enclose all of it.
fn unwrap(text: &str) -> &str {
    let mut text = text.trim();
    while text.starts_with('(') && closing_paren(text) == Some(text.len() - 1) {
        text = text[1..text.len() - 1].trim();
    }
    text
}

/// The byte index of the parenthesis closing the one `text` starts with (quotes skipped).
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits `text` at the operators `names` outside parentheses, braces and quotes. Word
/// operators must stand apart (`AND` in `ANDROID` is no operator).
fn split_top_level<'a>(text: &'a str, names: &[&str]) -> Vec<&'a str> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start, mut i) = (0i32, false, 0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' | b'{' if !quoted => depth += 1,
            b')' | b'}' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 => {
                let operator = names.iter().find(|name| {
                    let end = i + name.len();
                    let word = name.bytes().all(|b| b.is_ascii_alphabetic());
                    let apart = |at: Option<&u8>| {
                        at.is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'(' | b')'))
                    };
                    text.get(i..end)
                        .is_some_and(|s| s.eq_ignore_ascii_case(name))
                        && (!word
                            || (apart(i.checked_sub(1).map(|p| &bytes[p]))
                                && apart(bytes.get(end))))
                });
                if let Some(name) = operator {
                    parts.push(&text[start..i]);
                    i += name.len();
                    start = i;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITE: &str = "Microsoft.Authorization/roleAssignments/write";
    const DELETE: &str = "Microsoft.Authorization/roleAssignments/delete";

    fn targets(condition: &str) -> Option<Vec<String>> {
        targeted_actions(condition)
    }

    #[test]
    fn delegation_conditions_target_role_assignment_write_and_delete() {
        // The condition of Virtual Machine Data Access Administrator (preview), verbatim.
        let condition = "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{1c0163c0-47e6-4577-8991-ea5c82e286e4, fb879df8-f326-4884-b1cf-06f3ad86be52})) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{1c0163c0-47e6-4577-8991-ea5c82e286e4, fb879df8-f326-4884-b1cf-06f3ad86be52}))";
        assert_eq!(targets(condition), Some(vec![WRITE.into(), DELETE.into()]));
        assert_eq!(
            targets(&format!("((!(ActionMatches{{'{WRITE}'}})))")),
            Some(vec![WRITE.into()])
        );
        assert_eq!(
            targets(&format!(
                "(NOT (ActionMatches{{'{WRITE}'}} OR ActionMatches{{'{DELETE}'}})) OR (@Request[x] StringEquals 'a AND b')"
            )),
            Some(vec![WRITE.into(), DELETE.into()])
        );
    }

    #[test]
    fn a_sub_operation_narrowing_keeps_the_action_as_the_target() {
        let condition = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} AND NOT SubOperationMatches{'Blob.List'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'backups'))";
        assert_eq!(
            targets(condition),
            Some(vec![
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read".into()
            ])
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(condition in "[(){}!'& A-Za-zé/.:\\[\\]-]{0,60}") {
            let _ = targeted_actions(&condition);
        }
    }

    #[test]
    fn forms_that_may_restrict_every_action_have_no_targets() {
        for condition in [
            "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'x'",
            // Not negated: false for every other action.
            &format!("(ActionMatches{{'{WRITE}'}}) AND (@Request[x] StringEquals 'y')"),
            // A top-level OR of clauses, and a negation that does not cover its operand.
            &format!("(!(ActionMatches{{'{WRITE}'}}) OR x) OR (!(ActionMatches{{'{DELETE}'}}) OR y)"),
            &format!("!(ActionMatches{{'{WRITE}'}} OR @Request[x] StringEquals 'y')"),
            &format!("!(ActionMatches{{'{WRITE}'}} AND @Request[x] StringEquals 'y')"),
            &format!("!(NOT ActionMatches{{'{WRITE}'}})"),
            "",
            "((((",
            "!(ActionMatches{''})",
        ] {
            assert_eq!(targets(condition), None, "{condition}");
        }
    }
}

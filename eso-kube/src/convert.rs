//! Label queries as label selector strings. The Secret conversion itself lives in
//! [`eso_core::cluster`] (`secret_from_kube`, `secret_to_kube`), re-exported at this crate's root.

use eso_core::cluster::{LabelExpression, LabelQuery};

/// The server-side part of a label query as a label selector string. An `In`/`NotIn` with no
/// values cannot be expressed and is left out: callers always filter the listed objects with
/// [`LabelQuery::matches`] as well.
pub(crate) fn selector(q: &LabelQuery) -> String {
    let mut parts: Vec<String> = q
        .match_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in &q.match_expressions {
        match e {
            LabelExpression::In(k, vs) if !vs.is_empty() => {
                parts.push(format!("{k} in ({})", vs.join(",")));
            }
            LabelExpression::NotIn(k, vs) if !vs.is_empty() => {
                parts.push(format!("{k} notin ({})", vs.join(",")));
            }
            LabelExpression::Exists(k) => parts.push(k.clone()),
            LabelExpression::DoesNotExist(k) => parts.push(format!("!{k}")),
            _ => {}
        }
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let mut q = LabelQuery::default();
        q.match_labels.insert("a".into(), "1".into());
        q.match_expressions.push(LabelExpression::In(
            "b".into(),
            vec!["x".into(), "y".into()],
        ));
        q.match_expressions
            .push(LabelExpression::NotIn("c".into(), vec![]));
        q.match_expressions
            .push(LabelExpression::DoesNotExist("d".into()));
        assert_eq!(selector(&q), "a=1,b in (x,y),!d");
    }
}

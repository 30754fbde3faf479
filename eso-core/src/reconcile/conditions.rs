//! Status conditions, set the way ESO does.

use crate::api::Condition;

/// Sets (or replaces) the condition of `type_`; keeps `lastTransitionTime` when the status
/// did not change, as ESO does.
pub(crate) fn set_condition(
    conditions: &mut Option<Vec<Condition>>,
    type_: &str,
    status: bool,
    reason: &str,
    message: &str,
    now: &str,
) {
    let list = conditions.get_or_insert_with(Vec::new);
    let status_str = if status { "True" } else { "False" };
    let previous = list.iter().find(|c| c.type_ == type_).cloned();
    let transition = match &previous {
        Some(p) if p.status == status_str => p.last_transition_time.clone(),
        _ => Some(now.to_owned()),
    };
    list.retain(|c| c.type_ != type_);
    list.push(Condition {
        type_: type_.to_owned(),
        status: status_str.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_transition_time: transition,
    });
}

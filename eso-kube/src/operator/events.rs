//! Kubernetes Events on ExternalSecrets and PushSecrets with ESO's reporters, reasons and
//! messages, so `kubectl describe` and `kubectl get events` show what ESO's would.
//!
//! | object | when | type | reason | message |
//! |---|---|---|---|---|
//! | ExternalSecret | target created | Normal | `Created` | `secret created` |
//! | ExternalSecret | target updated | Normal | `Updated` | `secret updated` |
//! | ExternalSecret | target deleted (`deletionPolicy: Delete`, no data) | Normal | `Deleted` | `secret deleted due to DeletionPolicy=Delete` |
//! | ExternalSecret | the reconcile failed | Warning | `UpdateFailed` | the error |
//! | PushSecret | pushed | Normal | `Synced` | the `Ready` message |
//! | PushSecret | source deleted, remote secrets cleaned up | Normal | `SourceDeleted` | the `Ready` message |
//! | PushSecret | a store or the object failed | Warning | `Errored` | the `Ready` message |
//!
//! Nothing is recorded for a pass that changed nothing. A failure to record an event is
//! logged and never fails the reconcile. Repeated events are counted on one Event object
//! (an event series) rather than written again.

use eso_core::api::{ExternalSecret, PushSecret};
use eso_core::reconcile::{ExternalSecretOutcome, PushSecretOutcome, TargetAction};
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// The reporting controller of ExternalSecret events (ESO's recorder name).
pub const EXTERNAL_SECRET_REPORTER: &str = "external-secrets";
/// The reporting controller of PushSecret events (ESO's recorder name).
pub const PUSH_SECRET_REPORTER: &str = "pushsecret";

/// An Event note is at most 1 kB.
const MAX_NOTE: usize = 1024;

/// The recorders of the ExternalSecret and PushSecret controllers.
#[derive(Clone)]
pub(super) struct Events {
    external_secrets: Recorder,
    push_secrets: Recorder,
}

impl Events {
    /// Recorders on `client`; `instance` names this replica (e.g. the pod name).
    pub(super) fn new(client: &kube::Client, instance: Option<String>) -> Self {
        let reporter = |controller: &str| Reporter {
            controller: controller.to_owned(),
            instance: instance.clone(),
        };
        Self {
            external_secrets: Recorder::new(client.clone(), reporter(EXTERNAL_SECRET_REPORTER)),
            push_secrets: Recorder::new(client.clone(), reporter(PUSH_SECRET_REPORTER)),
        }
    }

    /// Records what a pass of `es` did (nothing when it changed nothing).
    pub(super) async fn external_secret(&self, es: &ExternalSecret, out: &ExternalSecretOutcome) {
        if let Some(ev) = external_secret_event(out) {
            publish(&self.external_secrets, es, ev).await;
        }
    }

    /// Records what a pass of `ps` did (nothing when it was up to date).
    pub(super) async fn push_secret(&self, ps: &PushSecret, out: &PushSecretOutcome) {
        if let Some(ev) = push_secret_event(out) {
            publish(&self.push_secrets, ps, ev).await;
        }
    }
}

async fn publish<K: Resource<DynamicType = ()>>(recorder: &Recorder, obj: &K, ev: Event) {
    let reference = obj.object_ref(&());
    if let Err(e) = recorder.publish(&ev, &reference).await {
        tracing::warn!(
            object = %format!(
                "{}/{}",
                reference.namespace.unwrap_or_default(),
                reference.name.unwrap_or_default()
            ),
            reason = %ev.reason, error = %e,
            "could not record event"
        );
    }
}

fn event(type_: EventType, reason: &str, note: &str) -> Event {
    let mut note = note.to_owned();
    if note.len() > MAX_NOTE {
        let mut end = MAX_NOTE;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
    }
    Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: "Reconcile".to_owned(),
        secondary: None,
    }
}

/// ESO's event for an ExternalSecret outcome, if it records one.
fn external_secret_event(out: &ExternalSecretOutcome) -> Option<Event> {
    if let Some(e) = out.error() {
        return Some(event(EventType::Warning, "UpdateFailed", &e.to_string()));
    }
    match out.detail {
        TargetAction::Created => Some(event(EventType::Normal, "Created", "secret created")),
        TargetAction::Updated => Some(event(EventType::Normal, "Updated", "secret updated")),
        TargetAction::Deleted => Some(event(
            EventType::Normal,
            "Deleted",
            "secret deleted due to DeletionPolicy=Delete",
        )),
        _ => None,
    }
}

/// ESO's event for a PushSecret outcome, if it records one.
fn push_secret_event(out: &PushSecretOutcome) -> Option<Event> {
    let ready = out
        .status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready");
    let message = ready.and_then(|c| c.message.clone());
    if !out.errors.is_empty() {
        let message = message.unwrap_or_else(|| out.error_message());
        return Some(event(EventType::Warning, "Errored", &message));
    }
    if out.detail.up_to_date {
        return None;
    }
    let reason = ready.and_then(|c| c.reason.as_deref())?;
    match reason {
        "Synced" | "SourceDeleted" => Some(event(
            EventType::Normal,
            reason,
            message.as_deref().unwrap_or_default(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eso_core::Error;
    use eso_core::api::{Condition, ExternalSecretStatus, PushSecretStatus};
    use eso_core::reconcile::{FlowError, PushCounts};

    fn ready(reason: &str, message: &str) -> Option<Vec<Condition>> {
        Some(vec![Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_transition_time: None,
        }])
    }

    #[test]
    fn external_secret_reasons_as_eso() {
        let out = |a| ExternalSecretOutcome::new(ExternalSecretStatus::default(), None, a);
        let ev = external_secret_event(&out(TargetAction::Created)).unwrap();
        assert_eq!(
            (ev.reason.as_str(), ev.type_),
            ("Created", EventType::Normal)
        );
        assert_eq!(ev.note.as_deref(), Some("secret created"));
        let ev = external_secret_event(&out(TargetAction::Updated)).unwrap();
        assert_eq!(ev.reason, "Updated");
        assert!(external_secret_event(&out(TargetAction::Unchanged)).is_none());
        assert!(external_secret_event(&out(TargetAction::Skipped)).is_none());
        let mut failed = out(TargetAction::NotWritten);
        failed
            .errors
            .push(FlowError::object(Error::not_found("db/password")));
        let ev = external_secret_event(&failed).unwrap();
        assert_eq!(
            (ev.reason.as_str(), ev.type_),
            ("UpdateFailed", EventType::Warning)
        );
        assert!(ev.note.unwrap().contains("db/password"));
    }

    #[test]
    fn push_secret_reasons_as_eso() {
        let status = PushSecretStatus {
            conditions: ready("Synced", "PushSecret synced successfully"),
            ..PushSecretStatus::default()
        };
        let mut out = PushSecretOutcome::new(status, None, PushCounts::default());
        let ev = push_secret_event(&out).unwrap();
        assert_eq!(
            (ev.reason.as_str(), ev.type_),
            ("Synced", EventType::Normal)
        );
        assert_eq!(ev.note.as_deref(), Some("PushSecret synced successfully"));
        out.detail.up_to_date = true;
        assert!(push_secret_event(&out).is_none());
        out.status.conditions = None;
        out.errors
            .push(FlowError::object(Error::generic("x".repeat(3000))));
        let ev = push_secret_event(&out).unwrap();
        assert_eq!(
            (ev.reason.as_str(), ev.type_),
            ("Errored", EventType::Warning)
        );
        assert!(ev.note.unwrap().len() <= MAX_NOTE);
    }
}

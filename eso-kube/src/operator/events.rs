//! Kubernetes Events on ExternalSecrets and PushSecrets with ESO's reporters, reasons and
//! messages, so `kubectl describe` and `kubectl get events` show what ESO's would.
//!
//! | object | when | type | reason | message |
//! |---|---|---|---|---|
//! | ExternalSecret | target created | Normal | `Created` | `secret created` |
//! | ExternalSecret | target updated | Normal | `Updated` | `secret updated` |
//! | ExternalSecret | target deleted (`deletionPolicy: Delete`, no data) | Normal | `Deleted` | `secret deleted due to DeletionPolicy=Delete` |
//! | ExternalSecret | the reconcile failed | Warning | `UpdateFailed` | the error |
//! | ExternalSecret | a rollout restart (eso-rs's `eso-rs.io/rollout-restart`) failed | Warning | `RolloutRestartFailed` | the workload and the error |
//! | PushSecret | pushed | Normal | `Synced` | the `Ready` message |
//! | PushSecret | source deleted, remote secrets cleaned up | Normal | `SourceDeleted` | the `Ready` message |
//! | PushSecret | a store or the object failed | Warning | `Errored` | the `Ready` message |
//!
//! Nothing is recorded for a pass that changed nothing. Events are best-effort, as in ESO
//! (client-go's event broadcaster): a reconcile hands its event to a queue of
//! [`QUEUE`] entries and goes on; one task writes them to the API server, one at a time, so
//! a sync never waits for its Event and Event writes take at most one of the API server's
//! requests in flight at any moment. When the queue is full (the API server is slower than
//! the syncs for long), new events are dropped and a debug line says so. A failure to record an event is logged and never fails the reconcile.
//! Repeated events are counted on one Event object (an event series) rather than written
//! again; the [`Recorder`] remembers at most [`CACHE_MAX`](super::recorder::CACHE_MAX)
//! series, so its memory is bounded however many objects the operator has.

use eso_core::api::{ExternalSecret, PushSecret};
use eso_core::reconcile::{ExternalSecretOutcome, PushSecretOutcome, TargetAction};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Reporter};
use tokio::sync::mpsc;

use super::recorder::Recorder;

/// The reporting controller of ExternalSecret events (ESO's recorder name).
pub const EXTERNAL_SECRET_REPORTER: &str = "external-secrets";
/// The reporting controller of PushSecret events (ESO's recorder name).
pub const PUSH_SECRET_REPORTER: &str = "pushsecret";

/// An Event note is at most 1 kB.
const MAX_NOTE: usize = 1024;

/// Events waiting to be written at most (client-go's broadcaster queue length).
pub(super) const QUEUE: usize = 1000;

/// Which recorder writes a queued event.
#[derive(Clone, Copy, Debug)]
enum Source {
    ExternalSecret,
    PushSecret,
}

/// The event queue of the ExternalSecret and PushSecret controllers.
#[derive(Clone)]
pub(super) struct Events {
    queue: mpsc::Sender<(Source, ObjectReference, Event)>,
}

impl Events {
    /// Recorders on `client` (`instance` names this replica, e.g. the pod name) and the task
    /// that writes their events; it ends once every clone of the returned value is dropped.
    pub(super) fn new(client: &kube::Client, instance: Option<String>) -> Self {
        let reporter = |controller: &str| Reporter {
            controller: controller.to_owned(),
            instance: instance.clone(),
        };
        let mut external_secrets =
            Recorder::new(client.clone(), reporter(EXTERNAL_SECRET_REPORTER));
        let mut push_secrets = Recorder::new(client.clone(), reporter(PUSH_SECRET_REPORTER));
        let (queue, mut rx) = mpsc::channel::<(Source, ObjectReference, Event)>(QUEUE);
        tokio::spawn(async move {
            while let Some((source, reference, ev)) = rx.recv().await {
                let recorder = match source {
                    Source::ExternalSecret => &mut external_secrets,
                    Source::PushSecret => &mut push_secrets,
                };
                publish(recorder, reference, &ev).await;
            }
        });
        Self { queue }
    }

    /// Records what a pass of `es` did (nothing when it changed nothing).
    pub(super) fn external_secret(&self, es: &ExternalSecret, out: &ExternalSecretOutcome) {
        if let Some(ev) = external_secret_event(out) {
            self.enqueue(Source::ExternalSecret, es.object_ref(&()), ev);
        }
    }

    /// Records that a rollout restart `es` asked for failed (`note` says which and why).
    pub(super) fn rollout_failed(&self, es: &ExternalSecret, note: &str) {
        let ev = event(EventType::Warning, "RolloutRestartFailed", note);
        self.enqueue(Source::ExternalSecret, es.object_ref(&()), ev);
    }

    /// Records what a pass of `ps` did (nothing when it was up to date).
    pub(super) fn push_secret(&self, ps: &PushSecret, out: &PushSecretOutcome) {
        if let Some(ev) = push_secret_event(out) {
            self.enqueue(Source::PushSecret, ps.object_ref(&()), ev);
        }
    }

    fn enqueue(&self, source: Source, reference: ObjectReference, ev: Event) {
        if let Err(e) = self.queue.try_send((source, reference, ev)) {
            let (_, reference, ev) = e.into_inner();
            tracing::debug!(
                object = %object_name(&reference), reason = %ev.reason,
                "event dropped: the event queue is full"
            );
        }
    }
}

fn object_name(reference: &ObjectReference) -> String {
    format!(
        "{}/{}",
        reference.namespace.as_deref().unwrap_or_default(),
        reference.name.as_deref().unwrap_or_default()
    )
}

async fn publish(recorder: &mut Recorder, reference: ObjectReference, ev: &Event) {
    if let Err(e) = recorder.publish(ev, &reference).await {
        tracing::warn!(
            object = %object_name(&reference), reason = %ev.reason, error = %e,
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
        TargetAction::Updated | TargetAction::Relabelled => {
            Some(event(EventType::Normal, "Updated", "secret updated"))
        }
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

//! Behaviour of the real API that the emulator does not reproduce, checked against an
//! in-process stub of the SDK's transport: `latest` disabled (`FAILED_PRECONDITION`) under both
//! selection policies, paging of list calls, the list filter sent, the etag on delete,
//! regional resource names.

use std::sync::{Arc, Mutex};

use eso_core::Error;
use eso_core::api::GcpSecretVersionSelectionPolicy as Policy;
use eso_core::provider::{FindRef, Provider, PushRef, RemoteRef};
use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::error::rpc::{Code, Status};
use google_cloud_gax::options::RequestOptions;
use google_cloud_gax::response::Response;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::{
    AccessSecretVersionRequest, AccessSecretVersionResponse, DeleteSecretRequest, GetSecretRequest,
    ListSecretVersionsRequest, ListSecretVersionsResponse, ListSecretsRequest, ListSecretsResponse,
    Secret, SecretPayload, SecretVersion, secret_version::State,
};
use google_cloud_secretmanager_v1::stub;
use google_cloud_wkt::Timestamp;

use crate::provider::GcpSecretManager;
use crate::provider::Settings;

/// Secret `db`: version 4 (newest) disabled, 3 enabled, 2 destroyed, 1 enabled; listed two
/// versions per page. Records requests.
#[derive(Debug, Default)]
struct Stub {
    seen: Arc<Mutex<Vec<String>>>,
}

fn status(code: Code, msg: &str) -> GaxError {
    GaxError::service(Status::default().set_code(code).set_message(msg))
}

fn version(n: u32, state: State) -> SecretVersion {
    SecretVersion::new()
        .set_name(format!("projects/p/secrets/db/versions/{n}"))
        .set_state(state)
        .set_create_time(Timestamp::clamp(1_700_000_000 + i64::from(n), 0))
}

impl stub::SecretManagerService for Stub {
    async fn access_secret_version(
        &self,
        req: AccessSecretVersionRequest,
        _o: RequestOptions,
    ) -> google_cloud_gax::Result<Response<AccessSecretVersionResponse>> {
        self.seen
            .lock()
            .unwrap()
            .push(format!("access {}", req.name));
        let v = req.name.rsplit('/').next().unwrap_or_default();
        match v {
            "latest" | "4" => Err(status(
                Code::FailedPrecondition,
                "Secret Version [projects/1/secrets/db/versions/4] is in DISABLED state.",
            )),
            "3" | "1" => Ok(Response::from(
                AccessSecretVersionResponse::new()
                    .set_name(&req.name)
                    .set_payload(SecretPayload::new().set_data(format!(r#"{{"v":"{v}"}}"#))),
            )),
            _ => Err(status(Code::NotFound, "no such version")),
        }
    }

    async fn list_secret_versions(
        &self,
        req: ListSecretVersionsRequest,
        _o: RequestOptions,
    ) -> google_cloud_gax::Result<Response<ListSecretVersionsResponse>> {
        self.seen.lock().unwrap().push(format!(
            "versions filter={} page={}",
            req.filter, req.page_token
        ));
        let page = if req.page_token.is_empty() {
            ListSecretVersionsResponse::new()
                .set_versions([version(4, State::Disabled), version(2, State::Destroyed)])
                .set_next_page_token("p2")
        } else {
            ListSecretVersionsResponse::new()
                .set_versions([version(1, State::Enabled), version(3, State::Enabled)])
        };
        Ok(Response::from(page))
    }

    async fn list_secrets(
        &self,
        req: ListSecretsRequest,
        _o: RequestOptions,
    ) -> google_cloud_gax::Result<Response<ListSecretsResponse>> {
        self.seen.lock().unwrap().push(format!(
            "list parent={} filter={} page={}",
            req.parent, req.filter, req.page_token
        ));
        let secret = |n: &str, team: &str| {
            Secret::new()
                .set_name(format!("{}/secrets/{n}", req.parent))
                .set_labels([("team", team)])
        };
        let page = if req.page_token.is_empty() {
            ListSecretsResponse::new()
                .set_secrets([secret("db", "a"), secret("other", "b")])
                .set_next_page_token("p2")
        } else {
            ListSecretsResponse::new().set_secrets([secret("db-2", "a")])
        };
        Ok(Response::from(page))
    }

    async fn get_secret(
        &self,
        req: GetSecretRequest,
        _o: RequestOptions,
    ) -> google_cloud_gax::Result<Response<Secret>> {
        Ok(Response::from(
            Secret::new()
                .set_name(&req.name)
                .set_etag("\"17\"")
                .set_labels([("managed-by", "external-secrets")]),
        ))
    }

    async fn delete_secret(
        &self,
        req: DeleteSecretRequest,
        _o: RequestOptions,
    ) -> google_cloud_gax::Result<Response<()>> {
        self.seen
            .lock()
            .unwrap()
            .push(format!("delete {} etag={}", req.name, req.etag));
        Ok(Response::from(()))
    }
}

/// What the stub saw.
#[derive(Debug)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl std::ops::Deref for Seen {
    type Target = Arc<Mutex<Vec<String>>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

fn provider(policy: Policy, location: Option<&str>) -> (GcpSecretManager, Seen) {
    let stub = Stub::default();
    let seen = Seen(Arc::clone(&stub.seen));
    let p = GcpSecretManager {
        api: SecretManagerService::from_stub::<Stub>(stub),
        creds: None,
        s: Arc::new(Settings {
            project: "p".into(),
            location: location.map(str::to_owned),
            policy,
            referent: false,
        }),
    };
    (p, seen)
}

#[tokio::test]
async fn disabled_latest_fails_under_latest_or_fail() {
    let (p, stub) = provider(Policy::LatestOrFail, None);
    let e = p.get_secret(&RemoteRef::new("db")).await.unwrap_err();
    assert!(matches!(e, Error::Generic { .. }), "{e}");
    assert!(e.to_string().contains("DISABLED state"), "{e}");
    assert!(
        e.to_string()
            .contains("projects/p/secrets/db/versions/latest"),
        "{e}"
    );
    assert_eq!(stub.lock().unwrap().len(), 1, "no fallback listing");
}

#[tokio::test]
async fn disabled_latest_falls_back_to_newest_enabled_under_latest_or_fetch() {
    let (p, stub) = provider(Policy::LatestOrFetch, None);
    let v = p
        .get_secret(&RemoteRef::new("db").with_property("v"))
        .await
        .unwrap();
    assert_eq!(v.expose(), b"3");
    let seen = stub.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "access projects/p/secrets/db/versions/latest",
            "versions filter=state:ENABLED page=",
            "versions filter=state:ENABLED page=p2",
            "access projects/p/secrets/db/versions/3",
        ]
    );
    // An explicit version never falls back (ESO).
    let e = p
        .get_secret(&RemoteRef::new("db").with_version("4"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("DISABLED state"), "{e}");
}

#[tokio::test]
async fn secret_exists_uses_the_newest_enabled_version() {
    let (p, _) = provider(Policy::LatestOrFail, None);
    assert!(p.secret_exists(&PushRef::new("db")).await.unwrap());
    assert!(
        p.secret_exists(&PushRef::new("db").with_property("v"))
            .await
            .unwrap()
    );
    assert!(
        !p.secret_exists(&PushRef::new("db").with_property("w"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn find_sends_the_filter_pages_and_checks_matches_itself() {
    let (p, stub) = provider(Policy::LatestOrFetch, Some("europe-west1"));
    let find = FindRef::default()
        .with_name_regexp("^db")
        .unwrap()
        .with_tag("team", "a");
    let got = p.get_all_secrets(&find).await.unwrap();
    // `other` is on the first page but has team=b: dropped here even though the stub ignores
    // the filter. `db-2` only comes on the second page.
    assert_eq!(got.keys().collect::<Vec<_>>(), ["db", "db-2"]);
    let seen = stub.lock().unwrap().clone();
    assert_eq!(
        seen[0],
        "list parent=projects/p/locations/europe-west1 filter=labels.team=a page="
    );
    assert_eq!(
        seen[1],
        "list parent=projects/p/locations/europe-west1 filter=labels.team=a page=p2"
    );
    assert_eq!(
        ProviderFilter::of(&FindRef::default().with_path("app/").with_tag("a", "1")),
        "labels.a=1 name:app/"
    );
}

struct ProviderFilter;
impl ProviderFilter {
    fn of(f: &FindRef) -> String {
        GcpSecretManager::filter(f)
    }
}

#[tokio::test]
async fn delete_sends_the_etag() {
    let (p, stub) = provider(Policy::LatestOrFail, None);
    p.delete_secret(&PushRef::new("db")).await.unwrap();
    assert_eq!(
        stub.lock().unwrap().last().unwrap(),
        "delete projects/p/secrets/db etag=\"17\""
    );
}

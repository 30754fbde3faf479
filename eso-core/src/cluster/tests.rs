//! Unit tests of [`MemoryCluster`](super::MemoryCluster) and label queries.

use super::*;

#[tokio::test]
async fn label_index_follows_updates_and_deletes() {
    let c = MemoryCluster::new();
    let by = |v: &str| {
        let mut q = LabelQuery::default();
        q.match_labels.insert("owner".into(), v.into());
        q
    };
    let names = |v: Vec<KubeSecret>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
    c.create_secret(
        KubeSecret::new("ns", "a")
            .with_label("owner", "x")
            .with_label("tier", "1"),
    )
    .await
    .unwrap();
    c.create_secret(KubeSecret::new("ns", "b").with_label("owner", "x"))
        .await
        .unwrap();
    c.create_secret(KubeSecret::new("other", "c").with_label("owner", "x"))
        .await
        .unwrap();
    assert_eq!(
        names(c.list_secrets("ns", &by("x")).await.unwrap()),
        ["a", "b"]
    );
    // matchLabels beyond the indexed one still filter.
    let mut q = by("x");
    q.match_labels.insert("tier".into(), "1".into());
    assert_eq!(names(c.list_secrets("ns", &q).await.unwrap()), ["a"]);
    // Relabelling moves the Secret in the index.
    let mut a = c.get_secret("ns", "a").await.unwrap().unwrap();
    a.labels.insert("owner".into(), "y".into());
    c.update_secret(a).await.unwrap();
    assert_eq!(names(c.list_secrets("ns", &by("x")).await.unwrap()), ["b"]);
    assert_eq!(names(c.list_secrets("ns", &by("y")).await.unwrap()), ["a"]);
    c.delete_secret("ns", "b").await.unwrap();
    assert!(c.list_secrets("ns", &by("x")).await.unwrap().is_empty());
    // Expressions only: a scan of the namespace.
    let mut q = LabelQuery::default();
    q.match_expressions
        .push(LabelExpression::Exists("owner".into()));
    assert_eq!(names(c.list_secrets("ns", &q).await.unwrap()), ["a"]);
    assert_eq!(names(c.list_secrets("other", &q).await.unwrap()), ["c"]);
}

#[tokio::test]
async fn optimistic_concurrency() {
    let c = MemoryCluster::new();
    let s = c
        .create_secret(KubeSecret::new("ns", "a").with_data("k", "v"))
        .await
        .unwrap();
    assert!(
        c.create_secret(KubeSecret::new("ns", "a"))
            .await
            .unwrap_err()
            .to_string()
            .contains("exists")
    );
    let mut stale = s.clone();
    let s2 = c.update_secret(s.with_data("k2", "v2")).await.unwrap();
    stale.data.clear();
    assert!(matches!(
        c.update_secret(stale).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(c.get_secret("ns", "a").await.unwrap().unwrap(), s2);
    c.delete_secret("ns", "a").await.unwrap();
    c.delete_secret("ns", "a").await.unwrap();
    assert!(c.get_secret("ns", "a").await.unwrap().is_none());
}

#[tokio::test]
async fn immutable_cannot_change() {
    let c = MemoryCluster::new();
    let mut s = KubeSecret::new("ns", "a").with_data("k", "v");
    s.immutable = true;
    let s = c.create_secret(s).await.unwrap();
    let err = c
        .update_secret(s.with_data("k", "other"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("immutable"));
    assert!(!err.to_string().contains("other"));
}

#[tokio::test]
async fn label_queries() {
    let c = MemoryCluster::new()
        .with_secret(KubeSecret::new("ns", "a").with_label("app", "x"))
        .with_secret(KubeSecret::new("ns", "b").with_label("app", "y"))
        .with_secret(KubeSecret::new("other", "c").with_label("app", "x"));
    let mut q = LabelQuery::default();
    q.match_labels.insert("app".into(), "x".into());
    let found = c.list_secrets("ns", &q).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "a");
    q.match_labels.clear();
    q.match_expressions
        .push(LabelExpression::NotIn("app".into(), vec!["x".into()]));
    assert_eq!(c.list_secrets("ns", &q).await.unwrap()[0].name, "b");
    assert_eq!(
        c.list_namespaces(&LabelQuery::default())
            .await
            .unwrap()
            .len(),
        2
    );
}

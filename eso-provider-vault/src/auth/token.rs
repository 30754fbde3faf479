//! The token lifecycle: log in once, renew before expiry, re-login when renewal is no longer
//! possible, revoke what we created when done.
//!
//! ESO logs in on every reconcile and revokes the token afterwards (issue #376: a new lease per
//! reconcile took a Vault cluster down). Here one token serves every call of a provider until
//! two thirds of its TTL have passed; it is then renewed (`renew-self`) or, when not renewable
//! or close to its max TTL, replaced by a fresh login (the old one is revoked).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use eso_core::{Error, Result, SecretValue};
use serde_json::json;

use crate::auth::{Authenticator, Login, parse_auth};
use crate::client::{Call, Http};

/// A token and its timing.
#[derive(Clone)]
struct Held {
    token: SecretValue,
    obtained: Instant,
    ttl: Option<Duration>,
    renewable: bool,
    owned: bool,
}

impl Held {
    fn from_login(l: Login) -> Self {
        Self {
            token: l.token,
            obtained: Instant::now(),
            ttl: l.ttl,
            renewable: l.renewable,
            owned: l.owned,
        }
    }

    /// Still inside the first two thirds of its lifetime.
    fn fresh(&self, now: Instant) -> bool {
        self.ttl
            .is_none_or(|ttl| now.duration_since(self.obtained) < ttl * 2 / 3)
    }

    /// Usable for a renewal or a revocation (a margin of a sixth of the TTL, at most 5 s).
    fn alive(&self, now: Instant) -> bool {
        self.ttl.is_none_or(|ttl| {
            let margin = (ttl / 6).min(Duration::from_secs(5));
            now.duration_since(self.obtained) + margin < ttl
        })
    }
}

/// Counters of the token lifecycle (for tests and metrics).
///
/// # Example
///
/// ```
/// use eso_provider_vault::TokenStats;
///
/// let s = TokenStats::default();
/// assert_eq!(s.logins + s.renewals + s.revocations, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenStats {
    /// Logins performed (including reading a static token).
    pub logins: u64,
    /// Successful `renew-self` calls.
    pub renewals: u64,
    /// Tokens revoked.
    pub revocations: u64,
}

/// Holds the current token of one provider.
#[derive(Debug)]
pub(crate) struct Tokens {
    auth: Authenticator,
    http: Arc<Http>,
    state: RwLock<Option<Held>>,
    gate: tokio::sync::Mutex<()>,
    stats: RwLock<TokenStats>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("token", &"******")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub(crate) fn new(auth: Authenticator, http: Arc<Http>) -> Self {
        Self {
            auth,
            http,
            state: RwLock::new(None),
            gate: tokio::sync::Mutex::new(()),
            stats: RwLock::new(TokenStats::default()),
        }
    }

    pub(crate) fn namespace(&self) -> Option<&str> {
        self.auth.namespace.as_deref()
    }

    pub(crate) fn stats(&self) -> TokenStats {
        self.stats.read().map(|s| *s).unwrap_or_default()
    }

    fn bump(&self, f: impl FnOnce(&mut TokenStats)) {
        if let Ok(mut s) = self.stats.write() {
            f(&mut s);
        }
    }

    fn current(&self) -> Option<Held> {
        self.state.read().ok().and_then(|g| g.clone())
    }

    fn set(&self, held: Option<Held>) {
        if let Ok(mut g) = self.state.write() {
            *g = held;
        }
    }

    /// The token to send, obtaining or refreshing it first when needed; `None` when no auth
    /// method is configured.
    pub(crate) async fn token(&self) -> Result<Option<SecretValue>> {
        if !self.auth.configured() {
            return Ok(None);
        }
        if let Some(h) = self.current()
            && h.fresh(Instant::now())
        {
            return Ok(Some(h.token));
        }
        let _gate = self.gate.lock().await;
        let now = Instant::now();
        let old = self.current();
        if let Some(h) = &old
            && h.fresh(now)
        {
            return Ok(Some(h.token.clone()));
        }
        if let Some(h) = old.as_ref().filter(|h| h.renewable && h.alive(now)) {
            match self.renew(h).await {
                // Vault caps renewals at the max TTL: a grant under half the request means
                // the end is near, so log in again instead.
                Ok(new) if new.ttl.is_none_or(|t| h.ttl.is_none_or(|old| t >= old / 2)) => {
                    self.bump(|s| s.renewals += 1);
                    let token = new.token.clone();
                    self.set(Some(new));
                    return Ok(Some(token));
                }
                Ok(_) => tracing::debug!("vault token is near its max TTL: logging in again"),
                Err(e) => {
                    tracing::debug!(error = %e, "vault token renewal failed: logging in again")
                }
            }
        }
        let login = self.auth.login(&self.http).await?;
        self.bump(|s| s.logins += 1);
        let new = login.map(Held::from_login);
        let token = new.as_ref().map(|h| h.token.clone());
        self.set(new);
        if let Some(h) = old.filter(|h| h.owned && h.alive(now)) {
            self.spawn_revoke(h.token);
        }
        Ok(token)
    }

    async fn renew(&self, h: &Held) -> Result<Held> {
        let increment = h.ttl.map_or(0, |t| t.as_secs());
        let body = json!({"increment": format!("{increment}s")});
        let resp = self
            .http
            .send(
                &Call::post("auth/token/renew-self", &body).in_namespace(self.namespace()),
                Some(&h.token),
            )
            .await
            .map_err(Error::from)?;
        let mut l = parse_auth(resp.as_ref(), "auth/token/renew-self")?;
        l.owned = h.owned;
        // Vault answers with the same token; keep ours if it did not.
        if l.token.is_empty() {
            l.token = h.token.clone();
        }
        Ok(Held::from_login(l))
    }

    /// Whether the current token is still accepted (`lookup-self`); drops it when not, so
    /// the next [`Tokens::token`] logs in again. Returns `false` for static tokens too.
    pub(crate) async fn drop_if_invalid(&self) -> bool {
        if self.auth.is_static() {
            // A static token may have been rotated in its Secret: read it again.
            self.set(None);
            return true;
        }
        let Some(h) = self.current() else {
            return false;
        };
        match self.lookup_self(&h.token).await {
            Err(Error::PermissionDenied { .. } | Error::Unauthenticated { .. }) => {
                self.set(None);
                true
            }
            _ => false,
        }
    }

    /// `auth/token/lookup-self` with `token`.
    pub(crate) async fn lookup_self(&self, token: &SecretValue) -> Result<serde_json::Value> {
        self.http
            .send(
                &Call::get("auth/token/lookup-self").in_namespace(self.namespace()),
                Some(token),
            )
            .await
            .map_err(Error::from)?
            .ok_or_else(|| Error::generic("vault auth/token/lookup-self: empty answer"))
    }

    /// Revokes the current token if we created it.
    pub(crate) async fn revoke(&self) -> Result<()> {
        let _gate = self.gate.lock().await;
        let Some(h) = self.current() else {
            return Ok(());
        };
        self.set(None);
        if !h.owned {
            return Ok(());
        }
        revoke(&self.http, self.namespace(), &h.token).await?;
        self.bump(|s| s.revocations += 1);
        Ok(())
    }

    fn spawn_revoke(&self, token: SecretValue) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let http = Arc::clone(&self.http);
        let ns = self.auth.namespace.clone();
        self.bump(|s| s.revocations += 1);
        handle.spawn(async move {
            if let Err(e) = revoke(&http, ns.as_deref(), &token).await {
                tracing::debug!(error = %e, "revoking a replaced vault token failed");
            }
        });
    }
}

async fn revoke(http: &Http, ns: Option<&str>, token: &SecretValue) -> Result<()> {
    let body = json!({});
    http.send(
        &Call::post("auth/token/revoke-self", &body).in_namespace(ns),
        Some(token),
    )
    .await
    .map(|_| ())
    .map_err(Error::from)
}

impl Drop for Tokens {
    fn drop(&mut self) {
        let held = self.state.get_mut().ok().and_then(Option::take);
        if let Some(h) = held.filter(|h| h.owned && h.alive(Instant::now())) {
            self.spawn_revoke(h.token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_windows() {
        let now = Instant::now();
        let h = Held {
            token: SecretValue::from("t"),
            obtained: now,
            ttl: Some(Duration::from_secs(30)),
            renewable: true,
            owned: true,
        };
        assert!(h.fresh(now + Duration::from_secs(19)));
        assert!(!h.fresh(now + Duration::from_secs(20)));
        assert!(h.alive(now + Duration::from_secs(24)));
        assert!(!h.alive(now + Duration::from_secs(25)));
        let forever = Held { ttl: None, ..h };
        assert!(forever.fresh(now + Duration::from_secs(1 << 30)));
        assert!(!format!("{forever:?}").contains("\"t\""));
    }
}

//! The user group (`/api/v1/user/*`): the gateway injects `X-User-ID`;
//! [`require_user`] admits the caller before any handler runs, and handlers
//! take the caller as [`AuthUser`].

use super::groups::{GroupRoutes, RouteGroup};
use super::guard::Verdict;
use super::{AppState, AuthUser, source_ip};

mod account;
mod games;
mod notification_prefs;
mod play;
mod race_names;
mod session;
mod sessions;

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::User)
        .merge(session::routes())
        .merge(account::routes())
        .merge(sessions::routes())
        .merge(notification_prefs::routes())
        .merge(games::routes())
        .merge(play::routes())
        .merge(race_names::routes())
}

/// User-group guard: the gateway credential when one is configured (else
/// 401 `gateway_credential_required`), a valid `X-User-ID` (else 401), then from the accounts
/// cache: a soft-deleted account → 403 `account_deleted`, an active login
/// ban → 403 `login_banned`. Handlers take the caller as [`AuthUser`]
/// (parsed again from the checked header: cheaper than an extension) and
/// read the account from the cache.
/// Decided from memory; only while the cache warms is PostgreSQL asked.
/// Every admitted request is counted per country (fire-and-forget).
pub(super) fn require_user<B: Send + 'static>(
    state: &AppState,
    req: http::Request<B>,
) -> Verdict<B> {
    let expected = state.config.security.gateway_secret.as_ref();
    if let Err(err) = super::edge::gateway::check(expected, req.headers()) {
        return Verdict::Reject(err);
    }
    let user = match AuthUser::from_headers(req.headers()) {
        Ok(user) => user,
        Err(err) => return Verdict::Reject(err),
    };
    let admit = move |state: &AppState, req: http::Request<B>| {
        let proxies = &state.config.security.trusted_proxies;
        if let Some(ip) = source_ip::client_ip(req.headers(), source_ip::peer(), proxies) {
            state.geo.count_request(user.user_id, ip);
        }
        req
    };
    match state.users.check_cached(user.user_id) {
        Some(Ok(_)) => Verdict::Pass(admit(state, req)),
        Some(Err(err)) => Verdict::Reject(err.into()),
        None => {
            let state = state.clone();
            Verdict::Pending(Box::pin(async move {
                state.users.authorize(user.user_id).await?;
                Ok(admit(&state, req))
            }))
        }
    }
}

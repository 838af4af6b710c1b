//! `/api/v1/public/auth/*`: request a login code, confirm it. No
//! authentication; the answers are specified in `openapi.yaml` and
//! `docs/auth.md`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChallengeId, DeviceSessionId, UserId};

use crate::auth::ConfirmRequest;
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::source_ip::SourceIp;
use crate::server::{ApiError, AppState, Json, Path};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Public)
        .route("/auth/challenges", post(request_login_code))
        .route(
            "/auth/challenges/{challenge_id}/confirm",
            post(confirm_login_code),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestCode {
    email: String,
}

#[derive(Serialize)]
struct ChallengeView {
    challenge_id: ChallengeId,
    expires_at: DateTime<Utc>,
}

/// `POST /api/v1/public/auth/challenges`: 202 with the challenge to
/// confirm, whether or not the address has an account (and, when the
/// address is throttled, its newest challenge again, without mail); 429
/// `too_many_requests` when the source opened too many challenges.
async fn request_login_code(
    State(state): State<AppState>,
    SourceIp(source_ip): SourceIp,
    Json(body): Json<RequestCode>,
) -> Result<impl IntoResponse, ApiError> {
    refuse_unsendable(&state, &body.email).await?;
    let issued = state.auth.request_code(&body.email, source_ip).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ChallengeView {
            challenge_id: issued.challenge_id,
            expires_at: issued.expires_at,
        }),
    ))
}

/// An address whose local part is not ASCII can only be sent through a
/// relay that offers `SMTPUTF8`; when the relay is known not to, the
/// address is refused now (422) rather than accepted and never delivered.
/// When the relay cannot be asked in time, the address is accepted (and a
/// refusal at send time dead-letters it at once).
async fn refuse_unsendable(state: &AppState, email: &str) -> Result<(), ApiError> {
    let Ok(email) = crate::auth::model::EmailAddress::parse(email) else {
        return Ok(()); // request_code answers 422 invalid_email
    };
    if !email.needs_smtputf8() {
        return Ok(());
    }
    let asked = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        state.mail.relay_offers_smtputf8(),
    )
    .await;
    match asked {
        Ok(Some(false)) => Err(ApiError::unprocessable(
            "unsupported_email",
            "addresses with non-ASCII characters before the @ cannot be delivered by this service's mail relay",
        )),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    code: String,
    public_key: String,
    device_name: String,
    platform: String,
}

#[derive(Serialize)]
struct LoggedInView {
    user_id: UserId,
    device_session_id: DeviceSessionId,
    account_created: bool,
}

/// `POST /api/v1/public/auth/challenges/{challenge_id}/confirm`.
async fn confirm_login_code(
    State(state): State<AppState>,
    Path(challenge_id): Path<ChallengeId>,
    SourceIp(source_ip): SourceIp,
    Json(body): Json<Confirm>,
) -> Result<impl IntoResponse, ApiError> {
    let logged_in = state
        .auth
        .confirm(ConfirmRequest {
            challenge_id,
            code: &body.code,
            public_key: &body.public_key,
            device_name: &body.device_name,
            platform: &body.platform,
            source_ip,
        })
        .await?;
    let status = if logged_in.account_created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(LoggedInView {
            user_id: logged_in.user_id,
            device_session_id: logged_in.device_session_id,
            account_created: logged_in.account_created,
        }),
    ))
}

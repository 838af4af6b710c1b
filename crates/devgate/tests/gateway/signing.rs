//! Request signing: what the gateway accepts and refuses before anything
//! reaches the backend (push off).

use super::*;

#[tokio::test]
async fn a_signed_request_reaches_the_backend_as_the_sessions_user() {
    let stack = stack().await;
    let device = stack.login("signed@example.com", 7).await;

    let r = stack
        .signed(&device, reqwest::Method::GET, ACCOUNT, b"")
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["user_id"], device.user_id.to_string(), "{v}");

    // A query is part of what is signed, and a body too.
    let r = stack
        .signed(
            &device,
            reqwest::Method::GET,
            "/api/v1/user/sessions?limit=10",
            b"",
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(stack.backend_saw(ACCOUNT).await, 1.0);
}

#[tokio::test]
async fn bad_signatures_are_refused_before_the_backend_sees_them() {
    let stack = stack().await;
    let device = stack.login("refused@example.com", 8).await;
    let session = Some(device.session.to_string());
    let get = reqwest::Method::GET;
    let ts = now();
    let good = signature::sign(&device.key, "GET", ACCOUNT, b"", ts);

    // No headers at all, or one of them missing.
    assert_refused(
        stack
            .send(get.clone(), ACCOUNT, b"", [None, None, None])
            .await,
        "missing_signature",
    )
    .await;
    assert_refused(
        stack
            .send(
                get.clone(),
                ACCOUNT,
                b"",
                [session.clone(), Some(ts.to_string()), None],
            )
            .await,
        "missing_signature",
    )
    .await;

    // Signed by another key.
    let other = SigningKey::from_bytes(&[99; 32]);
    let wrong = signature::sign(&other, "GET", ACCOUNT, b"", ts);
    assert_refused(
        stack
            .send(
                get.clone(),
                ACCOUNT,
                b"",
                [session.clone(), Some(ts.to_string()), Some(wrong)],
            )
            .await,
        "bad_signature",
    )
    .await;

    // A signature for another body (tampered in transit).
    let patch = reqwest::Method::PATCH;
    let sent = br#"{"user_name":"mallory"}"#;
    let signed_for = signature::sign(
        &device.key,
        "PATCH",
        ACCOUNT,
        br#"{"user_name":"alice"}"#,
        ts,
    );
    assert_refused(
        stack
            .send(
                patch,
                ACCOUNT,
                sent,
                [session.clone(), Some(ts.to_string()), Some(signed_for)],
            )
            .await,
        "bad_signature",
    )
    .await;

    // Garbage instead of a signature.
    assert_refused(
        stack
            .send(
                get.clone(),
                ACCOUNT,
                b"",
                [
                    session.clone(),
                    Some(ts.to_string()),
                    Some("bm9wZQ==".into()),
                ],
            )
            .await,
        "bad_signature",
    )
    .await;

    // A captured request replayed after the window (and one from the future).
    for skew in [-61, -3600, 61] {
        let old = ts + skew;
        let replayed = signature::sign(&device.key, "GET", ACCOUNT, b"", old);
        assert_refused(
            stack
                .send(
                    get.clone(),
                    ACCOUNT,
                    b"",
                    [session.clone(), Some(old.to_string()), Some(replayed)],
                )
                .await,
            "stale_timestamp",
        )
        .await;
    }

    // An unknown session, and one that is not a UUID.
    assert_refused(
        stack
            .send(
                get.clone(),
                ACCOUNT,
                b"",
                [
                    Some(Uuid::new_v4().to_string()),
                    Some(ts.to_string()),
                    Some(good.clone()),
                ],
            )
            .await,
        "unknown_session",
    )
    .await;
    assert_refused(
        stack
            .send(
                get.clone(),
                ACCOUNT,
                b"",
                [
                    Some("nope".into()),
                    Some(ts.to_string()),
                    Some(good.clone()),
                ],
            )
            .await,
        "unknown_session",
    )
    .await;

    // A client-supplied X-User-ID is no way around it.
    let r = stack
        .http
        .get(format!("{}{ACCOUNT}", stack.gateway))
        .header("x-user-id", device.user_id.to_string())
        .send()
        .await
        .unwrap();
    assert_refused(r, "missing_signature").await;

    assert_eq!(
        stack.backend_saw(ACCOUNT).await,
        0.0,
        "the backend saw a refused request"
    );

    // The same session, properly signed, still works.
    let r = stack
        .send(
            get,
            ACCOUNT,
            b"",
            [session, Some(ts.to_string()), Some(good)],
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_revoked_session_is_refused() {
    let stack = stack().await;
    let device = stack.login("revoked@example.com", 9).await;
    let revoke = format!("/api/v1/user/sessions/{}/revoke", device.session);

    let r = stack
        .signed(&device, reqwest::Method::POST, &revoke, b"")
        .await;
    assert_eq!(r.status(), 204, "revoke through the gateway");

    let r = stack
        .signed(&device, reqwest::Method::GET, ACCOUNT, b"")
        .await;
    assert_refused(r, "unknown_session").await;
    assert_eq!(stack.backend_saw(ACCOUNT).await, 0.0);
}

#[tokio::test]
async fn only_the_public_and_user_groups_are_served() {
    let stack = stack().await;
    let device = stack.login("groups@example.com", 10).await;
    // The internal lookup and the admin group are not reachable through the gateway.
    let internal = format!("/api/v1/internal/device-sessions/{}", device.session);
    for path in [internal.as_str(), "/api/v1/admin/users", "/readyz"] {
        let r = stack
            .http
            .get(format!("{}{path}", stack.gateway))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "not_found");
    }
}

//! `/v1/tickets` and `/v1/credentials/t/<ticket>` through `oneshot`: a caller mints a ticket URL,
//! a header-less GET of it answers the format's credentials JSON; altered, expired and revoked
//! tickets are refused in the format's error shape.

use crate::api_revoke::Harness;
use http::StatusCode;
use serde_json::{json, Value};
use stsgate::api::tickets::{Ticket, PREFIX, USE_PATH};

async fn mint(h: &Harness, bearer: &str, body: Value) -> (StatusCode, Value) {
    h.api_call("POST", "/v1/tickets", Some(bearer), Some(body))
        .await
}

#[tokio::test]
async fn a_ticket_url_serves_the_callers_credentials_without_headers() {
    let h = Harness::new();
    let alice = h.token("alice");
    let (status, _) = h
        .api_call("POST", "/v1/tickets", None, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, t) = mint(&h, &alice, json!({"grant": "user-folder"})).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let path = t["path"].as_str().unwrap();
    assert!(path.starts_with(&format!("{USE_PATH}{PREFIX}")), "{t}");
    assert!(t["url"].as_str().unwrap().starts_with("http://"), "{t}");
    assert!(t["url"].as_str().unwrap().ends_with(path));
    assert_eq!(t["format"], "oss-app-server");
    assert!(!path.contains(&alice), "never the JWT itself");

    let (status, c) = h.api_call("GET", path, None, None).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["StatusCode"], 200);
    for k in [
        "AccessKeyId",
        "AccessKeySecret",
        "SecurityToken",
        "Expiration",
    ] {
        assert!(c[k].is_string(), "{k} in {c}");
    }
    // The same cache as /v1/credentials, and the credentials work at the oss face.
    let (_, again) = h.api_call("GET", path, None, None).await;
    assert_eq!(again["AccessKeyId"], c["AccessKeyId"]);
    let direct = h.credentials(&alice).await;
    assert_eq!(direct["AccessKeyId"], c["AccessKeyId"]);
    assert_eq!(
        h.oss_get(&c, "users/alice/x").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(h.oss_get(&c, "users/bob/x").await.0, StatusCode::FORBIDDEN);

    let rows = h.audit();
    assert!(rows
        .iter()
        .any(|r| r.outcome == "ticket" && r.caller == "jwt:alice"));
    assert_eq!(
        rows.iter()
            .filter(|r| r.outcome == "ticket-used" && r.caller == "jwt:alice")
            .count(),
        2
    );
}

#[tokio::test]
async fn formats_and_parameters() {
    let h = Harness::new();
    let alice = h.token("alice");
    let (status, t) = mint(
        &h,
        &alice,
        json!({"grant": "user-folder", "format": "alibaba-credentials-uri", "ttl": 3600}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let (status, c) = h
        .api_call("GET", t["path"].as_str().unwrap(), None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["Code"], "Success");

    for bad in [
        json!({"grant": "user-folder", "ttl": 0}),
        json!({"grant": "user-folder", "ttl": 3601}),
        json!({"grant": "user-folder", "format": "xml"}),
        json!({"grant": "user-folder", "jwt": "x"}),
        json!({}),
    ] {
        let (status, e) = mint(&h, &alice, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {e}");
    }
    let (status, _) = mint(&h, &alice, json!({"grant": "nope"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn altered_expired_and_revoked_tickets_are_refused() {
    let h = Harness::new();
    let alice = h.token("alice");
    let (_, t) = mint(&h, &alice, json!({"grant": "user-folder"})).await;
    let path = t["path"].as_str().unwrap().to_string();

    // Altered: the format is unknown, so every shape's fields are there.
    let mut altered = path.clone().into_bytes();
    let i = altered.len() - 5;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    for p in [
        altered.as_str(),
        "/v1/credentials/t/sgt_",
        "/v1/credentials/t/x",
    ] {
        let (status, e) = h.api_call("GET", p, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{p}");
        assert_eq!(e["StatusCode"], 401, "{e}");
        assert!(e["ErrorCode"].is_string() && e["ErrorMessage"].is_string());
        assert!(e["Code"].is_string() && e["Message"].is_string());
    }

    // Expired, in its own format's shape.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sealed = h.api.tickets.seal(&Ticket {
        caller: "jwt:alice".into(),
        subject: "alice".into(),
        claims: [("sub".to_string(), Value::from("alice"))]
            .into_iter()
            .collect(),
        grant: "user-folder".into(),
        format: "oss-app-server".into(),
        iat: now - 400,
        exp: now - 100,
    });
    let (status, e) = h
        .api_call("GET", &format!("{USE_PATH}{sealed}"), None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{e}");
    assert_eq!(e["StatusCode"], 401);
    assert!(
        e["ErrorMessage"].as_str().unwrap().contains("expired"),
        "{e}"
    );

    // Revoked after minting: 403 in the format's shape.
    let (status, _) = h
        .api_call(
            "POST",
            "/v1/revoke",
            Some(&h.operator()),
            Some(json!({"caller": "jwt:alice"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, e) = h.api_call("GET", &path, None, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["StatusCode"], 403);
    assert_eq!(e["ErrorCode"], "Revoked");

    assert!(h
        .audit()
        .iter()
        .any(|r| r.outcome == "refused:Unauthenticated" && r.detail.contains("ticket")));
}

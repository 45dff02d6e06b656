//! The tc-sts face's actions through `oneshot`: parameter rules, roles by name and id, extra
//! keys (sub-accounts) and their trust, role chaining, and what issued credentials carry.

use super::tc_sts::{code, creds, now, tc3, Key, Tc, POLICY};
use serde_json::{json, Value};
use stsgate::admin;
use stsgate::iam::{role_id, Role, DEFAULT_ROLE_POLICY};
use stsgate_signing::encode::pe;

fn role(name: &str, trusted: &[&str], max_session: i64) -> Role {
    Role {
        name: name.into(),
        policy: DEFAULT_ROLE_POLICY.into(),
        trusted: trusted.iter().map(|k| k.to_string()).collect(),
        max_session,
    }
}

#[tokio::test]
async fn parameter_errors() {
    let tc = Tc::new();
    let (id, secret) = tc.root();
    let root = Key {
        id: &id,
        secret: &secret,
        token: None,
    };
    let uin = tc.state.uin.clone();
    tc.state.iam.create(&role("long", &[], 43_200)).unwrap();
    let arn = tc.app_arn();
    let long = format!("qcs::cam::uin/{uin}:roleName/long");
    let big = POLICY.replace("dir/*", &format!("{}/*", "d".repeat(2100)));
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "GetFederationToken",
            json!({"Policy": pe(POLICY)}),
            "MissingParameter",
        ),
        (
            "GetFederationToken",
            json!({"Name": "alice"}),
            "MissingParameter",
        ),
        (
            "GetFederationToken",
            json!({"Name": "a", "Policy": pe(POLICY)}),
            "InvalidParameter.ParamError",
        ),
        (
            "GetFederationToken",
            json!({"Name": "a b", "Policy": pe(POLICY)}),
            "InvalidParameter.ParamError",
        ),
        (
            "GetFederationToken",
            json!({"Name": "alice", "Policy": pe("{")}),
            "InvalidParameter.StrategyFormatError",
        ),
        (
            "GetFederationToken",
            json!({"Name": "alice", "Policy": pe(&big)}),
            "InvalidParameter.PolicyTooLong",
        ),
        (
            "GetFederationToken",
            json!({"Name": "alice", "Policy": pe(POLICY), "DurationSeconds": 7201}),
            "InvalidParameter.OverTimeError",
        ),
        (
            "GetFederationToken",
            json!({"Name": "alice", "Policy": pe(POLICY), "DurationSeconds": 0}),
            "InvalidParameter.OverTimeError",
        ),
        (
            "GetFederationToken",
            json!({"Name": "alice", "Policy": pe(POLICY), "DurationSeconds": "soon"}),
            "InvalidParameter.ParamError",
        ),
        (
            "AssumeRole",
            json!({"RoleSessionName": "s1"}),
            "MissingParameter",
        ),
        ("AssumeRole", json!({"RoleArn": arn}), "MissingParameter"),
        (
            "AssumeRole",
            json!({"RoleArn": "acs:ram::1:role/app", "RoleSessionName": "s1"}),
            "InvalidParameter.ParamError",
        ),
        (
            "AssumeRole",
            json!({"RoleArn": arn, "RoleSessionName": "s"}),
            "InvalidParameter.ParamError",
        ),
        (
            "AssumeRole",
            json!({"RoleArn": arn, "RoleSessionName": "s1", "ExternalId": "x"}),
            "InvalidParameter.ParamError",
        ),
        (
            "AssumeRole",
            json!({"RoleArn": arn, "RoleSessionName": "s1", "Policy": pe("{}")}),
            "InvalidParameter.StrategyFormatError",
        ),
        (
            "AssumeRole",
            json!({"RoleArn": "qcs::cam::uin/1:roleName/app", "RoleSessionName": "s1"}),
            "ResourceNotFound.RoleNotFound",
        ),
        (
            "AssumeRole",
            json!({"RoleArn": format!("qcs::cam::uin/{uin}:roleName/nope"), "RoleSessionName": "s1"}),
            "ResourceNotFound.RoleNotFound",
        ),
        (
            "AssumeRole",
            json!({"RoleArn": format!("qcs::cam::uin/{uin}:role/123"), "RoleSessionName": "s1"}),
            "ResourceNotFound.RoleNotFound",
        ),
        // Role app's maximum session is 3600 s; role long's 43200 s, the most AssumeRole allows.
        (
            "AssumeRole",
            json!({"RoleArn": arn, "RoleSessionName": "s1", "DurationSeconds": 3601}),
            "InvalidParameter.OverTimeError",
        ),
        (
            "AssumeRole",
            json!({"RoleArn": long, "RoleSessionName": "s1", "DurationSeconds": 43201}),
            "InvalidParameter.OverTimeError",
        ),
    ];
    for (action, params, expected) in cases {
        let answer = tc.send(tc3("POST", action, &params, &root, now())).await;
        assert_eq!(code(&answer), expected, "{action} {params}: {answer}");
    }
    let ok = json!({"RoleArn": long, "RoleSessionName": "s1", "DurationSeconds": 43200});
    let answer = tc.send(tc3("POST", "AssumeRole", &ok, &root, now())).await;
    // `now()` may tick a second past the server's clock.
    let left = answer["ExpiredTime"].as_i64().unwrap() - now();
    assert!((left - 43_200).abs() <= 2, "{answer}");
    let ok = json!({"Name": "alice", "Policy": pe(POLICY), "DurationSeconds": 7200});
    let answer = tc
        .send(tc3("POST", "GetFederationToken", &ok, &root, now()))
        .await;
    assert_eq!(code(&answer), "", "{answer}");
}

#[tokio::test]
async fn a_role_by_id_and_its_session_policy() {
    let tc = Tc::new();
    let (id, secret) = tc.root();
    let root = Key {
        id: &id,
        secret: &secret,
        token: None,
    };
    let by_id = format!(
        "qcs::cam::uin/{}:role/{}",
        tc.state.uin,
        role_id(&tc.state.uin, "app")
    );
    let params = json!({"RoleArn": by_id, "RoleSessionName": "s1", "Policy": pe(POLICY)});
    let answer = tc
        .send(tc3("GET", "AssumeRole", &params, &root, now()))
        .await;
    // `now()` may tick a second past the server's clock.
    let left = answer["ExpiredTime"].as_i64().unwrap() - now();
    assert!((left - 3600).abs() <= 2, "{answer}");
    let claims = tc
        .state
        .keys
        .tokens
        .open(&creds(&answer).2, time::OffsetDateTime::now_utc())
        .unwrap();
    assert_eq!(claims.role_arn, tc.app_arn());
    assert_eq!(
        claims.role_policy, None,
        "a role's RAM policy says nothing about COS"
    );
    assert!(claims.session_policy.unwrap().contains("cos:PutObject"));
    assert_eq!(claims.caller, Some(format!("tc-sts:{id}")));
}

#[tokio::test]
async fn an_extra_key_is_a_sub_account_trusted_role_by_role() {
    let tc = Tc::new();
    let (ak, sk) = admin::key_create(&tc.dir.path, "ci").unwrap();
    let key = Key {
        id: &ak,
        secret: &sk,
        token: None,
    };
    let gft = json!({"Name": "ci", "Policy": pe(POLICY), "DurationSeconds": 129_600});
    let answer = tc
        .send(tc3("POST", "GetFederationToken", &gft, &key, now()))
        .await;
    assert_eq!(code(&answer), "", "{answer}");
    let too_long = json!({"Name": "ci", "Policy": pe(POLICY), "DurationSeconds": 129_601});
    let answer = tc
        .send(tc3("POST", "GetFederationToken", &too_long, &key, now()))
        .await;
    assert_eq!(code(&answer), "InvalidParameter.OverTimeError");

    let me = tc
        .send(tc3("POST", "GetCallerIdentity", &json!({}), &key, now()))
        .await;
    let sub = stsgate::tencent::sts::handlers::sub_uin(&tc.state.uin, &ak);
    assert_eq!(
        (&me["Type"], &me["UserId"]),
        (&json!("CAMUser"), &json!(sub))
    );
    assert_eq!(me["Arn"], format!("qcs::cam:{}:uin/{sub}", tc.state.uin));

    let assume = json!({"RoleArn": tc.app_arn(), "RoleSessionName": "ci-job"});
    let answer = tc
        .send(tc3("POST", "AssumeRole", &assume, &key, now()))
        .await;
    assert_eq!(code(&answer), "UnauthorizedOperation");
    let message = answer["Error"]["Message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "stsgate role trust --data <DIR> --name app --key {ak}"
        )),
        "{message}"
    );
    tc.state
        .iam
        .trust("app", std::slice::from_ref(&ak))
        .unwrap();
    let answer = tc
        .send(tc3("POST", "AssumeRole", &assume, &key, now()))
        .await;
    assert_eq!(code(&answer), "", "{answer}");
    let (tid, tkey, token) = creds(&answer);
    let temporary = Key {
        id: &tid,
        secret: &tkey,
        token: Some(&token),
    };
    let me = tc
        .send(tc3(
            "POST",
            "GetCallerIdentity",
            &json!({}),
            &temporary,
            now(),
        ))
        .await;
    assert_eq!(
        me["PrincipalId"],
        json!(sub),
        "the sub-account that assumed the role"
    );
}

#[tokio::test]
async fn role_chaining_follows_the_root_key_and_the_session_policy() {
    let tc = Tc::new();
    let (id, secret) = tc.root();
    let root = Key {
        id: &id,
        secret: &secret,
        token: None,
    };
    tc.state.iam.create(&role("second", &[], 7200)).unwrap();
    let second = format!("qcs::cam::uin/{}:roleName/second", tc.state.uin);
    let chain = json!({"RoleArn": second, "RoleSessionName": "hop", "DurationSeconds": 7200});
    let assume = |policy: Option<String>| {
        let mut params =
            json!({"RoleArn": tc.app_arn(), "RoleSessionName": "first", "DurationSeconds": 600});
        if let Some(p) = policy {
            params["Policy"] = json!(pe(&p));
        }
        tc3("POST", "AssumeRole", &params, &root, now())
    };
    // Without a session policy the role's own (unmodelled) permission applies: chaining works,
    // and the new credentials end when the caller's do.
    let first = tc.send(assume(None)).await;
    let (tid, tkey, token) = creds(&first);
    let hop = Key {
        id: &tid,
        secret: &tkey,
        token: Some(&token),
    };
    let answer = tc
        .send(tc3("POST", "AssumeRole", &chain, &hop, now()))
        .await;
    assert_eq!(answer["ExpiredTime"], first["ExpiredTime"], "{answer}");
    let claims = tc
        .state
        .keys
        .tokens
        .open(&creds(&answer).2, time::OffsetDateTime::now_utc())
        .unwrap();
    assert_eq!(
        claims.caller,
        Some(format!("tc-sts:{id}")),
        "the chain's root key"
    );

    // A session policy must allow sts:AssumeRole on the role.
    let (tid, tkey, token) = creds(&tc.send(assume(Some(POLICY.into()))).await);
    let cos_only = Key {
        id: &tid,
        secret: &tkey,
        token: Some(&token),
    };
    let answer = tc
        .send(tc3("POST", "AssumeRole", &chain, &cos_only, now()))
        .await;
    assert_eq!(code(&answer), "UnauthorizedOperation");
    assert!(answer["Error"]["Message"]
        .as_str()
        .unwrap()
        .contains("name/sts:AssumeRole"));
    let grant = format!(
        r#"{{"version":"2.0","statement":[{{"effect":"allow","action":"name/sts:AssumeRole","resource":"{second}"}}]}}"#
    );
    let (tid, tkey, token) = creds(&tc.send(assume(Some(grant))).await);
    let allowed = Key {
        id: &tid,
        secret: &tkey,
        token: Some(&token),
    };
    let answer = tc
        .send(tc3("POST", "AssumeRole", &chain, &allowed, now()))
        .await;
    assert_eq!(code(&answer), "", "{answer}");

    // Credentials the face did not issue (e.g. the api face's) cannot assume roles.
    let foreign = tc.state.keys.tokens.mint_spec(
        stsgate::token::MintSpec {
            vendor: stsgate::common::provider::Vendor::Tencent,
            caller: Some("jwt:alice"),
            role_arn: &tc.app_arn(),
            session_name: "alice",
            role_policy: None,
            session_policy: None,
            duration_secs: 600,
        },
        time::OffsetDateTime::now_utc(),
    );
    let key = Key {
        id: &foreign.access_key_id,
        secret: foreign.access_key_secret.expose(),
        token: Some(&foreign.security_token),
    };
    let answer = tc
        .send(tc3("POST", "AssumeRole", &chain, &key, now()))
        .await;
    assert_eq!(code(&answer), "UnauthorizedOperation", "{answer}");

    // Credentials of an extra key chain only into roles that trust that key.
    let (ak, sk) = admin::key_create(&tc.dir.path, "ci").unwrap();
    tc.state
        .iam
        .trust("app", std::slice::from_ref(&ak))
        .unwrap();
    let sub = Key {
        id: &ak,
        secret: &sk,
        token: None,
    };
    let params = json!({"RoleArn": tc.app_arn(), "RoleSessionName": "first"});
    let (tid, tkey, token) = creds(
        &tc.send(tc3("POST", "AssumeRole", &params, &sub, now()))
            .await,
    );
    let hop = Key {
        id: &tid,
        secret: &tkey,
        token: Some(&token),
    };
    let answer = tc
        .send(tc3("POST", "AssumeRole", &chain, &hop, now()))
        .await;
    assert_eq!(code(&answer), "UnauthorizedOperation");
    assert!(answer["Error"]["Message"]
        .as_str()
        .unwrap()
        .contains(&format!("--key {ak}")));
    tc.state.iam.trust("second", &[ak]).unwrap();
    let answer = tc
        .send(tc3("POST", "AssumeRole", &chain, &hop, now()))
        .await;
    assert_eq!(code(&answer), "", "{answer}");
}

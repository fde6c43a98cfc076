//! Key-pair JWTs and opaque tokens, accepted and refused as Snowflake does.

use reqwest::StatusCode;
use serde_json::{Value, json};
use snowflake_standin::Options;

use crate::support::*;

fn assert_jwt_refused(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "390144");
    let message = body["message"].as_str().unwrap();
    // "JWT token is invalid. [<uuid>]"
    let reference = message
        .strip_prefix("JWT token is invalid. [")
        .and_then(|m| m.strip_suffix(']'))
        .unwrap_or_else(|| panic!("{message}"));
    assert_eq!(reference.len(), 36, "{reference}");
    assert_eq!(body.as_object().unwrap().len(), 2);
}

fn claims(sub: &str, fp_of: &str, iat: Value, exp: Value) -> Value {
    let fp = snowflake_standin::fingerprint(fp_of).unwrap();
    json!({"iss": format!("{sub}.SHA256:{fp}"), "sub": sub, "iat": iat, "exp": exp})
}

#[tokio::test]
async fn a_jwt_signed_with_a_registered_key_is_accepted_in_either_slot() {
    let standin = start(account(), Options::default()).await;
    let rows = Client::sync(&standin)
        .rows("SELECT CURRENT_USER(), CURRENT_ROLE(), CURRENT_WAREHOUSE()")
        .await;
    assert_eq!(
        rows,
        vec![vec![
            json!("SYNC_USER"),
            json!("SYNC_ROLE"),
            json!("COMPUTE_WH")
        ]]
    );
    // ANALYST's key sits in RSA_PUBLIC_KEY_2.
    let rows = Client::analyst(&standin)
        .rows("select current_user()")
        .await;
    assert_eq!(rows, vec![vec![json!("ANALYST")]]);
}

#[tokio::test]
async fn jwts_snowflake_would_refuse_are_refused_with_390144() {
    let standin = start(account(), Options::default()).await;
    let now = now();
    let sub = format!("{ACCOUNT}.SYNC_USER");
    let cases = [
        // Signed with a key the user does not hold, naming the user's key.
        (
            "wrong key",
            jwt_with(
                OTHER_KEY,
                claims(&sub, CLIENT_PUB, json!(now), json!(now + 60)),
            ),
        ),
        // Naming a key the user does not hold.
        (
            "unregistered fingerprint",
            jwt_with(
                OTHER_KEY,
                claims(&sub, OTHER_PUB, json!(now), json!(now + 60)),
            ),
        ),
        (
            "expired",
            jwt_with(
                CLIENT_KEY,
                claims(&sub, CLIENT_PUB, json!(now - 120), json!(now - 60)),
            ),
        ),
        (
            "issued in the future",
            jwt_with(
                CLIENT_KEY,
                claims(&sub, CLIENT_PUB, json!(now + 60), json!(now + 120)),
            ),
        ),
        (
            "lives over an hour",
            jwt_with(
                CLIENT_KEY,
                claims(&sub, CLIENT_PUB, json!(now), json!(now + 3601)),
            ),
        ),
        (
            "lower-case sub",
            jwt_with(
                CLIENT_KEY,
                claims(&sub.to_lowercase(), CLIENT_PUB, json!(now), json!(now + 60)),
            ),
        ),
        (
            "another account",
            jwt_with(
                CLIENT_KEY,
                claims(
                    "ACME-OTHER.SYNC_USER",
                    CLIENT_PUB,
                    json!(now),
                    json!(now + 60),
                ),
            ),
        ),
        (
            "disabled user",
            jwt_with(
                CLIENT_KEY,
                claims(
                    &format!("{ACCOUNT}.GONE"),
                    CLIENT_PUB,
                    json!(now),
                    json!(now + 60),
                ),
            ),
        ),
        (
            "sub differs from iss",
            jwt_with(
                CLIENT_KEY,
                json!({
            "iss": format!("{sub}.SHA256:{}", snowflake_standin::fingerprint(CLIENT_PUB).unwrap()),
            "sub": format!("{ACCOUNT}.ANALYST"), "iat": now, "exp": now + 60}),
            ),
        ),
        ("not a JWT", "abc.def.ghi".to_owned()),
    ];
    for (case, token) in cases {
        let (status, body) = Client::new(&standin, token)
            .run("select current_user()")
            .await;
        assert_jwt_refused(status, &body);
        assert!(status == StatusCode::UNAUTHORIZED, "{case}");
    }
    assert_eq!(
        standin.requests().submitted,
        0,
        "refused requests run nothing"
    );
}

#[tokio::test]
async fn millisecond_claims_the_locator_and_the_dashed_name_are_accepted() {
    let standin = start(account(), Options::default()).await;
    let ms = now() * 1000;
    for sub in [
        "AB12345.SYNC_USER",
        "ACME-PROD-EU.SYNC_USER",
        "ACME-PROD_EU.SYNC_USER",
    ] {
        let token = jwt_with(
            CLIENT_KEY,
            claims(sub, CLIENT_PUB, json!(ms), json!(ms + 3_600_000)),
        );
        let rows = Client::new(&standin, token)
            .rows("select current_user()")
            .await;
        assert_eq!(rows, vec![vec![json!("SYNC_USER")]], "{sub}");
    }
}

#[tokio::test]
async fn the_maximum_lifetime_is_an_option() {
    let options = Options {
        max_jwt_lifetime: std::time::Duration::from_secs(60),
        ..Options::default()
    };
    let standin = start(account(), options).await;
    // The usual hour-long token is now too long.
    let (status, body) = Client::sync(&standin).run("select 1").await;
    assert_jwt_refused(status, &body);
}

#[tokio::test]
async fn oauth_and_programmatic_tokens_are_opaque_and_typed() {
    let options = Options {
        tokens: vec![
            ("oauth-1".into(), "OAUTH".into(), "ANALYST".into()),
            (
                "pat-1".into(),
                "PROGRAMMATIC_ACCESS_TOKEN".into(),
                "SYNC_USER".into(),
            ),
        ],
        ..Options::default()
    };
    let standin = start(account(), options).await;
    let mut client = Client::new(&standin, "oauth-1".into());
    client.token_type = "OAUTH";
    assert_eq!(
        client.rows("select current_user()").await,
        vec![vec![json!("ANALYST")]]
    );
    client.token = "pat-1".into();
    client.token_type = "PROGRAMMATIC_ACCESS_TOKEN";
    assert_eq!(
        client.rows("select current_user()").await,
        vec![vec![json!("SYNC_USER")]]
    );
    // A PAT presented as an OAuth token, and an unknown token, are refused.
    for (token, kind) in [
        ("pat-1", "OAUTH"),
        ("nope", "OAUTH"),
        ("nope", "PROGRAMMATIC_ACCESS_TOKEN"),
    ] {
        client.token = token.into();
        client.token_type = kind;
        let (status, body) = client.run("select current_user()").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "390303");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid OAuth access token. ["),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_session_role_must_be_granted_to_the_user() {
    let standin = start(account(), Options::default()).await;
    let analyst = Client::analyst(&standin);
    let (status, body) = analyst
        .submit(
            "",
            json!({"statement": "select current_role()", "role": "FINANCE"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], json!([["FINANCE"]]));
    for role in ["SYNC_ROLE", "NO_SUCH_ROLE", "finance"] {
        let (status, body) = analyst
            .submit(
                "",
                json!({"statement": "select current_role()", "role": role}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["code"], "390189");
        assert_eq!(body["sqlState"], "08004");
        assert_eq!(
            body["message"],
            format!(
                "Role '{role}' specified in the connect string is not granted to this user. Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC."
            )
        );
        assert_eq!(body["statementHandle"].as_str().unwrap().len(), 36);
    }
}

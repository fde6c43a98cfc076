//! The fixture account, key-pair JWTs, and a small SQL API client over real HTTP.

use std::io::Read as _;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{Value, json};
use snowflake_standin::{
    Account, Column, Database, Options, Role, Routine, Schema, StandIn, Table, TableKind,
    TagReference, User, Warehouse,
};

pub const CLIENT_KEY: &str = include_str!("../../../test-keys/client.key");
pub const CLIENT_PUB: &str = include_str!("../../../test-keys/client.pub");
pub const OTHER_KEY: &str = include_str!("../keys/other.key");
pub const OTHER_PUB: &str = include_str!("../keys/other.pub");

/// `ORGANIZATION-NAME` of the fixture, as a JWT names it.
pub const ACCOUNT: &str = "ACME-PROD_EU";

pub fn column(name: &str, data_type: &str, nullable: bool) -> Column {
    let (length, precision, scale) = match data_type {
        "TEXT" => (Some(16_777_216), None, None),
        "NUMBER" => (None, Some(38), Some(0)),
        _ => (None, None, None),
    };
    Column {
        name: name.into(),
        data_type: data_type.into(),
        nullable,
        character_maximum_length: length,
        numeric_precision: precision,
        numeric_scale: scale,
        comment: String::new(),
        masking_policy: None,
    }
}

fn role(name: &str, manage_grants: bool) -> Role {
    Role {
        name: name.into(),
        manage_grants,
        owner: if name == "ACCOUNTADMIN" || name == "PUBLIC" {
            String::new()
        } else {
            "USERADMIN".into()
        },
        ..Role::default()
    }
}

/// The fixture: SALES (visible to all), "Finance Dept" (only FINANCE), an imported database;
/// SYNC_USER (client key, role SYNC_ROLE with MANAGE GRANTS), ANALYST (other key in the
/// second slot, role ANALYST, also granted FINANCE), an untyped and a disabled user.
pub fn account() -> Account {
    Account {
        organization: "ACME".into(),
        name: "PROD_EU".into(),
        locator: "AB12345".into(),
        databases: vec![
            Database {
                name: "SALES".into(),
                owner: "SYSADMIN".into(),
                comment: "sales data".into(),
                schemas: vec![
                    Schema {
                        name: "PUBLIC".into(),
                        owner: "SYSADMIN".into(),
                        comment: String::new(),
                        tables: vec![
                            Table {
                                name: "ORDERS".into(),
                                kind: TableKind::BaseTable,
                                owner: "SYSADMIN".into(),
                                comment: "all orders".into(),
                                columns: vec![
                                    column("ID", "NUMBER", false),
                                    Column {
                                        numeric_precision: Some(12),
                                        numeric_scale: Some(2),
                                        ..column("AMOUNT", "NUMBER", true)
                                    },
                                    Column {
                                        character_maximum_length: Some(255),
                                        comment: "free text".into(),
                                        ..column("NOTE", "TEXT", true)
                                    },
                                ],
                                ..Table::default()
                            },
                            Table {
                                name: "Customer View".into(),
                                kind: TableKind::View,
                                owner: "SYSADMIN".into(),
                                comment: String::new(),
                                columns: vec![
                                    column("id", "NUMBER", true),
                                    column("NAME", "TEXT", true),
                                ],
                                ..Table::default()
                            },
                        ],
                    },
                    Schema {
                        name: "Mixed.Schema".into(),
                        owner: "SYSADMIN".into(),
                        comment: "odd name".into(),
                        tables: vec![Table {
                            name: "EVENTS".into(),
                            kind: TableKind::Dynamic,
                            owner: "SYSADMIN".into(),
                            comment: String::new(),
                            columns: vec![column("AT", "TIMESTAMP_NTZ", true)],
                            ..Table::default()
                        }],
                    },
                ],
                functions: vec![
                    Routine {
                        name: "ADD_ONE".into(),
                        arguments: "ADD_ONE(NUMBER) RETURN NUMBER".into(),
                        schema_name: "PUBLIC".into(),
                        is_builtin: false,
                        description: "adds one".into(),
                    },
                    Routine {
                        name: "ZETA".into(),
                        arguments: "ZETA(NUMBER, VARCHAR) RETURN VARCHAR".into(),
                        schema_name: "Mixed.Schema".into(),
                        is_builtin: false,
                        description: "user-defined function".into(),
                    },
                ],
                procedures: vec![Routine {
                    name: "REFRESH".into(),
                    arguments: "REFRESH() RETURN VARCHAR".into(),
                    schema_name: "PUBLIC".into(),
                    is_builtin: false,
                    description: "user-defined procedure".into(),
                }],
                ..Database::default()
            },
            Database {
                name: "Finance Dept".into(),
                owner: "FINANCE".into(),
                visible_to: Some(vec!["FINANCE".into()]),
                schemas: vec![Schema {
                    name: "LEDGER".into(),
                    owner: "FINANCE".into(),
                    comment: String::new(),
                    tables: vec![Table {
                        name: "ENTRIES".into(),
                        columns: vec![
                            column("ID", "NUMBER", false),
                            column("DEBIT", "NUMBER", true),
                        ],
                        ..Table::default()
                    }],
                }],
                ..Database::default()
            },
            Database {
                name: "SHARED".into(),
                kind: "IMPORTED DATABASE".into(),
                origin: "OTHERORG.OTHER.SHARE1".into(),
                owner: "ACCOUNTADMIN".into(),
                ..Database::default()
            },
        ],
        users: vec![
            User {
                name: "SYNC_USER".into(),
                login_name: "SYNC_USER".into(),
                display_name: "Sync".into(),
                r#type: Some("SERVICE".into()),
                default_role: "SYNC_ROLE".into(),
                owner: "USERADMIN".into(),
                rsa_public_key: Some(CLIENT_PUB.into()),
                default_warehouse: "COMPUTE_WH".into(),
                ..User::default()
            },
            User {
                name: "ANALYST".into(),
                login_name: "ANA@ACME.COM".into(),
                display_name: "Ana Lyst".into(),
                first_name: "Ana".into(),
                last_name: "Lyst".into(),
                email: "ana@acme.com".into(),
                r#type: Some("PERSON".into()),
                default_role: "ANALYST".into(),
                owner: "USERADMIN".into(),
                rsa_public_key_2: Some(OTHER_PUB.into()),
                default_warehouse: "COMPUTE_WH".into(),
                granted_roles: vec!["FINANCE".into()],
                ..User::default()
            },
            User {
                name: "LEGACY".into(),
                login_name: "LEGACY".into(),
                owner: "USERADMIN".into(),
                default_role: "ANALYST".into(),
                ..User::default()
            },
            User {
                name: "GONE".into(),
                login_name: "GONE".into(),
                disabled: true,
                r#type: Some("PERSON".into()),
                owner: "ACCOUNTADMIN".into(),
                rsa_public_key: Some(CLIENT_PUB.into()),
                ..User::default()
            },
        ],
        roles: vec![
            role("ACCOUNTADMIN", true),
            role("ANALYST", false),
            role("FINANCE", false),
            role("PUBLIC", false),
            role("SYNC_ROLE", true),
            role("USERADMIN", false),
        ],
        warehouses: vec![Warehouse {
            name: "COMPUTE_WH".into(),
            size: "X-Small".into(),
            state: "STARTED".into(),
            comment: String::new(),
        }],
        tag_references: vec![
            TagReference {
                tag_database: "GOV".into(),
                tag_schema: "TAGS".into(),
                tag_name: "PII".into(),
                tag_value: "true".into(),
                object_database: "SALES".into(),
                object_schema: "PUBLIC".into(),
                object_name: "ORDERS".into(),
                domain: "COLUMN".into(),
                column_name: Some("NOTE".into()),
                object_deleted: false,
            },
            TagReference {
                tag_database: "GOV".into(),
                tag_schema: "TAGS".into(),
                tag_name: "TEAM".into(),
                tag_value: "data".into(),
                object_name: "ANALYST".into(),
                domain: "USER".into(),
                ..TagReference::default()
            },
            TagReference {
                tag_database: "GOV".into(),
                tag_schema: "TAGS".into(),
                tag_name: "PII".into(),
                tag_value: "false".into(),
                object_database: "SALES".into(),
                object_schema: "PUBLIC".into(),
                object_name: "OLD".into(),
                domain: "TABLE".into(),
                object_deleted: true,
                ..TagReference::default()
            },
        ],
        ..Account::default()
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A key-pair JWT with free claims, signed with `private_key`.
pub fn jwt_with(private_key: &str, claims: Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key.as_bytes()).unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .unwrap()
}

/// The JWT Snowflake's connectors build: `iss` with the fingerprint of `public_key`, an hour.
pub fn jwt(user: &str, private_key: &str, public_key: &str) -> String {
    jwt_for(ACCOUNT, user, private_key, public_key)
}

/// The same for another account.
pub fn jwt_for(account: &str, user: &str, private_key: &str, public_key: &str) -> String {
    let qualified = format!("{account}.{user}");
    let fp = snowflake_standin::fingerprint(public_key).unwrap();
    let iat = now();
    jwt_with(
        private_key,
        json!({"iss": format!("{qualified}.SHA256:{fp}"), "sub": qualified, "iat": iat, "exp": iat + 3600}),
    )
}

pub async fn start(account: Account, options: Options) -> StandIn {
    snowflake_standin::start(account, options).await
}

/// A client of one user, sending the headers the SQL API requires.
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
    pub token: String,
    pub token_type: &'static str,
}

impl Client {
    pub fn new(standin: &StandIn, token: String) -> Self {
        Client {
            // Bytes as sent: reqwest decompresses gzip itself when the workspace turns its
            // `gzip` feature on (the Snowflake connector does), and the tests check the gzip.
            http: reqwest::Client::builder()
                .no_gzip()
                .build()
                .expect("an HTTP client"),
            url: standin.url.clone(),
            token,
            token_type: "KEYPAIR_JWT",
        }
    }

    /// SYNC_USER with the client key.
    pub fn sync(standin: &StandIn) -> Self {
        Self::new(standin, jwt("SYNC_USER", CLIENT_KEY, CLIENT_PUB))
    }

    /// ANALYST with the other key (its second slot).
    pub fn analyst(standin: &StandIn) -> Self {
        Self::new(standin, jwt("ANALYST", OTHER_KEY, OTHER_PUB))
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .header("X-Snowflake-Authorization-Token-Type", self.token_type)
            .header("Accept", "application/json")
            .header("User-Agent", "snowflake-standin-tests/1.0")
    }

    /// POSTs `body` to `/api/v2/statements{query}`.
    pub async fn submit(&self, query: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .request(reqwest::Method::POST, &format!("/api/v2/statements{query}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs one statement with the user's defaults.
    pub async fn run(&self, statement: &str) -> (StatusCode, Value) {
        self.submit("", json!({"statement": statement})).await
    }

    /// POSTs one statement and asserts it succeeded; returns its inline rows.
    pub async fn rows(&self, statement: &str) -> Vec<Vec<Value>> {
        let (status, body) = self.run(statement).await;
        assert_eq!(status, StatusCode::OK, "{statement}: {body}");
        serde_json::from_value(body["data"].clone()).unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
    }

    /// Polls a statement until it is no longer 202 (at most 10 s); returns its answer.
    pub async fn poll(&self, handle: &str) -> (StatusCode, Value) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let r = self.get(&format!("/api/v2/statements/{handle}")).await;
            let status = r.status();
            if status != StatusCode::ACCEPTED || std::time::Instant::now() > deadline {
                return (status, r.json().await.unwrap_or(Value::Null));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// The rows of one partition GET: gzip, then `{"data": [...]}`.
pub async fn partition_rows(response: reqwest::Response) -> Vec<Vec<Value>> {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let bytes = response.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "a partition body holds data only"
    );
    serde_json::from_value(body["data"].clone()).unwrap()
}

/// The values of one column of `rows`, as strings (`"NULL"` for null).
pub fn column_of(rows: &[Vec<Value>], index: usize) -> Vec<String> {
    rows.iter()
        .map(|r| r[index].as_str().unwrap_or("NULL").to_owned())
        .collect()
}

/// The position of a column in a result's rowType.
pub fn index_of(body: &Value, name: &str) -> usize {
    body["resultSetMetaData"]["rowType"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// Runs one statement and asserts it failed with `code` and `message`.
pub fn assert_error(status: StatusCode, body: &Value, code: &str, message: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        (&body["code"], &body["message"]),
        (&json!(code), &json!(message)),
        "{body}"
    );
}

/// Runs one statement and asserts it succeeded with a single `status` row; answers that row.
pub async fn ok(client: &Client, statement: &str) -> String {
    let (status, body) = client.run(statement).await;
    assert_eq!(status, StatusCode::OK, "{statement}: {body}");
    assert_eq!(
        body["resultSetMetaData"]["rowType"][0]["name"], "status",
        "{body}"
    );
    body["data"][0][0].as_str().unwrap().to_owned()
}

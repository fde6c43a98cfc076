//! DESCRIBE USER: one row per property (`property`, `value`, `default`, `description`), unset
//! values printed as the text `null` (an untyped user's TYPE as `NULL`), the key fingerprints
//! as `RSA_PUBLIC_KEY_FP` shows them. The role must own the user or hold MANAGE GRANTS,
//! unless it describes its own user.

use super::{Output, Session};
use crate::auth;
use crate::error::{SqlError, display_name};
use crate::result::{ColumnType, Kind};
use crate::sql::Ident;

pub(super) fn describe_user<'a>(
    session: &Session<'a>,
    name: &Ident,
) -> Result<Output<'a>, SqlError> {
    let user = session
        .account
        .users
        .iter()
        .find(|u| u.name == name.name)
        .filter(|u| session.sees_user_details(u) || u.name == session.user.name)
        .ok_or_else(|| SqlError::does_not_exist("User", &display_name(&name.name)))?;
    // DESCRIBE prints unset properties as the text `null`.
    let or_null = |s: &str| {
        if s.is_empty() {
            "null".to_owned()
        } else {
            s.to_owned()
        }
    };
    let key = |k: &Option<String>| k.as_deref().map_or("null".to_owned(), auth::key_body);
    let fp = |k: &Option<String>| {
        k.as_deref()
            .and_then(auth::fingerprint)
            .map_or("null".to_owned(), |fp| format!("SHA256:{fp}"))
    };
    let flag = |b: bool| if b { "true" } else { "false" }.to_owned();
    let properties: Vec<(&str, String, &str, &str)> = vec![
        ("NAME", user.name.clone(), "null", "Name"),
        (
            "COMMENT",
            "null".into(),
            "null",
            "user comment associated to an object in the dictionary",
        ),
        (
            "DISPLAY_NAME",
            or_null(&user.display_name),
            "null",
            "Display name of the associated object",
        ),
        // An untyped user: NULL (upper case) here, an empty `type` in SHOW USERS.
        (
            "TYPE",
            user.r#type.clone().unwrap_or_else(|| "NULL".into()),
            "NULL",
            "Type of the user",
        ),
        (
            "LOGIN_NAME",
            or_null(&user.login_name),
            "null",
            "Login name of the user",
        ),
        (
            "FIRST_NAME",
            or_null(&user.first_name),
            "null",
            "First name of the user",
        ),
        (
            "MIDDLE_NAME",
            "null".into(),
            "null",
            "Middle name of the user",
        ),
        (
            "LAST_NAME",
            or_null(&user.last_name),
            "null",
            "Last name of the user",
        ),
        (
            "EMAIL",
            or_null(&user.email),
            "null",
            "Email address of the user",
        ),
        ("PASSWORD", "null".into(), "null", "Password of the user"),
        (
            "MUST_CHANGE_PASSWORD",
            flag(false),
            "false",
            "User must change the password",
        ),
        (
            "DISABLED",
            flag(user.disabled),
            "false",
            "Whether the user is disabled",
        ),
        (
            "SNOWFLAKE_LOCK",
            flag(false),
            "false",
            "Whether the user or account is locked by Snowflake",
        ),
        (
            "SNOWFLAKE_SUPPORT",
            flag(false),
            "false",
            "Snowflake Support is allowed to use the user or account",
        ),
        (
            "DAYS_TO_EXPIRY",
            "null".into(),
            "null",
            "User record will be treated as expired after specified number of days",
        ),
        (
            "MINS_TO_UNLOCK",
            "null".into(),
            "null",
            "Temporary lock on the user will be removed after specified number of minutes",
        ),
        (
            "DEFAULT_WAREHOUSE",
            or_null(&user.default_warehouse),
            "null",
            "Default warehouse for this user",
        ),
        (
            "DEFAULT_NAMESPACE",
            "null".into(),
            "null",
            "Default database namespace prefix for this user",
        ),
        (
            "DEFAULT_ROLE",
            or_null(&user.default_role),
            "null",
            "Primary principal of user session will be set to this role",
        ),
        (
            "DEFAULT_SECONDARY_ROLES",
            "[\"ALL\"]".into(),
            "null",
            "The secondary roles will be set to all roles provided here",
        ),
        (
            "EXT_AUTHN_DUO",
            flag(false),
            "false",
            "Whether Duo Security is enabled as second factor authentication",
        ),
        (
            "EXT_AUTHN_UID",
            "null".into(),
            "null",
            "External authentication ID of the user",
        ),
        (
            "MINS_TO_BYPASS_MFA",
            "null".into(),
            "null",
            "Temporary bypass MFA for the user for a specified number of minutes",
        ),
        (
            "MINS_TO_BYPASS_NETWORK_POLICY",
            "null".into(),
            "null",
            "Temporary bypass network policy on the user for a specified number of minutes",
        ),
        (
            "RSA_PUBLIC_KEY",
            key(&user.rsa_public_key),
            "null",
            "RSA public key of the user",
        ),
        (
            "RSA_PUBLIC_KEY_FP",
            fp(&user.rsa_public_key),
            "null",
            "Fingerprint of user's RSA public key.",
        ),
        (
            "RSA_PUBLIC_KEY_2",
            key(&user.rsa_public_key_2),
            "null",
            "Second RSA public key of the user",
        ),
        (
            "RSA_PUBLIC_KEY_2_FP",
            fp(&user.rsa_public_key_2),
            "null",
            "Fingerprint of user's second RSA public key.",
        ),
        (
            "PASSWORD_LAST_SET_TIME",
            "null".into(),
            "null",
            "The timestamp on which the last non-null password was set for the user. Default to null if no password has been set yet.",
        ),
        (
            "CUSTOM_LANDING_PAGE_URL",
            "null".into(),
            "null",
            "Snowflake Support is allowed to use the user or account",
        ),
        (
            "CUSTOM_LANDING_PAGE_URL_FLUSH_NEXT_UI_LOAD",
            flag(false),
            "false",
            "Whether to flush the custom landing page URL on the next UI load",
        ),
        (
            "HAS_MFA",
            flag(false),
            "false",
            "Whether the user is enrolled in multi-factor authentication",
        ),
    ];
    let rows: Vec<Vec<Option<String>>> = properties
        .into_iter()
        .map(|(p, v, d, desc)| {
            vec![
                Some(p.to_owned()),
                Some(v),
                Some(d.to_owned()),
                Some(desc.to_owned()),
            ]
        })
        .collect();
    Ok(Output {
        columns: ["property", "value", "default", "description"]
            .into_iter()
            .map(|name| ColumnType::new(name, Kind::Text))
            .collect(),
        rows: Box::new(rows.into_iter()),
    })
}

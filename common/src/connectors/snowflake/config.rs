//! The Snowflake connector's parameters, as written in a target of `raito.yml`, validated before
//! any request. The names and meanings are the Go connector's (raito-io/cli-plugin-snowflake
//! snowflake/constants.go), so a target moves from the Go CLI unchanged, except for what the
//! SQL API cannot do (`sf-password`) and the connection settings this connector adds
//! (`sf-token`, `sf-host`).

use secrecy::SecretString;

use crate::config::{Error, Parameters};

/// Every parameter this connector reads. Any other key with the `sf-` prefix is refused as
/// unknown ([`crate::connectors::build`] checks), and the README documents exactly these (a
/// test compares).
pub const PARAMETERS: &[&str] = &[
    "sf-account",
    "sf-user",
    "sf-role",
    "sf-warehouse",
    "sf-private-key",
    "sf-private-key-passphrase",
    "sf-token",
    "sf-host",
    "sf-password",
    "sf-excluded-databases",
    "sf-excluded-schemas",
    "sf-excluded-roles",
    "sf-database-roles",
    "sf-access-import-from-account-usage",
    "sf-external-identity-store-owners",
    "sf-link-to-external-identity-store-groups",
    "sf-skip-columns",
    "sf-skip-tags",
    "sf-standard-edition",
    "sf-worker-pool-size",
    "sf-statement-timeout",
    "sf-mask-decrypt-function",
    "sf-mask-decrypt-column-tag",
    "sf-data-usage-window",
    "sf-usage-batch-size",
    "sf-usage-user-excludes",
];

/// The role the Go connector uses when `sf-role` is not set (snowflake/snowflake.go).
const GO_DEFAULT_ROLE: &str = "ACCOUNTADMIN";

/// How the connector authenticates to the SQL API.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `sf-private-key` (PEM, PKCS#8, encrypted with `sf-private-key-passphrase` or not): a
    /// key-pair JWT, signed here and renewed before it expires.
    KeyPair {
        /// The private key, PEM text.
        private_key: SecretString,
        /// Its passphrase, for an encrypted key.
        passphrase: Option<SecretString>,
    },
    /// `sf-token`: a programmatic access token or an OAuth access token, sent as it is.
    Token(SecretString),
}

/// How to reach and read a Snowflake account.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sf-account` (required): the account identifier, any documented form
    /// (`myorg-myaccount`, `xy12345`, `xy12345.us-east-2.aws`, …).
    pub account: String,
    /// `sf-user` (required): the user the key or token belongs to.
    pub user: String,
    /// `sf-role`: the role every statement runs as. Default `ACCOUNTADMIN`, as the Go
    /// connector's; a role with less is better (see the README for the grants it needs).
    pub role: String,
    /// `sf-warehouse`: the warehouse for the statements that need one (INFORMATION_SCHEMA and
    /// ACCOUNT_USAGE reads); the user's default when unset.
    pub warehouse: Option<String>,
    /// `sf-private-key` or `sf-token`: exactly one.
    pub auth: Auth,
    /// The SQL API's base URL: `https://<account>.snowflakecomputing.com`, or from `sf-host`
    /// (a host name, such as a PrivateLink one, or a full base URL such as
    /// `http://127.0.0.1:PORT` for a stand-in).
    pub base_url: String,
    /// `sf-excluded-databases`: databases never synced, comma-separated. Default `SNOWFLAKE`
    /// (replaced, not extended, when set: the Go connector's rule).
    pub excluded_databases: Vec<String>,
    /// `sf-excluded-schemas`: schemas never synced, `schema` or `database.schema`;
    /// `INFORMATION_SCHEMA` is always left out.
    pub excluded_schemas: Vec<String>,
    /// `sf-excluded-roles`: roles never imported or changed.
    pub excluded_roles: Vec<String>,
    /// `sf-database-roles`: the access import also reads the database roles of every database
    /// not excluded (snowflake/constants.go `SfDatabaseRoles`). Default false, as Go's.
    pub database_roles: bool,
    /// `sf-access-import-from-account-usage`: the access import reads the account roles'
    /// privileges and holders from `SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_ROLES` and
    /// `GRANTS_TO_USERS`, three statements per 1,000 roles instead of two per role, at the cost
    /// of those views' latency (up to 2 hours: a grant made or revoked since may be missing or
    /// still shown). Needs a warehouse and access to ACCOUNT_USAGE. Default false.
    pub import_from_account_usage: bool,
    /// `sf-external-identity-store-owners`: the owners (roles, compared without case) of the
    /// roles a SCIM integration creates from an external identity store's groups (Okta, Entra
    /// ID); the access import locks such roles in Raito so that Raito and SCIM do not both
    /// change them. Empty entries are ignored (Go's empty entry matched every role without an
    /// owner, i.e. the system roles: see `access::import`).
    pub external_identity_store_owners: Vec<String>,
    /// `sf-link-to-external-identity-store-groups`: a SCIM-owned role's who is the identity
    /// store group of its name, and only its name, deletion, who and inheritance are locked
    /// (its what stays editable); when false (Go's default), its who is its members and it is
    /// locked entirely (not internalizable).
    pub link_to_external_identity_store_groups: bool,
    /// `sf-skip-columns`: leave columns out of the data source sync.
    pub skip_columns: bool,
    /// `sf-skip-tags`: read no tags (ACCOUNT_USAGE.TAG_REFERENCES).
    pub skip_tags: bool,
    /// `sf-standard-edition`: the account is Standard Edition (no tags, no policies).
    pub standard_edition: bool,
    /// `sf-worker-pool-size`: statements in flight at once, 1 to 64. Default 10, as the Go
    /// connector's.
    pub worker_pool_size: usize,
    /// `sf-statement-timeout`: seconds Snowflake may run one statement before it cancels it
    /// (the request's `timeout`), 1 to 604,800. Default 600.
    pub statement_timeout_secs: u32,
    /// `sf-mask-decrypt-function`: a function (`DB.SCHEMA.DECRYPT_IT`) that decrypts a
    /// column's value; when set, the masks Raito offers include `ENCRYPT` (the stored value).
    /// Go tests only that the key is present (snowflake/data_source_meta_data.go), so an empty
    /// value counts as set.
    pub mask_decrypt_function: Option<String>,
    /// `sf-mask-decrypt-column-tag`: a tag (`DB.SCHEMA.TAG`) whose value on the column is
    /// passed to the decrypt function as its second argument.
    pub mask_decrypt_column_tag: Option<String>,
    /// `sf-data-usage-window`: how many days back a usage sync reads at most. Default 90 (the
    /// most the Go connector reads: a larger value is capped at 90, zero or less means 14,
    /// snowflake/data_usage.go).
    pub usage_window_days: u32,
    /// `sf-usage-batch-size`: query history rows read per statement, 10,000 to 1,000,000
    /// (0, Go's "no batching", reads 1,000,000 at a time). Default 100,000 (the Go
    /// connector's).
    pub usage_batch_size: u32,
    /// `sf-usage-user-excludes`: users whose statements are never imported.
    pub usage_user_excludes: Vec<String>,
}

impl Config {
    /// Reads and validates the parameters of a target.
    pub fn from_parameters(parameters: &Parameters) -> Result<Self, Error> {
        let account = parameters.required_string("sf-account")?.trim().to_owned();
        if account.is_empty()
            || !account
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(parameters.invalid(
                "sf-account",
                format!(
                    "{account:?} is not an account identifier (e.g. myorg-myaccount, or a \
                     locator such as xy12345.us-east-2.aws)"
                ),
            ));
        }
        let user = parameters.required_string("sf-user")?.trim().to_owned();
        if parameters.contains("sf-password") {
            return Err(parameters.invalid(
                "sf-password",
                "the SQL API takes no passwords (and Snowflake is retiring single-factor \
                 passwords for service users): give the user a key pair (ALTER USER … SET \
                 RSA_PUBLIC_KEY = '…') and set sf-private-key instead, or set sf-token to a \
                 programmatic access token",
            ));
        }
        let auth = match (
            parameters.secret("sf-private-key")?,
            parameters.secret("sf-token")?,
        ) {
            (Some(private_key), None) => Auth::KeyPair {
                private_key,
                passphrase: parameters.secret("sf-private-key-passphrase")?,
            },
            (None, Some(token)) => Auth::Token(token),
            (Some(_), Some(_)) => {
                return Err(
                    parameters.invalid("sf-token", "set sf-private-key or sf-token, not both")
                );
            }
            (None, None) => {
                return Err(parameters.invalid(
                    "sf-private-key",
                    "is required: the user's private key (PEM), or sf-token",
                ));
            }
        };
        let base_url = match parameters.string("sf-host")? {
            Some(host) if host.starts_with("https://") || host.starts_with("http://") => {
                host.trim_end_matches('/').to_owned()
            }
            Some(host) => format!("https://{}", host.trim().trim_end_matches('/')),
            None => format!(
                "https://{}.snowflakecomputing.com",
                account.to_ascii_lowercase()
            ),
        };
        let excluded_databases = if parameters.contains("sf-excluded-databases") {
            parameters.comma_list("sf-excluded-databases")?
        } else {
            vec!["SNOWFLAKE".to_owned()]
        };
        let flag =
            |key: &str| -> Result<bool, Error> { Ok(parameters.bool(key)?.unwrap_or(false)) };
        Ok(Self {
            account,
            user,
            role: parameters
                .string("sf-role")?
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| GO_DEFAULT_ROLE.to_owned()),
            warehouse: parameters
                .string("sf-warehouse")?
                .filter(|w| !w.trim().is_empty()),
            auth,
            base_url,
            excluded_databases,
            excluded_schemas: parameters.comma_list("sf-excluded-schemas")?,
            excluded_roles: parameters.comma_list("sf-excluded-roles")?,
            database_roles: flag("sf-database-roles")?,
            import_from_account_usage: flag("sf-access-import-from-account-usage")?,
            external_identity_store_owners: parameters
                .comma_list("sf-external-identity-store-owners")?,
            link_to_external_identity_store_groups: flag(
                "sf-link-to-external-identity-store-groups",
            )?,
            skip_columns: flag("sf-skip-columns")?,
            skip_tags: flag("sf-skip-tags")?,
            standard_edition: flag("sf-standard-edition")?,
            worker_pool_size: parameters
                .number_in("sf-worker-pool-size", 1..=64)?
                .unwrap_or(10) as usize,
            statement_timeout_secs: parameters
                .number_in("sf-statement-timeout", 1..=604_800)?
                .unwrap_or(600),
            mask_decrypt_function: if parameters.contains("sf-mask-decrypt-function") {
                Some(
                    parameters
                        .string("sf-mask-decrypt-function")?
                        .unwrap_or_default(),
                )
            } else {
                None
            },
            usage_window_days: match parameters.string("sf-data-usage-window")? {
                None => 90,
                Some(days) => match days.trim().parse::<i64>() {
                    Ok(days) if days <= 0 => 14,
                    Ok(days) => days.min(90) as u32,
                    Err(_) => {
                        return Err(parameters.invalid(
                            "sf-data-usage-window",
                            "must be a number of days (at most 90 are read)",
                        ));
                    }
                },
            },
            // Go's 0 (no batching: one statement) reads the same rows as the largest batch;
            // results stream a partition at a time either way, so a batch bounds only how
            // long one statement runs.
            usage_batch_size: match parameters.number_in("sf-usage-batch-size", 0..=1_000_000)? {
                None => 100_000,
                Some(0) => 1_000_000,
                Some(size) if size < 10_000 => {
                    return Err(parameters.invalid(
                        "sf-usage-batch-size",
                        "must be 0 or a number from 10000 to 1000000",
                    ));
                }
                Some(size) => size,
            },
            usage_user_excludes: parameters.comma_list("sf-usage-user-excludes")?,
            mask_decrypt_column_tag: parameters
                .string("sf-mask-decrypt-column-tag")?
                .filter(|tag| !tag.trim().is_empty()),
        })
    }

    /// Where the connector connects, for messages (never a credential).
    pub fn endpoint(&self) -> String {
        format!(
            "{} (account {}, user {})",
            self.base_url, self.account, self.user
        )
    }
}

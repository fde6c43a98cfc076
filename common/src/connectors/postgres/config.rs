//! The PostgreSQL connector's parameters, as written in a target of `raito.yml`. Everything is
//! validated here, before any connection is opened.

use secrecy::SecretString;

use super::naming;
use crate::config::{Error, Parameters};

/// Every parameter this connector reads; other `pg-*` keys are reported as unknown.
pub const PARAMETERS: &[&str] = &[
    "pg-host",
    "pg-port",
    "pg-user",
    "pg-password",
    "pg-database",
    "pg-sslmode",
    "pg-sslrootcert",
    "pg-excluded-databases",
    "pg-excluded-schemas",
    "pg-machine-user-pattern",
];

/// Connection and scope of a PostgreSQL target.
#[derive(Debug, Clone)]
pub struct Config {
    /// `pg-host` (required): host name or IP address of the server.
    pub host: String,
    /// `pg-port`: TCP port. Default 5432.
    pub port: u16,
    /// `pg-user` (required): the role to log in as. It needs `CONNECT` on every database to
    /// sync; the catalog is readable by every role, so no other grant is needed to read
    /// metadata.
    pub user: String,
    /// `pg-password`: the role's password (put it in a secret: `"{{secret:NAME#password}}"`).
    pub password: Option<SecretString>,
    /// `pg-database`: the database to connect to first, to list the others. Default `postgres`.
    pub database: String,
    /// `pg-sslmode`: `disable`, `prefer` (default), `require`, `verify-ca` or `verify-full`,
    /// with libpq's meanings.
    pub ssl_mode: SslMode,
    /// `pg-sslrootcert`: the CA certificates (PEM) to verify the server with in `verify-ca`
    /// and `verify-full` modes, as a file path or as the PEM text itself. Default: the
    /// system's trusted roots.
    pub ssl_root_cert: Option<String>,
    /// `pg-excluded-databases`: comma-separated database names (or a YAML list) never synced.
    /// Names use the full-name syntax: `sales, "Finance Dept"`. Template databases and
    /// databases that do not allow connections are always skipped.
    pub excluded_databases: Vec<String>,
    /// `pg-excluded-schemas`: comma-separated schemas (or a YAML list) never synced: `audit`
    /// excludes that schema in every database, `sales.staging` only in database `sales`.
    /// `pg_catalog`, `information_schema`, `pg_toast` and temporary schemas are always
    /// excluded.
    pub excluded_schemas: Vec<SchemaExclusion>,
    /// `pg-machine-user-pattern`: login roles whose name matches this POSIX regular
    /// expression (PostgreSQL's `~`) are reported as machine users, e.g. `^(svc|etl)_`.
    /// Default: none.
    pub machine_user_pattern: Option<String>,
}

/// TLS to the server, as libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, without verifying its certificate; plain otherwise.
    Prefer,
    /// TLS always, without verifying the server's certificate.
    Require,
    /// TLS always; the certificate must be signed by a trusted CA (any host name).
    VerifyCa,
    /// TLS always; trusted CA and a certificate for the host name connected to.
    VerifyFull,
}

/// A schema left out of the sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaExclusion {
    /// Only in this database; `None` means in every database.
    pub database: Option<String>,
    /// The schema's name.
    pub schema: String,
}

impl Config {
    /// Reads and validates the parameters of a target.
    pub fn from_parameters(parameters: &Parameters) -> Result<Self, Error> {
        for key in parameters.keys() {
            if key.starts_with("pg-") && !PARAMETERS.contains(&key) {
                return Err(parameters.invalid(
                    key,
                    format!(
                        "unknown PostgreSQL parameter (known: {})",
                        PARAMETERS.join(", ")
                    ),
                ));
            }
        }
        let host = parameters.required_string("pg-host")?;
        if host.trim().is_empty() {
            return Err(parameters.invalid("pg-host", "must not be empty"));
        }
        let user = parameters.required_string("pg-user")?;
        let ssl_mode = match parameters.string("pg-sslmode")?.as_deref() {
            None | Some("prefer") => SslMode::Prefer,
            Some("disable") => SslMode::Disable,
            Some("require") => SslMode::Require,
            Some("verify-ca") => SslMode::VerifyCa,
            Some("verify-full") => SslMode::VerifyFull,
            Some(other) => {
                return Err(parameters.invalid(
                    "pg-sslmode",
                    format!(
                        "\"{other}\" is not one of disable, prefer, require, verify-ca, verify-full"
                    ),
                ));
            }
        };
        let excluded_databases = names(parameters, "pg-excluded-databases")?
            .into_iter()
            .map(|name| match <[String; 1]>::try_from(name) {
                Ok([database]) => Ok(database),
                Err(name) => Err(parameters.invalid(
                    "pg-excluded-databases",
                    format!(
                        "{} is not a database name (quote names that contain dots)",
                        naming::full_name(name.iter().map(String::as_str))
                    ),
                )),
            })
            .collect::<Result<_, _>>()?;
        let excluded_schemas = names(parameters, "pg-excluded-schemas")?
            .into_iter()
            .map(|name| match <[String; 2]>::try_from(name) {
                Ok([database, schema]) => Ok(SchemaExclusion {
                    database: Some(database),
                    schema,
                }),
                Err(name) => match <[String; 1]>::try_from(name) {
                    Ok([schema]) => Ok(SchemaExclusion {
                        database: None,
                        schema,
                    }),
                    Err(name) => Err(parameters.invalid(
                        "pg-excluded-schemas",
                        format!(
                            "{} is neither `schema` nor `database.schema` (quote names that contain dots)",
                            naming::full_name(name.iter().map(String::as_str))
                        ),
                    )),
                },
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            host,
            port: parameters.u16("pg-port")?.unwrap_or(5432),
            user,
            password: parameters.secret("pg-password")?,
            database: parameters
                .string("pg-database")?
                .unwrap_or_else(|| "postgres".to_owned()),
            ssl_mode,
            ssl_root_cert: parameters.string("pg-sslrootcert")?,
            excluded_databases,
            excluded_schemas,
            machine_user_pattern: parameters.string("pg-machine-user-pattern")?,
        })
    }

    /// The schemas excluded in `database`, system schemas not included.
    pub fn excluded_schemas_in(&self, database: &str) -> Vec<String> {
        self.excluded_schemas
            .iter()
            .filter(|exclusion| {
                exclusion
                    .database
                    .as_deref()
                    .is_none_or(|db| db == database)
            })
            .map(|exclusion| exclusion.schema.clone())
            .collect()
    }

    /// `host:port`, for messages.
    pub fn endpoint(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A list parameter in the full-name syntax: a YAML list, or comma-separated in one string.
fn names(parameters: &Parameters, key: &str) -> Result<Vec<Vec<String>>, Error> {
    let mut names = Vec::new();
    for entry in parameters.list(key)? {
        names.extend(
            naming::parse_list(&entry).map_err(|e| parameters.invalid(key, e.to_string()))?,
        );
    }
    Ok(names)
}

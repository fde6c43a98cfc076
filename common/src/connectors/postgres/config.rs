//! The PostgreSQL connector's parameters, as written in a target of `raito.yml`. Everything is
//! validated here, before any connection is opened.

use secrecy::SecretString;

use super::naming;
use crate::config::{Error, Parameters};

/// Every parameter this connector reads. Any other key a target of this connector has is refused
/// as unknown ([`crate::connectors::build`] checks, before the parameters are read), and
/// the README documents exactly these (a test compares).
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
    "pg-usage-source",
    "pg-usage-log-format",
    "pg-usage-cloudwatch-log-group",
    "pg-usage-window-days",
    "pg-usage-settle-seconds",
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
    /// `pg-sslmode`: `disable`, `prefer`, `require`, `verify-ca` or `verify-full` (default:
    /// the server's certificate is checked against `pg-sslrootcert` and its name against
    /// `pg-host`), with libpq's meanings. `prefer` and `disable` (no protection against a
    /// server in the middle) log a warning.
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
    /// The usage sync's parameters (`pg-usage-*`).
    pub usage: UsageConfig,
}

/// Where and how the usage sync reads statements (see [`super::usage`] for the server settings
/// each source needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageConfig {
    /// `pg-usage-source`: `logfiles` (default) reads the server's own log files over SQL
    /// (`pg_ls_logdir()`, `pg_read_binary_file()`); `cloudwatch` reads the CloudWatch Logs log
    /// group that Amazon RDS or Aurora exports the PostgreSQL log to.
    pub source: UsageSource,
    /// `pg-usage-log-format`: with `logfiles`, which of the server's log files to read:
    /// `jsonlog` (`*.json`, PostgreSQL 15 and later) or `csvlog` (`*.csv`). The server's
    /// `log_destination` must include it. Unset (`None`): whichever the server writes,
    /// `jsonlog` first (so `csvlog` on 13 and 14, which have no `jsonlog`).
    pub log_format: Option<LogFormat>,
    /// `pg-usage-cloudwatch-log-group` (required with `cloudwatch`): the log group, e.g.
    /// `/aws/rds/instance/<instance-id>/postgresql` or
    /// `/aws/rds/cluster/<cluster-id>/postgresql`. Region and credentials come from the AWS
    /// environment; `AWS_ENDPOINT_URL` overrides the endpoint.
    pub cloudwatch_log_group: Option<String>,
    /// `pg-usage-window-days`: the oldest statements a run reads, in days before now, whatever
    /// the last imported time. Default 90.
    pub window_days: u16,
    /// `pg-usage-settle-seconds`: statements logged less than this many seconds before the run
    /// are left for the next run, so a run never imports part of a second whose log lines are
    /// still being written (or, in CloudWatch Logs, ingested). Default 10; raise it for
    /// CloudWatch Logs (e.g. 300), whose ingestion can lag by minutes.
    pub settle_seconds: u16,
}

/// The usage sync's log source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageSource {
    /// The server's log files, read over SQL.
    LogFiles,
    /// A CloudWatch Logs log group (RDS, Aurora).
    CloudWatch,
}

/// The format of the log files read over SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `jsonlog`: one JSON object per line.
    Json,
    /// `csvlog`: one CSV record per entry (quoted newlines allowed).
    Csv,
}

impl LogFormat {
    /// Its name in `log_destination` and in `pg-usage-log-format`.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Json => "jsonlog",
            LogFormat::Csv => "csvlog",
        }
    }

    /// The format to read, from `pg-usage-log-format` (`configured`) and the server's
    /// `log_destination`: the configured one if the server writes it, else the one it writes
    /// (`jsonlog` first). An error says what to change when the server writes neither, or not
    /// the configured one (reading files it no longer writes would import nothing new,
    /// silently).
    pub fn choose(configured: Option<Self>, log_destination: &str) -> Result<Self, String> {
        let writes = |format: Self| {
            log_destination
                .split(',')
                .any(|d| d.trim().eq_ignore_ascii_case(format.name()))
        };
        match configured {
            Some(format) if writes(format) => Ok(format),
            Some(format) => Err(format!(
                "pg-usage-log-format is {} but the server's log_destination is \
                 {log_destination:?}: it writes no {} files; add {} to log_destination, or set \
                 pg-usage-log-format to what it writes",
                format.name(),
                format.name(),
                format.name()
            )),
            None => [Self::Json, Self::Csv]
                .into_iter()
                .find(|f| writes(*f))
                .ok_or_else(|| {
                    format!(
                        "the server writes no log files the usage sync can read \
                         (log_destination is {log_destination:?}): add jsonlog (PostgreSQL 15 \
                         and later) or csvlog to log_destination, with logging_collector on"
                    )
                }),
        }
    }
}

impl UsageConfig {
    fn from_parameters(parameters: &Parameters) -> Result<Self, Error> {
        let source = match parameters.string("pg-usage-source")?.as_deref() {
            None | Some("logfiles") => UsageSource::LogFiles,
            Some("cloudwatch") => UsageSource::CloudWatch,
            Some(other) => {
                return Err(parameters.invalid(
                    "pg-usage-source",
                    format!("\"{other}\" is not one of logfiles, cloudwatch"),
                ));
            }
        };
        let log_format = match parameters.string("pg-usage-log-format")?.as_deref() {
            None => None,
            Some("jsonlog") => Some(LogFormat::Json),
            Some("csvlog") => Some(LogFormat::Csv),
            Some(other) => {
                return Err(parameters.invalid(
                    "pg-usage-log-format",
                    format!("\"{other}\" is not one of jsonlog, csvlog"),
                ));
            }
        };
        let cloudwatch_log_group = parameters.string("pg-usage-cloudwatch-log-group")?;
        if source == UsageSource::CloudWatch
            && cloudwatch_log_group
                .as_deref()
                .is_none_or(|g| g.trim().is_empty())
        {
            return Err(parameters.invalid(
                "pg-usage-cloudwatch-log-group",
                "required with pg-usage-source: cloudwatch (e.g. /aws/rds/instance/mydb/postgresql)",
            ));
        }
        let window_days = parameters.u16("pg-usage-window-days")?.unwrap_or(90);
        if window_days == 0 {
            return Err(parameters.invalid("pg-usage-window-days", "must be at least 1"));
        }
        Ok(Self {
            source,
            log_format,
            cloudwatch_log_group,
            window_days,
            settle_seconds: parameters.u16("pg-usage-settle-seconds")?.unwrap_or(10),
        })
    }
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
        let host = parameters.required_string("pg-host")?;
        if host.trim().is_empty() {
            return Err(parameters.invalid("pg-host", "must not be empty"));
        }
        let user = parameters.required_string("pg-user")?;
        let ssl_mode = match parameters.string("pg-sslmode")?.as_deref() {
            // Secure by default: a password is never sent to a server that did not prove
            // itself (for RDS: `pg-sslrootcert` = the RDS CA bundle).
            None | Some("verify-full") => SslMode::VerifyFull,
            Some("prefer") => SslMode::Prefer,
            Some("disable") => SslMode::Disable,
            Some("require") => SslMode::Require,
            Some("verify-ca") => SslMode::VerifyCa,
            Some(other) => {
                return Err(parameters.invalid(
                    "pg-sslmode",
                    format!(
                        "\"{other}\" is not one of disable, prefer, require, verify-ca, verify-full"
                    ),
                ));
            }
        };
        if matches!(ssl_mode, SslMode::Prefer | SslMode::Disable) {
            tracing::warn!(
                target = parameters.target(),
                pg_sslmode = ?ssl_mode,
                "pg-sslmode does not verify the server: the password and the data can be read \
                 by anyone in the middle; use verify-full with pg-sslrootcert"
            );
        }
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
            usage: UsageConfig::from_parameters(parameters)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_format_follows_the_server_unless_configured() {
        use LogFormat::{Csv, Json};
        assert_eq!(LogFormat::choose(None, "stderr, jsonlog, csvlog"), Ok(Json));
        assert_eq!(LogFormat::choose(None, "csvlog"), Ok(Csv));
        assert_eq!(LogFormat::choose(Some(Csv), "jsonlog,csvlog"), Ok(Csv));
        assert_eq!(LogFormat::choose(Some(Json), "JSONLOG"), Ok(Json));
        assert_eq!(
            LogFormat::choose(Some(Json), "csvlog"),
            Err(
                "pg-usage-log-format is jsonlog but the server's log_destination is \"csvlog\": \
                 it writes no jsonlog files; add jsonlog to log_destination, or set \
                 pg-usage-log-format to what it writes"
                    .to_owned()
            )
        );
        assert_eq!(
            LogFormat::choose(None, "stderr"),
            Err(
                "the server writes no log files the usage sync can read (log_destination is \
                 \"stderr\"): add jsonlog (PostgreSQL 15 and later) or csvlog to \
                 log_destination, with logging_collector on"
                    .to_owned()
            )
        );
    }
}

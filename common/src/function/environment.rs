//! What each function reads from its environment once at start and reuses for every
//! invocation, in three layers so that each function builds only what it uses:
//! - [`Environment`], every function's: raito.yml (`RAITO_CONFIG_URI`), the secrets, the bundle's
//!   bucket (`RAITO_BUCKET`) and its pending triggers;
//! - [`Worker`], what the functions that talk to Raito add (the sync functions and the trigger
//!   listener): the Raito credentials and clients, the leases, the poll interval and the
//!   deadline margin;
//! - [`SyncEnvironment`], a sync function's: a worker plus staging and the usage settings;
//!   [`WebhookEnvironment`], the webhook receiver's: the environment plus the replay guard and
//!   the signing secret's name.
//!
//! Each layer dereferences to the one below it, so a handler reads `env.pending` whatever
//! layer it holds.

use std::ops::Deref;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

use super::Error;
use crate::aws::secrets::{SecretSource, SecretsManager, secret_object};
use crate::config::Config;
use crate::raito;
use crate::sync::staging::Staging;

/// A function's environment, built from the process environment at start.
#[allow(async_fn_in_trait)] // called once per process, on its own task
pub trait FromEnv: Sized {
    /// Reads the variables and builds the clients (no request is sent).
    async fn from_env() -> Result<Self, Error>;
}

/// Every function's environment: raito.yml, the secrets, the bucket and its pending triggers.
pub struct Environment {
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) secrets: SecretsManager,
    pub(super) config_uri: String,
    /// The bundle's bucket.
    pub(super) bucket: String,
    /// Pending triggers per step and target (`triggers/`).
    pub(super) pending: crate::pending::Pending,
}

/// What the functions that talk to Raito add: the sync functions and the trigger listener.
pub struct Worker {
    env: Environment,
    raito_secret: Option<String>,
    api_url: Option<String>,
    cognito_endpoint: Option<String>,
    pub(super) poll_interval: Duration,
    pub(super) deadline_margin: Duration,
    /// One run per step and target at a time (`locks/`).
    pub(super) leases: crate::pending::Leases,
    /// Built on first use and kept, so the Raito token survives between invocations.
    raito: OnceCell<raito::Clients>,
}

/// A sync function's environment: a worker, staging, and the usage settings.
pub struct SyncEnvironment {
    worker: Worker,
    pub(super) staging: Staging,
    pub(super) usage_part_bytes: u64,
    pub(super) usage_reserve: Option<Duration>,
}

/// The webhook receiver's environment: no Raito credentials, no connector secret.
pub struct WebhookEnvironment {
    env: Environment,
    /// Webhook deliveries already accepted (`webhooks/deliveries/`).
    pub(super) deliveries: crate::webhook::ReplayGuard,
    /// The secret with the webhook signing secret.
    pub(super) webhook_secret: Option<String>,
}

impl Deref for Worker {
    type Target = Environment;
    fn deref(&self) -> &Environment {
        &self.env
    }
}

impl Deref for SyncEnvironment {
    type Target = Worker;
    fn deref(&self) -> &Worker {
        &self.worker
    }
}

impl Deref for WebhookEnvironment {
    type Target = Environment;
    fn deref(&self) -> &Environment {
        &self.env
    }
}

fn var(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn millis(name: &'static str, default: u64) -> Result<Duration, Error> {
    match var(name) {
        None => Ok(Duration::from_millis(default)),
        Some(value) => value
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| Error::Environment {
                name,
                message: format!("\"{value}\" is not a number of milliseconds"),
            }),
    }
}

fn required(name: &'static str, what: &str) -> Result<String, Error> {
    var(name).ok_or_else(|| Error::Environment {
        name,
        message: format!("not set: give {what}"),
    })
}

impl FromEnv for Environment {
    async fn from_env() -> Result<Self, Error> {
        let aws = crate::aws::load_config().await;
        let s3 = crate::aws::s3_client(&aws);
        let config_uri = required(
            "RAITO_CONFIG_URI",
            "the s3://bucket/key (or path) of raito.yml",
        )?;
        let bucket = required("RAITO_BUCKET", "the bucket where sync files are staged")?;
        Ok(Self {
            secrets: SecretsManager::new(&aws),
            pending: crate::pending::Pending::new(s3.clone(), bucket.clone()),
            s3,
            config_uri,
            bucket,
        })
    }
}

impl FromEnv for Worker {
    async fn from_env() -> Result<Self, Error> {
        let env = Environment::from_env().await?;
        Ok(Self {
            leases: crate::pending::Leases::new(env.s3.clone(), env.bucket.clone()),
            raito_secret: var("RAITO_SECRET_NAME"),
            api_url: var("RAITO_API_URL"),
            cognito_endpoint: var("RAITO_COGNITO_ENDPOINT"),
            poll_interval: millis("RAITO_POLL_INTERVAL_MS", 5_000)?,
            deadline_margin: millis("RAITO_DEADLINE_MARGIN_MS", 10_000)?,
            raito: OnceCell::new(),
            env,
        })
    }
}

impl FromEnv for SyncEnvironment {
    async fn from_env() -> Result<Self, Error> {
        let worker = Worker::from_env().await?;
        Ok(Self {
            staging: Staging::S3 {
                client: worker.s3.clone(),
                bucket: worker.bucket.clone(),
                prefix: var("RAITO_STAGING_PREFIX").unwrap_or_else(|| "staged/".into()),
            },
            usage_part_bytes: match var("RAITO_USAGE_PART_BYTES") {
                None => crate::sync::usage::DEFAULT_PART_BYTES,
                Some(value) => {
                    value
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1024)
                        .ok_or_else(|| Error::Environment {
                            name: "RAITO_USAGE_PART_BYTES",
                            message: format!(
                                "\"{value}\" is not a number of bytes (at least 1024)"
                            ),
                        })?
                }
            },
            usage_reserve: var("RAITO_USAGE_RESERVE_MS")
                .is_some()
                .then(|| millis("RAITO_USAGE_RESERVE_MS", 0))
                .transpose()?,
            worker,
        })
    }
}

impl FromEnv for WebhookEnvironment {
    async fn from_env() -> Result<Self, Error> {
        let env = Environment::from_env().await?;
        Ok(Self {
            deliveries: crate::webhook::ReplayGuard::new(env.s3.clone(), env.bucket.clone()),
            webhook_secret: var("RAITO_WEBHOOK_SECRET_NAME"),
            env,
        })
    }
}

impl Environment {
    pub(super) async fn load_config(&self) -> Result<Config, Error> {
        self.load_config_with(&self.secrets).await
    }

    /// raito.yml with no secret read (every `{{secret:...}}` value absent): enough to route a
    /// webhook to its targets, by their names and ids.
    pub(super) async fn load_config_for_routing(&self) -> Result<Config, Error> {
        self.load_config_with(&crate::aws::secrets::Unread).await
    }

    async fn load_config_with(&self, secrets: &dyn SecretSource) -> Result<Config, Error> {
        let uri = &self.config_uri;
        let Some(location) = uri.strip_prefix("s3://") else {
            return Ok(Config::load(std::path::Path::new(uri), secrets).await?);
        };
        let failed = |message: String| Error::ConfigSource {
            uri: uri.clone(),
            message,
        };
        let (bucket, key) = location
            .split_once('/')
            .ok_or_else(|| failed("expected s3://bucket/key".into()))?;
        let object = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| failed(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
        // raito.yml is a small file: read whole.
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| failed(e.to_string()))?
            .into_bytes();
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| failed("not UTF-8".into()))?;
        Ok(Config::from_yaml_str(&text, uri, secrets).await?)
    }

    /// The secrets source, for handlers that resolve more secrets.
    pub fn secrets(&self) -> &dyn SecretSource {
        &self.secrets
    }
}

impl Worker {
    /// The Raito clients: the default one from the Raito secret (`RAITO_SECRET_NAME`) or
    /// raito.yml's top level, and those of targets with their own credentials.
    pub(super) async fn raito(&self, config: &Config) -> Result<&raito::Clients, Error> {
        self.raito
            .get_or_try_init(|| async {
                let credentials = match &self.raito_secret {
                    Some(name) => {
                        let object = secret_object(&self.secrets, name)
                            .await
                            .map_err(|e| Error::Credentials(e.to_string()))?;
                        let field = |key: &str| {
                            object
                                .get(key)
                                .and_then(|v| v.as_str())
                                .map(str::to_owned)
                                .ok_or_else(|| {
                                    Error::Credentials(format!(
                                        "secret {name} has no string field \"{key}\""
                                    ))
                                })
                        };
                        Ok((
                            field("domain")?,
                            field("api-user")?,
                            SecretString::from(field("api-secret")?),
                        ))
                    }
                    None => match (&config.domain, &config.api_user, &config.api_secret) {
                        (Some(domain), Some(user), Some(secret)) => Ok((
                            domain.clone(),
                            user.clone(),
                            SecretString::from(secret.expose_secret().to_owned()),
                        )),
                        _ => Err(format!(
                            "no Raito credentials: set RAITO_SECRET_NAME, or `domain`, `api-user` \
                             and `api-secret` in {}",
                            self.config_uri
                        )),
                    },
                };
                let (credentials, missing) = match credentials {
                    Ok(credentials) => (credentials, None),
                    Err(why) => (
                        (String::new(), String::new(), SecretString::from("")),
                        Some(why),
                    ),
                };
                let (domain, user, secret) = credentials;
                let mut template = raito::ClientConfig::new(domain, user, secret);
                if let Some(url) = self.api_url.as_ref().or(config.raito_url.as_ref()) {
                    template.base_url = url.clone();
                }
                template.cognito_endpoint = self.cognito_endpoint.clone();
                Ok::<_, Error>(raito::Clients::new(template, missing))
            })
            .await
    }
}

//! A whole deployment of one sync function for end-to-end tests, as `sam deploy` would make
//! it: raito.yml in an S3 bucket (moto), secrets in Secrets Manager (moto), the Raito stand-in
//! as Raito Cloud, and the function's real binary attached to a [`RuntimeApi`].

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use raito_standin::StandIn;
use serde_json::{Value, json};

pub use crate::object_created;
use crate::{Outcome, RuntimeApi};

/// The Raito credentials the stand-in accepts by default.
pub const API_SECRET: &str = "api-secret";

/// A running deployment; the function process is killed on drop.
pub struct Deployment {
    /// The staging bucket (also holds `config/raito.yml`).
    pub bucket: String,
    /// An S3 client for moto.
    pub s3: aws_sdk_s3::Client,
    /// Raito Cloud.
    pub standin: StandIn,
    /// The Runtime API the function polls.
    pub runtime: RuntimeApi,
    /// When the function process was started.
    pub started: Instant,
    function: Child,
    /// The instances [`Deployment::scale`] added, each with its log.
    instances: Vec<(Child, Log)>,
    raito_secret: String,
    log: Log,
    binary: String,
    env: Vec<(String, String)>,
}

/// The log lines (stdout) of a function process, read as they come, each with when it was read.
type Log = std::sync::Arc<std::sync::Mutex<Vec<(Instant, String)>>>;

/// A copy of the lines logged so far, each with the instant the harness read it from the pipe.
fn lines_of(log: &Log) -> Vec<(Instant, String)> {
    log.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Another function of the same deployment (same bucket, raito.yml, secrets and Raito), e.g.
/// the webhook receiver next to sync-access; killed on drop.
pub struct Companion {
    /// The Runtime API it polls.
    pub runtime: RuntimeApi,
    bucket: String,
    function: Child,
    log: Log,
}

impl Drop for Companion {
    fn drop(&mut self) {
        let _ = self.function.kill();
        let _ = self.function.wait();
    }
}

impl Companion {
    /// As [`Deployment::assert_log_is_clean`], for this function.
    ///
    /// # Panics
    /// On the first line that breaks the rule of [`check_log`].
    pub fn assert_log_is_clean(&self, secrets: &[&str]) -> Vec<String> {
        check_log(&self.log, secrets)
    }

    /// As [`Deployment::log_lines`], for this function.
    pub fn log_lines(&self) -> Vec<(Instant, String)> {
        lines_of(&self.log)
    }

    /// Invokes it once and waits up to `timeout` for the answer.
    ///
    /// # Panics
    /// When it does not answer before the deadline.
    pub async fn invoke(&self, payload: Value, timeout: Duration) -> Outcome {
        self.runtime
            .invoke(payload, timeout)
            .await
            .unwrap_or_else(|| panic!("the function did not answer before its deadline"))
    }

    /// As [`Deployment::run`], for this function.
    ///
    /// # Panics
    /// When an invocation does not answer before its deadline.
    pub async fn run(&self, payload: Value, timeout: Duration) -> Outcome {
        self.runtime
            .run(payload, &self.bucket, timeout)
            .await
            .unwrap_or_else(|| panic!("the function did not answer before its deadline"))
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        for function in std::iter::once(&mut self.function)
            .chain(self.instances.iter_mut().map(|(child, _)| child))
        {
            let _ = function.kill();
            let _ = function.wait();
        }
    }
}

/// Stores `value` (as JSON text) in moto's Secrets Manager under a fresh name starting with
/// `prefix`, and returns the name.
///
/// # Panics
/// When moto is not running (start it with `dev/services.sh start`).
pub async fn put_secret(prefix: &str, value: Value) -> String {
    let secrets = aws_sdk_secretsmanager::Client::new(&test_support::moto_sdk_config());
    let name = test_support::unique_name(prefix);
    secrets
        .create_secret()
        .name(&name)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating secret {name} in moto: {e:?}"));
    name
}

impl Deployment {
    /// Puts `raito_yml` in a fresh bucket and the Raito credentials (with `api_secret`) in a
    /// secret, then starts `binary` (e.g. `env!("CARGO_BIN_EXE_sync-identities")`) against
    /// `standin`.
    ///
    /// # Panics
    /// When moto is not running or the binary cannot start.
    pub async fn start(binary: &str, raito_yml: &str, api_secret: &str, standin: StandIn) -> Self {
        Self::start_with_env(binary, raito_yml, api_secret, standin, &[]).await
    }

    /// [`Deployment::start`] with extra environment variables for the function (set last, so
    /// they override the defaults here).
    pub async fn start_with_env(
        binary: &str,
        raito_yml: &str,
        api_secret: &str,
        standin: StandIn,
        env: &[(&str, &str)],
    ) -> Self {
        let aws = test_support::moto_sdk_config();
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&aws)
                .force_path_style(true)
                .build(),
        );
        let bucket = test_support::unique_name("bundle").replace(['_', ' '], "-");
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating bucket {bucket} in moto: {e:?}"));
        s3.put_object()
            .bucket(&bucket)
            .key("config/raito.yml")
            .body(raito_yml.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("putting raito.yml in moto: {e:?}"));
        let raito_secret = put_secret(
            "raito/credentials",
            json!({"domain": "demo", "api-user": "api-user", "api-secret": api_secret}),
        )
        .await;

        let runtime = RuntimeApi::start()
            .await
            .unwrap_or_else(|e| panic!("starting the Runtime API: {e}"));
        let started = Instant::now();
        let (function, log) = spawn(binary, &runtime, &bucket, &raito_secret, &standin, env);
        Self {
            bucket,
            s3,
            standin,
            runtime,
            started,
            function,
            instances: Vec::new(),
            raito_secret,
            log,
            binary: binary.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// Runs `count` instances of the function in all, each a process polling the same Runtime
    /// API, as Lambda runs up to the reserved concurrency of a function side by side: an
    /// invocation goes to whichever instance asks first, and waits while all are busy.
    ///
    /// # Panics
    /// When a binary cannot start.
    pub fn scale(&mut self, count: usize) {
        while self.instances.len() + 1 < count {
            let instance = self.spawn_instance();
            self.instances.push(instance);
        }
    }

    /// Starts one more process of the function against its Runtime API, with the deployment's
    /// settings.
    fn spawn_instance(&self) -> (Child, Log) {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        spawn(
            &self.binary,
            &self.runtime,
            &self.bucket,
            &self.raito_secret,
            &self.standin,
            &env,
        )
    }

    /// The log of every instance ([`Deployment::scale`]), the first one's first, each checked
    /// as [`Deployment::assert_log_is_clean`] checks it.
    ///
    /// # Panics
    /// On the first line that breaks the rule of [`check_log`].
    pub fn assert_instance_logs_are_clean(&self, secrets: &[&str]) -> Vec<Vec<(Instant, String)>> {
        std::iter::once(&self.log)
            .chain(self.instances.iter().map(|(_, log)| log))
            .map(|log| {
                check_log(log, secrets);
                lines_of(log)
            })
            .collect()
    }

    /// Kills the function process at once (SIGKILL, as when Lambda ends an instance in the
    /// middle of an invocation: no cleanup runs) and starts a fresh one, a new instance of the
    /// same function, against a new Runtime API. The log is the new process's from then on.
    ///
    /// # Panics
    /// When the binary cannot start.
    pub async fn restart(&mut self) {
        let _ = self.function.kill();
        let _ = self.function.wait();
        self.runtime = RuntimeApi::start()
            .await
            .unwrap_or_else(|e| panic!("starting the Runtime API: {e}"));
        let (function, log) = self.spawn_instance();
        self.function = function;
        self.log = log;
        self.started = Instant::now();
    }

    /// Checks every log line the function wrote so far against the rule of [`check_log`]:
    /// JSON, a `level` and a `step` on every line, the `target` on every line of a target's
    /// run, and none of `secrets` (every password, API secret, token and client secret the
    /// test put in secrets or raito.yml) anywhere. Returns the targets whose runs the log
    /// shows, in order, so that a test can tell the target rule was exercised.
    ///
    /// # Panics
    /// On the first line that breaks the rule.
    pub fn assert_log_is_clean(&self, secrets: &[&str]) -> Vec<String> {
        check_log(&self.log, secrets)
    }

    /// The lines the function logged so far (JSON text, as written), each with the instant
    /// the harness read it from the function's stdout (microseconds after it was written): a
    /// log line's time, for benchmarks.
    pub fn log_lines(&self) -> Vec<(Instant, String)> {
        lines_of(&self.log)
    }

    /// Starts `binary` as another function of this deployment, with extra environment
    /// variables `env`.
    ///
    /// # Panics
    /// When the binary cannot start.
    pub async fn companion(&self, binary: &str, env: &[(&str, &str)]) -> Companion {
        let runtime = RuntimeApi::start()
            .await
            .unwrap_or_else(|e| panic!("starting the Runtime API: {e}"));
        let (function, log) = spawn(
            binary,
            &runtime,
            &self.bucket,
            &self.raito_secret,
            &self.standin,
            env,
        );
        Companion {
            runtime,
            bucket: self.bucket.clone(),
            function,
            log,
        }
    }

    /// Invokes the function once and waits up to `timeout` (its deadline) for the answer.
    ///
    /// # Panics
    /// When the function does not answer before the deadline.
    pub async fn invoke(&self, payload: Value, timeout: Duration) -> Outcome {
        self.runtime
            .invoke(payload, timeout)
            .await
            .unwrap_or_else(|| panic!("the function did not answer before its deadline"))
    }

    /// Invokes the function as a schedule would and runs what it queued, each target in an
    /// invocation of its own ([`RuntimeApi::run`]), waiting up to `timeout` for each.
    ///
    /// # Panics
    /// When an invocation does not answer before its deadline.
    pub async fn run(&self, payload: Value, timeout: Duration) -> Outcome {
        self.runtime
            .run(payload, &self.bucket, timeout)
            .await
            .unwrap_or_else(|| panic!("the function did not answer before its deadline"))
    }

    /// The bytes of a staged file, by the `s3://bucket/key` location the summary reports.
    ///
    /// # Panics
    /// When the location is not in this deployment's bucket or cannot be read.
    pub async fn staged(&self, location: &str) -> Vec<u8> {
        let key = location
            .strip_prefix(&format!("s3://{}/", self.bucket))
            .unwrap_or_else(|| panic!("{location} is not in bucket {}", self.bucket));
        assert!(key.starts_with("staged/"), "staged under staged/: {key}");
        self.object(key).await
    }

    /// The bytes of the object `key` in the deployment's bucket.
    ///
    /// # Panics
    /// When it cannot be read.
    pub async fn object(&self, key: &str) -> Vec<u8> {
        self.s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("reading s3://{}/{key}: {e:?}", self.bucket))
            .body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("reading s3://{}/{key}: {e}", self.bucket))
            .into_bytes()
            .to_vec()
    }

    /// The keys under `prefix` in the deployment's bucket (one listing page: up to 1,000).
    ///
    /// # Panics
    /// When the bucket cannot be listed.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        self.s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap_or_else(|e| panic!("listing s3://{}/{prefix}: {e:?}", self.bucket))
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }
}

/// A Raito stand-in on a free local port that knows the data sources `data_sources`.
///
/// # Panics
/// When no local port can be bound.
pub async fn standin_for(data_sources: &[impl AsRef<str>]) -> StandIn {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("binding a local port for the Raito stand-in: {e}"));
    raito_standin::start(
        listener,
        raito_standin::Config {
            data_sources: data_sources.iter().map(|d| d.as_ref().to_owned()).collect(),
            ..Default::default()
        },
    )
    .await
}

/// How long a test lets an invocation run.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

/// The message of the first line of a target's run (raito-common's `sync::run::run`).
const TARGET_STARTED: &str = "target sync started";
/// The message of the last line of a target's run.
const TARGET_FINISHED: &str = "target sync finished";

/// The rule every line a function logs keeps, checked line by line in order:
/// 1. the line is one JSON object with a string `level`;
/// 2. it has a non-empty string `step` at the top level (every line of a function is in its
///    function span, whose `step` the log format puts on the line; the webhook receiver's step
///    is `webhook`);
/// 3. a target's run is the lines from one whose `message` is [`TARGET_STARTED`] to the next
///    whose `message` is [`TARGET_FINISHED`], both included: each of them has the string
///    `target` of the first (so no line of a run, in whatever span or task it is logged, loses
///    its target); runs do not nest or overlap (one function process runs one target at a
///    time), a finishing line closes a run of its own target, and a run still going when the
///    log is read is checked up to its last line so far;
/// 4. no line contains any of `secrets`, anywhere in its text (none may be empty).
///
/// The log must not be empty. Returns the target of every run, in order.
fn check_log(log: &Log, secrets: &[&str]) -> Vec<String> {
    assert!(
        secrets.iter().all(|s| !s.is_empty()),
        "an empty secret matches every line"
    );
    let lines: Vec<String> = lines_of(log).into_iter().map(|(_, line)| line).collect();
    assert!(!lines.is_empty(), "the function wrote no log line");
    let mut runs = Vec::new();
    // The target whose run is going.
    let mut current: Option<String> = None;
    for (number, line) in lines.iter().enumerate() {
        let number = number + 1;
        for secret in secrets {
            assert!(
                !line.contains(secret),
                "a secret in log line {number}: {line}"
            );
        }
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("log line {number} is not JSON ({e}): {line}"));
        let field = |name: &str| value.get(name).and_then(Value::as_str);
        assert!(
            field("level").is_some(),
            "log line {number} has no level: {line}"
        );
        assert!(
            field("step").is_some_and(|step| !step.is_empty()),
            "log line {number} has no step: {line}"
        );
        let target = field("target");
        let message = field("message");
        if message == Some(TARGET_STARTED) {
            if let Some(going) = &current {
                panic!("log line {number} starts a run while the run of {going} is going: {line}");
            }
            let target = target
                .unwrap_or_else(|| panic!("log line {number} starts a run of no target: {line}"));
            runs.push(target.to_owned());
            current = Some(target.to_owned());
        }
        if let Some(going) = &current {
            assert_eq!(
                target,
                Some(going.as_str()),
                "log line {number}, in the run of {going}, has another target: {line}"
            );
        }
        if message == Some(TARGET_FINISHED) {
            assert!(
                current.take().is_some(),
                "log line {number} finishes a run that never started: {line}"
            );
        }
    }
    runs
}

/// Starts a function process against `runtime`, as Lambda would, with the deployment's
/// settings and `env` last; its stdout (the log) is read into the returned lines.
fn spawn(
    binary: &str,
    runtime: &RuntimeApi,
    bucket: &str,
    raito_secret: &str,
    standin: &StandIn,
    env: &[(&str, &str)],
) -> (Child, Log) {
    let name = std::path::Path::new(binary)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut child = Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", test_support::moto_url())
        .env(
            "RAITO_CONFIG_URI",
            format!("s3://{bucket}/config/raito.yml"),
        )
        .env("RAITO_BUCKET", bucket)
        .env("RAITO_SECRET_NAME", raito_secret)
        .env("RAITO_API_URL", standin.base_url())
        .env("RAITO_COGNITO_ENDPOINT", standin.cognito_url())
        .env("RAITO_POLL_INTERVAL_MS", "50")
        .env("RAITO_DEADLINE_MARGIN_MS", "2000")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
    let log = Log::default();
    if let Some(stdout) = child.stdout.take() {
        let lines = log.clone();
        // Drained as it comes, so the function never blocks on a full pipe.
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let read = Instant::now();
                lines
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((read, line));
            }
        });
    }
    (child, log)
}

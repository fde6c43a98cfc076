//! Turning one YAML value of `raito.yml` into its final JSON value: `{{NAME}}` from the
//! environment, `{{secret:NAME}}` and `{{secret:NAME#field}}` from a [`SecretSource`], applied
//! inside lists and maps too, and remembering whether anything came from a secret.

use futures::future::BoxFuture;
use secrecy::ExposeSecret;
use serde_json::Value;

use super::error::{Error, Location};
use crate::aws::secrets::{self, SecretSource};

/// Looks up an environment variable; `None` when it is not set.
pub type EnvLookup<'a> = &'a (dyn Fn(&str) -> Option<String> + Send + Sync);

/// A resolved value, and whether any part of it was read from a secret.
#[derive(Clone)]
pub(crate) struct Resolved {
    pub value: Value,
    pub from_secret: bool,
}

/// A value written exactly as `{{...}}`.
#[derive(Debug, PartialEq, Eq)]
enum Reference<'a> {
    Env(&'a str),
    Secret {
        name: &'a str,
        field: Option<&'a str>,
    },
}

/// The reference a string is, if it is one: the whole value must be `{{...}}` (spaces inside
/// the braces are allowed); `{{A}}-{{B}}` and `x{{A}}` are plain strings.
fn reference(text: &str) -> Option<Reference<'_>> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") {
        return None;
    }
    let inner = inner.trim();
    match inner.strip_prefix("secret:") {
        Some(rest) => Some(match rest.split_once('#') {
            Some((name, field)) => Reference::Secret {
                name: name.trim(),
                field: Some(field.trim()),
            },
            None => Reference::Secret {
                name: rest.trim(),
                field: None,
            },
        }),
        None => Some(Reference::Env(inner)),
    }
}

/// Resolves values of one file.
pub(crate) struct Resolver<'a> {
    pub secrets: &'a dyn SecretSource,
    pub env: EnvLookup<'a>,
}

impl Resolver<'_> {
    /// `value` converted to JSON with every reference in it replaced. `at` names the key in
    /// errors.
    pub fn resolve<'s>(
        &'s self,
        value: serde_norway::Value,
        at: &'s Location,
    ) -> BoxFuture<'s, Result<Resolved, Error>> {
        Box::pin(async move {
            use serde_norway::Value as Yaml;
            let plain = |value| {
                Ok(Resolved {
                    value,
                    from_secret: false,
                })
            };
            match value {
                Yaml::Null => plain(Value::Null),
                Yaml::Bool(b) => plain(Value::Bool(b)),
                Yaml::Number(n) => plain(number(&n, at)?),
                Yaml::String(text) => self.string(text, at).await,
                Yaml::Sequence(items) => {
                    let mut list = Vec::with_capacity(items.len());
                    let mut from_secret = false;
                    for item in items {
                        let item = self.resolve(item, at).await?;
                        from_secret |= item.from_secret;
                        list.push(item.value);
                    }
                    Ok(Resolved {
                        value: Value::Array(list),
                        from_secret,
                    })
                }
                Yaml::Mapping(mapping) => {
                    let mut object = serde_json::Map::with_capacity(mapping.len());
                    let mut from_secret = false;
                    for (key, item) in mapping {
                        let key = key_string(key, at)?;
                        let item = self.resolve(item, at).await?;
                        from_secret |= item.from_secret;
                        object.insert(key, item.value);
                    }
                    Ok(Resolved {
                        value: Value::Object(object),
                        from_secret,
                    })
                }
                Yaml::Tagged(tagged) => Err(Error::invalid(
                    at,
                    format!("YAML tags such as `{}` are not supported", tagged.tag),
                )),
            }
        })
    }

    async fn string(&self, text: String, at: &Location) -> Result<Resolved, Error> {
        let secret_error = |error| Error::secret(at, error);
        match reference(&text) {
            None => Ok(Resolved {
                value: Value::String(text),
                from_secret: false,
            }),
            Some(Reference::Env(name)) => {
                check_name(name, "an environment variable", at)?;
                match (self.env)(name) {
                    Some(value) => Ok(Resolved {
                        value: Value::String(value),
                        from_secret: false,
                    }),
                    None => Err(Error::EnvVarNotSet {
                        at: at.clone(),
                        name: name.to_owned(),
                    }),
                }
            }
            Some(Reference::Secret { name, .. }) if self.secrets.leaves_unread() => {
                check_name(name, "a secret", at)?;
                Ok(Resolved {
                    value: Value::Null,
                    from_secret: true,
                })
            }
            Some(Reference::Secret { name, field: None }) => {
                check_name(name, "a secret", at)?;
                let secret = self
                    .secrets
                    .secret_string(name)
                    .await
                    .map_err(secret_error)?;
                let value = Value::String(secret.expose_secret().to_owned());
                Ok(Resolved {
                    value,
                    from_secret: true,
                })
            }
            Some(Reference::Secret {
                name,
                field: Some(field),
            }) => {
                check_name(name, "a secret", at)?;
                check_name(field, "a secret field", at)?;
                let value = secrets::secret_field(self.secrets, name, field)
                    .await
                    .map_err(secret_error)?;
                Ok(Resolved {
                    value,
                    from_secret: true,
                })
            }
        }
    }
}

fn check_name(name: &str, what: &str, at: &Location) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid(
            at,
            format!(
                "the reference names no {what}: write `{{{{NAME}}}}`, `{{{{secret:NAME}}}}` or \
                 `{{{{secret:NAME#field}}}}`"
            ),
        ));
    }
    Ok(())
}

/// A YAML number as a JSON number (which has no NaN or infinity).
fn number(n: &serde_norway::Number, at: &Location) -> Result<Value, Error> {
    if let Some(u) = n.as_u64() {
        Ok(Value::from(u))
    } else if let Some(i) = n.as_i64() {
        Ok(Value::from(i))
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| Error::invalid(at, format!("the number {n} is not supported")))
    }
}

/// A mapping key as a string: strings as they are, numbers and booleans written out.
pub(crate) fn key_string(key: serde_norway::Value, at: &Location) -> Result<String, Error> {
    match key {
        serde_norway::Value::String(s) => Ok(s),
        serde_norway::Value::Bool(b) => Ok(b.to_string()),
        serde_norway::Value::Number(n) => Ok(n.to_string()),
        _ => Err(Error::invalid(at, "a mapping key must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::{Reference, reference};

    #[test]
    fn only_whole_values_in_double_braces_are_references() {
        assert_eq!(reference("{{PG_PASS}}"), Some(Reference::Env("PG_PASS")));
        assert_eq!(reference("{{ PG_PASS }}"), Some(Reference::Env("PG_PASS")));
        assert_eq!(
            reference("{{secret:db#pg-password}}"),
            Some(Reference::Secret {
                name: "db",
                field: Some("pg-password")
            })
        );
        assert_eq!(
            reference("{{ secret:arn:aws:secretsmanager:eu-west-1:1:secret:db-AbC }}"),
            Some(Reference::Secret {
                name: "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbC",
                field: None
            })
        );
        assert_eq!(reference("x{{PG_PASS}}"), None);
        assert_eq!(reference("{{A}}-{{B}}"), None);
        assert_eq!(reference("{PG_PASS}"), None);
    }
}

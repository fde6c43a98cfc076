//! Answers shaped by the selection set: a root field's resolver returns plain JSON (objects in a
//! union or interface position carry `__typename`), and [`shape`] hands it to apollo-compiler's
//! executor, which picks the selected fields, aliases and fragments and coerces the leaves.

use apollo_compiler::Schema;
use apollo_compiler::ast::Type;
use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::JsonValue;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use serde_json::{Map, Value};

/// `value` as the executor's answer for a field of type `ty`.
pub(super) fn shape<'a>(schema: &'a Valid<Schema>, ty: &Type, value: Value) -> ResolvedValue<'a> {
    if value.is_null() {
        return ResolvedValue::null();
    }
    if ty.is_list() {
        let item_type = ty.item_type().clone();
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        return ResolvedValue::List(Box::new(
            items
                .into_iter()
                .map(move |item| Ok(shape(schema, &item_type, item))),
        ));
    }
    let name = ty.inner_named_type();
    let type_name = match schema.types.get(name) {
        Some(ExtendedType::Object(_)) => name.to_string(),
        Some(ExtendedType::Union(_) | ExtendedType::Interface(_)) => {
            value["__typename"].as_str().unwrap_or_default().to_owned()
        }
        _ => return ResolvedValue::Leaf(to_response_json(value)),
    };
    match value {
        Value::Object(fields) => ResolvedValue::object(JsonObject { type_name, fields }),
        other => ResolvedValue::Leaf(to_response_json(other)),
    }
}

/// An object of the answer, its fields looked up by name.
struct JsonObject {
    type_name: String,
    fields: Map<String, Value>,
}

impl ObjectValue for JsonObject {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let value = self
            .fields
            .get(info.field_name())
            .cloned()
            .unwrap_or(Value::Null);
        Ok(shape(info.schema(), &info.field_definition().ty, value))
    }
}

/// serde_json's value as the executor's (serde_json_bytes) value.
fn to_response_json(value: Value) -> JsonValue {
    match value {
        Value::Null => JsonValue::Null,
        Value::Bool(b) => JsonValue::Bool(b),
        Value::Number(n) => JsonValue::Number(n),
        Value::String(s) => JsonValue::String(s.into()),
        Value::Array(items) => JsonValue::Array(items.into_iter().map(to_response_json).collect()),
        Value::Object(map) => JsonValue::Object(
            map.into_iter()
                .map(|(k, v)| (k.into(), to_response_json(v)))
                .collect(),
        ),
    }
}

/// The coerced arguments of a field as `T`.
pub(super) fn arguments<T: serde::de::DeserializeOwned>(
    info: &ResolveInfo<'_>,
) -> Result<T, FieldError> {
    apollo_compiler::response::serde_json_bytes::from_value(JsonValue::Object(
        info.arguments().clone(),
    ))
    .map_err(|error| FieldError {
        message: format!("arguments of {}: {error}", info.field_name()),
    })
}

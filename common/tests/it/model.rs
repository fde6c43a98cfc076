//! The wire model against hand-written samples (`tests/fixtures/model/`): each sample parses
//! into its Rust type and serializes back to the same JSON value, which proves the exact field
//! names and that no field is lost; plus the export document's YAML form, its nulls, its
//! unknown keys and the enums' wire names.

use std::error::Error;
use std::path::Path;

use raito_common::model::Tag;
use raito_common::model::access::{
    AccessProvider, AccessProviderFeedback, Action, DataObjectReference, ExportDocument,
    ExportedAccessProvider, FeedbackElement, inherit_from_raito_id,
};
use raito_common::model::data_source::{
    DataObject, DataSourceMetaData, GlobalPermission, feature, object_type,
};
use raito_common::model::identity::{Group, IdentityStoreMetaData, User};
use raito_common::model::usage::{Statement, UsageGlobalPermission};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn Error>>;

fn fixture(name: &str) -> Result<String, Box<dyn Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/model")
        .join(name);
    std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Parses the JSON sample into `T`, serializes it again and checks it is the same JSON value.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> Result<T, Box<dyn Error>> {
    let text = fixture(name)?;
    let original: Value = serde_json::from_str(&text)?;
    let parsed: T = serde_json::from_str(&text)?;
    let written = serde_json::to_value(&parsed)?;
    assert_eq!(written, original, "{name} changed in a round trip");
    Ok(parsed)
}

/// Go: raito-io/cli `base/identity_store/exporter.go` (`User`).
#[test]
fn user_round_trips_with_exact_field_names() -> TestResult {
    let user: User = round_trip("user.json")?;
    assert_eq!(user.user_name, "jane.doe");
    assert_eq!(user.group_external_ids.len(), 2);
    assert_eq!(user.is_machine, Some(false));
    Ok(())
}

#[test]
fn user_without_is_machine_leaves_the_field_out() -> TestResult {
    let user = User {
        external_id: "u1".into(),
        ..User::default()
    };
    let written = serde_json::to_value(&user)?;
    assert_eq!(
        written,
        json!({"externalId": "u1", "name": "", "userName": "", "email": "",
               "groupExternalIds": [], "tags": []})
    );
    Ok(())
}

/// Go: raito-io/cli `base/identity_store/exporter.go` (`Group`).
#[test]
fn group_round_trips_with_exact_field_names() -> TestResult {
    let group: Group = round_trip("group.json")?;
    assert_eq!(group.display_name, "Finance Analysts");
    assert_eq!(group.parent_group_external_ids, ["00g5f4d3s2A1p0o9i8u7"]);
    assert_eq!(
        group.tags,
        [Tag {
            key: "managedBy".into(),
            value: "hr-sync".into(),
            source: "Okta".into()
        }]
    );
    Ok(())
}

/// Go: raito-io/cli `base/identity_store/api.go` (`MetaData`).
#[test]
fn identity_store_metadata_round_trips_with_exact_field_names() -> TestResult {
    let metadata: IdentityStoreMetaData = round_trip("identity_store_metadata.json")?;
    assert_eq!(metadata.r#type, "okta");
    assert!(metadata.can_be_linked && metadata.can_be_master);
    Ok(())
}

/// Go: raito-io/cli `base/data_source/exporter.go` (`DataObject`).
#[test]
fn column_data_object_round_trips_with_its_data_type() -> TestResult {
    let column: DataObject = round_trip("data_object_column.json")?;
    assert_eq!(column.r#type, object_type::COLUMN);
    assert_eq!(column.data_type.as_deref(), Some("numeric(12,2)"));
    assert_eq!(column.parent_external_id, "analytics.finance.invoices");
    Ok(())
}

/// Go: raito-io/cli `base/data_source/datasource_details.go` (the data source element).
#[test]
fn datasource_element_round_trips_without_a_data_type() -> TestResult {
    let datasource: DataObject = round_trip("data_object_datasource.json")?;
    assert_eq!(datasource.r#type, object_type::DATASOURCE);
    assert_eq!(datasource.parent_external_id, "");
    assert_eq!(datasource.data_type, None);
    Ok(())
}

/// Go: raito-io/cli `base/data_source/data_source.pb.go` (`MetaData`, its JSON names).
#[test]
fn data_source_metadata_round_trips_with_exact_field_names() -> TestResult {
    let metadata: DataSourceMetaData = round_trip("data_source_metadata.json")?;
    assert!(metadata.supports_ap_inheritance);
    assert_eq!(
        metadata.supported_features,
        [feature::COLUMN_MASKING, feature::ROW_FILTERING]
    );
    let table = metadata
        .data_object_types
        .iter()
        .find(|t| t.name == object_type::TABLE)
        .ok_or("no table type")?;
    let ownership = table
        .permissions
        .iter()
        .find(|p| p.permission == "OWNERSHIP")
        .ok_or("no OWNERSHIP")?;
    assert!(ownership.cannot_be_granted);
    assert_eq!(
        metadata.usage_meta_info.as_ref().map(|u| u.levels.len()),
        Some(2)
    );
    assert_eq!(
        metadata.access_provider_types[1]
            .common_parent_type
            .as_deref(),
        Some("table")
    );
    assert!(metadata.masking_metadata.is_some() && metadata.share_metadata.is_none());
    Ok(())
}

#[test]
fn empty_data_source_metadata_sends_only_supports_ap_inheritance() -> TestResult {
    let written = serde_json::to_value(DataSourceMetaData::default())?;
    assert_eq!(written, json!({"supportsApInheritance": false}));
    Ok(())
}

/// Go: raito-io/cli `base/access_provider/sync_from_target/model.go` (`AccessProvider`).
#[test]
fn imported_access_provider_with_locks_round_trips() -> TestResult {
    let ap: AccessProvider = round_trip("access_provider_import.json")?;
    assert_eq!(ap.action, Action::Grant);
    assert!(ap.not_internalizable);
    assert_eq!(ap.who_locked, Some(true));
    assert_eq!(ap.name_locked_reason.as_deref(), Some("predefined role"));
    let who = ap.who.ok_or("no who")?;
    assert_eq!(who.access_providers, ["analytics_readers"]);
    assert_eq!(
        ap.what[0].data_object,
        DataObjectReference::new("analytics.finance.invoices", "table")
    );
    Ok(())
}

/// Go: raito-io/cli `base/access_provider/sync_to_target/model.go` (`AccessProviderImport`).
#[test]
fn export_document_json_round_trips_with_exact_field_names() -> TestResult {
    let export: ExportDocument = round_trip("export.json")?;
    assert_eq!(export.last_calculated, 1_731_923_400);
    assert_eq!(export.file_build_time, Some(1_731_923_412_345));
    let actions: Vec<Action> = export.access_providers.iter().map(|a| a.action).collect();
    assert_eq!(
        actions,
        [Action::Grant, Action::Mask, Action::Filtered, Action::Grant]
    );

    let grant = &export.access_providers[0];
    assert_eq!(
        grant
            .who
            .inherit_from
            .iter()
            .map(|e| inherit_from_raito_id(e))
            .collect::<Vec<_>>(),
        [None, Some("RebzHIG6rJ6fi33qug47r")]
    );
    assert_eq!(
        grant.deleted_who.as_ref().map(|w| w.users.clone()),
        Some(vec!["former.employee".to_owned()])
    );
    assert_eq!(
        grant.what[0].data_object.id.as_deref(),
        Some("o4tabSqMy56gzoeEjJxI9")
    );
    assert_eq!(grant.owners.len(), 2);

    let filter = &export.access_providers[2];
    assert_eq!(filter.policy_rule.as_deref(), Some("{region} = 'EU'"));
    assert!(filter.filter_criteria.is_some());
    assert!(export.access_providers[3].delete);
    assert!(
        export
            .access_providers
            .iter()
            .all(|ap| ap.unknown_field_paths().is_empty())
    );
    assert!(export.unknown_field_paths().is_empty());
    Ok(())
}

#[test]
fn export_document_yaml_parses_to_the_same_value_as_its_json_twin() -> TestResult {
    let from_json: ExportDocument = serde_json::from_str(&fixture("export.json")?)?;
    let from_yaml: ExportDocument = serde_norway::from_str(&fixture("export.yaml")?)?;
    assert_eq!(from_yaml, from_json);
    assert_eq!(
        serde_json::to_value(&from_yaml)?,
        serde_json::to_value(&from_json)?
    );
    Ok(())
}

/// Choice: the export document neither rejects nor drops keys it does not know. Raito Cloud
/// adds fields without notice (real exports carry `dataObject.id`, unknown to the Go CLI), and
/// Go ignores them (`sync_to_target/access_provider_file_parser.go`); dropping them silently
/// would hide what Raito sent. They are kept, written back, and listed per access provider so
/// the pipeline warns about each in that access provider's feedback.
#[test]
fn unknown_and_misspelled_export_fields_are_kept_and_reported_not_silently_dropped() -> TestResult {
    let text = r#"{
        "lastCalculated": 1,
        "exportVersion": 2,
        "accessProviders": [{
            "id": "ap1", "name": "R1", "description": "", "namingHint": "R1",
            "action": "grant", "delete": false,
            "deleet": true,
            "who": {"users": ["a"], "usersInGroups": ["b"]},
            "what": [{"dataObject": {"fullName": "db.s.t", "type": "table", "columns": ["c"]},
                      "permissions": ["SELECT"], "globalPermissions": ["read"]}],
            "deleteWhat": [],
            "owners": [{"email": "o@example.com", "team": "x"}]
        }]
    }"#;
    let export: ExportDocument = serde_json::from_str(text)?;
    assert_eq!(export.unknown_field_paths(), ["exportVersion"]);
    let ap = &export.access_providers[0];
    assert!(
        !ap.delete,
        "the misspelled `deleet` must not count as `delete`"
    );
    assert_eq!(
        ap.unknown_field_paths(),
        [
            "deleet",
            "who.usersInGroups",
            "what[0].globalPermissions",
            "what[0].dataObject.columns",
            "owners[0].team",
        ]
    );
    // Nothing is lost: the document is written back with the unknown keys as received.
    let original: Value = serde_json::from_str(text)?;
    assert_eq!(serde_json::to_value(&export)?, original);
    Ok(())
}

#[test]
fn export_document_reads_null_as_absent() -> TestResult {
    let yaml = r#"
lastCalculated: 5
accessProviders:
  - id: ap1
    name: null
    description: null
    namingHint: R1
    type: null
    externalId: null
    action: grant
    who:
      users: null
    deletedWho: null
    delete: null
    actualName: null
    what: null
    deleteWhat: null
    owners: null
"#;
    let export: ExportDocument = serde_norway::from_str(yaml)?;
    let ap = &export.access_providers[0];
    assert_eq!(
        ap,
        &ExportedAccessProvider {
            id: "ap1".into(),
            naming_hint: "R1".into(),
            action: Action::Grant,
            ..ExportedAccessProvider::default()
        }
    );
    let no_providers: ExportDocument =
        serde_json::from_str(r#"{"lastCalculated": 5, "accessProviders": null}"#)?;
    assert!(no_providers.access_providers.is_empty());
    Ok(())
}

#[test]
fn exported_access_provider_without_id_is_rejected_and_without_action_is_a_promise() -> TestResult {
    let no_id = r#"{"lastCalculated": 1, "accessProviders": [{"action": "grant"}]}"#;
    assert!(serde_json::from_str::<ExportDocument>(no_id).is_err());
    // Go's zero Action is Promise (raito-io/cli base/access_provider/types/action.go).
    for no_action in [
        r#"{"lastCalculated": 1, "accessProviders": [{"id": "ap1"}]}"#,
        r#"{"lastCalculated": 1, "accessProviders": [{"id": "ap1", "action": null}]}"#,
    ] {
        let export: ExportDocument = serde_json::from_str(no_action)?;
        assert_eq!(export.access_providers[0].action, Action::Promise);
    }
    Ok(())
}

#[test]
fn actions_are_read_in_any_case_and_written_in_lower_case() -> TestResult {
    for (wire, action) in [
        ("grant", Action::Grant),
        ("Deny", Action::Deny),
        ("MASK", Action::Mask),
        ("filtered", Action::Filtered),
        ("share", Action::Share),
        ("promise", Action::Promise),
        ("Purpose", Action::Purpose),
    ] {
        let parsed: Action = serde_json::from_value(json!(wire))?;
        assert_eq!(parsed, action);
        assert_eq!(serde_json::to_value(action)?, json!(wire.to_lowercase()));
    }
    assert!(Action::Promise.is_deprecated() && Action::Purpose.is_deprecated());
    assert!(!Action::Grant.is_deprecated());
    Ok(())
}

#[test]
fn an_unknown_action_is_an_error_naming_the_value() {
    let result = serde_json::from_str::<ExportDocument>(
        r#"{"lastCalculated": 1, "accessProviders": [{"id": "ap1", "action": "revoke"}]}"#,
    );
    let Err(error) = result else {
        panic!("an unknown action was accepted");
    };
    assert!(error.to_string().contains("\"revoke\""), "{error}");
}

/// The feedback file Raito imports: Go's nested legacy shape, written from the JSON tags of
/// `accessProviderFeedbackInformation` and `accessSyncFeedbackInformation`
/// (raito-io/cli `base/access_provider/sync_to_target/model.go`) as `AddAccessProviderFeedback`
/// (`sync_to_target.go`) fills them: every key present, `null` for nil.
#[test]
fn feedback_is_written_in_the_go_cli_nested_shape() -> TestResult {
    let elements: Vec<FeedbackElement> = round_trip("feedback.json")?;
    let written: Vec<FeedbackElement> = [
        AccessProviderFeedback {
            access_provider: "8VVXtWDQ2ftOozak-YJXd".into(),
            actual_name: "FINANCE_ANALYSTS_READ".into(),
            external_id: Some("FINANCE_ANALYSTS_READ".into()),
            r#type: Some("role".into()),
            errors: Vec::new(),
            warnings: vec![
                "permission TRIGGER on analytics.finance.invoices is not granted: not in the metadata"
                    .into(),
            ],
        },
        AccessProviderFeedback {
            access_provider: "qSH6VcKUQgyEUNvDwV5u7".into(),
            errors: vec![
                "masking policy INVOICE_EMAIL_MASK_3F2A: column analytics.finance.invoices.email does not exist"
                    .into(),
            ],
            ..AccessProviderFeedback::default()
        },
    ]
    .iter()
    .map(FeedbackElement::from)
    .collect();
    assert_eq!(written, elements);
    assert_eq!(
        serde_json::to_value(&written)?,
        serde_json::from_str::<Value>(&fixture("feedback.json")?)?,
        "the shape of model.go's accessProviderFeedbackInformation changed"
    );
    Ok(())
}

/// Go: raito-io/cli `base/data_usage/exporter.go` (`Statement`).
#[test]
fn usage_statement_round_trips_with_exact_field_names() -> TestResult {
    let statement: Statement = round_trip("usage_statement.json")?;
    assert!(statement.success);
    assert_eq!(statement.end_time - statement.start_time, 2);
    assert_eq!(
        statement.accessed_data_objects[0].global_permission,
        UsageGlobalPermission::Read
    );
    Ok(())
}

#[test]
fn usage_global_permissions_have_their_wire_names() -> TestResult {
    for (wire, permission) in [
        ("unknownaction", UsageGlobalPermission::UnknownAction),
        ("read", UsageGlobalPermission::Read),
        ("write", UsageGlobalPermission::Write),
        ("admin", UsageGlobalPermission::Admin),
    ] {
        assert_eq!(serde_json::to_value(permission)?, json!(wire));
        assert_eq!(
            serde_json::from_value::<UsageGlobalPermission>(json!(wire))?,
            permission
        );
    }
    Ok(())
}

#[test]
fn global_permissions_are_lower_case_and_admin_implies_write_implies_read() -> TestResult {
    assert_eq!(
        serde_json::to_value([
            GlobalPermission::Read,
            GlobalPermission::Write,
            GlobalPermission::Admin
        ])?,
        json!(["read", "write", "admin"])
    );
    assert_eq!(GlobalPermission::Write.as_str(), "write");
    assert!(GlobalPermission::Admin.implies(GlobalPermission::Read));
    assert!(GlobalPermission::Write.implies(GlobalPermission::Read));
    assert!(!GlobalPermission::Read.implies(GlobalPermission::Write));
    Ok(())
}

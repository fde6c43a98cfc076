//! The Snowflake access sync. Built so far: the import (target → Raito, [`import`]) of the
//! account roles and, with `sf-database-roles`, the database roles, as access providers named,
//! typed and locked exactly as the Go connector imports them (raito-io/cli-plugin-snowflake
//! snowflake/data_access_sync_from_target.go), so a customer moving from the Go CLI keeps
//! every access provider's external id.
//!
//! Not yet: outbound shares as access providers, application roles (`sf-applications`),
//! masking and row access policies, the tags of roles, and the apply (Raito → target). Until
//! the apply exists the connector offers no access step: [`import::import`] is called by the
//! tests only.

pub mod import;

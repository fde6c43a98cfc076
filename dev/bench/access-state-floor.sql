-- The floor of the access bench's no-op re-run: the cheapest way this server can hand out the
-- state an unchanged apply must compare against, in one query per database (the bench has
-- one): every role with its comment (Raito's marker), every membership, and every privilege
-- granted on the database, its schemas, relations and columns (aclexplode of each ACL),
-- streamed by psql as COPY. No ordering, no diff, no statement: whatever the connector does
-- beyond this (reading it in its own shape, diffing 10,000 access providers) is its cost over
-- the floor: `dev/bench.sh access` reports the ratio.
COPY (
SELECT 'role', r.rolname, NULL::text, NULL::text, d.description
FROM pg_catalog.pg_roles r
LEFT JOIN pg_catalog.pg_shdescription d ON d.objoid = r.oid
  AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
UNION ALL
SELECT 'member', r.rolname, m.rolname, NULL, NULL
FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles r ON r.oid = am.roleid
JOIN pg_catalog.pg_roles m ON m.oid = am.member
UNION ALL
SELECT 'database', a.grantee::pg_catalog.regrole::text, a.privilege_type, d.datname, NULL
FROM pg_catalog.pg_database d, pg_catalog.aclexplode(d.datacl) a
WHERE d.datname = pg_catalog.current_database()
UNION ALL
SELECT 'schema', a.grantee::pg_catalog.regrole::text, a.privilege_type, n.nspname, NULL
FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
UNION ALL
SELECT 'relation', a.grantee::pg_catalog.regrole::text, a.privilege_type, c.oid::pg_catalog.regclass::text, NULL
FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
UNION ALL
SELECT 'column', a.grantee::pg_catalog.regrole::text, a.privilege_type,
       at.attrelid::pg_catalog.regclass::text || '.' || at.attname, NULL
FROM pg_catalog.pg_attribute at, pg_catalog.aclexplode(at.attacl) a
WHERE at.attacl IS NOT NULL
) TO STDOUT;

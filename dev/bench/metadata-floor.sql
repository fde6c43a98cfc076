-- The floor of the metadata benchmark: the cheapest way this server can hand out the same
-- information the connector sends (every schema, relation and column with its kind, type and
-- description), streamed by psql as one COPY. One plain join of pg_namespace, pg_class,
-- pg_attribute and pg_description, with format_type for the column types: no ordering, no
-- partition tree, no per-row function call such as obj_description() (each a catalog lookup
-- of its own). Whatever the connector does beyond this (parent-before-child order, partitions,
-- JSON, the output file) is its cost over the floor: `dev/bench.sh metadata` reports the ratio.
COPY (
SELECT n.nspname, sd.description
FROM pg_catalog.pg_namespace n
LEFT JOIN pg_catalog.pg_description sd ON sd.objoid = n.oid
  AND sd.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND sd.objsubid = 0
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
) TO STDOUT;
COPY (
SELECT n.nspname, c.relname, c.relkind, d.description, a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod), ad.description
FROM pg_catalog.pg_namespace n
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_description d ON d.objoid = c.oid
  AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
LEFT JOIN pg_catalog.pg_description ad ON ad.objoid = c.oid
  AND ad.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND ad.objsubid = a.attnum
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
) TO STDOUT;

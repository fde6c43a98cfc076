-- A sample PostgreSQL warehouse for the demo (dev/demo.sh) and the benchmark (dev/bench.sh):
-- several databases, each with several schemas; tables with comments, views, a materialized
-- view, partitioned tables, a foreign table (file_fdw), columns of many data types, a few roles
-- and grants, and awkward names: dots, double quotes, spaces, mixed case, non-ASCII, emoji, a
-- column-less table.
--
-- Load with psql as a superuser, connected to any database of the cluster:
--   psql -v ON_ERROR_STOP=1 -v demo_csv=/path/readable/by/the/server.csv -f dev/demo/warehouse.sql
-- `demo_csv` is the file the foreign table reads (dev/demo/exchange_rates.csv); without it the
-- foreign table reads /dev/null. Re-loading drops and recreates the databases (roles are kept).

\set ON_ERROR_STOP on
\if :{?demo_csv}
\else
\set demo_csv /dev/null
\endif
SET client_min_messages = warning;

-- ---------------------------------------------------------------------------------------------
-- Roles (cluster-wide; kept across re-loads)
-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['analyst', 'Data Engineers', 'marie.curie', 'finance_ro', 'José']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;
ALTER ROLE "marie.curie" LOGIN;
GRANT analyst TO "marie.curie";
GRANT "Data Engineers" TO "José";

DROP DATABASE IF EXISTS sales WITH (FORCE);
DROP DATABASE IF EXISTS marketing WITH (FORCE);
DROP DATABASE IF EXISTS "Finance Dept" WITH (FORCE);
DROP DATABASE IF EXISTS "café.Lab" WITH (FORCE);

CREATE DATABASE sales;
COMMENT ON DATABASE sales IS 'Orders, customers and products of the web shop';
CREATE DATABASE marketing;
COMMENT ON DATABASE marketing IS 'Campaigns and web analytics';
CREATE DATABASE "Finance Dept";
COMMENT ON DATABASE "Finance Dept" IS 'Ledger and reporting (a database name with a space)';
CREATE DATABASE "café.Lab";
COMMENT ON DATABASE "café.Lab" IS 'Experiments: a database name with non-ASCII, a dot and mixed case';

-- =============================================================================================
\connect sales
-- =============================================================================================
SET client_min_messages = warning;

CREATE SCHEMA crm;
COMMENT ON SCHEMA crm IS 'Customer relationship data';
CREATE SCHEMA "Order.History";
COMMENT ON SCHEMA "Order.History" IS 'A schema name with a dot';
CREATE SCHEMA "Mixed Case Schema";
CREATE SCHEMA catalog;

CREATE TYPE crm.customer_tier AS ENUM ('bronze', 'silver', 'gold');
CREATE DOMAIN crm.email AS varchar(320) CHECK (VALUE LIKE '%@%');
CREATE TYPE crm.address AS (street text, city text, postal_code varchar(16), country char(2));

CREATE TABLE crm.customers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL,
    email           crm.email UNIQUE,
    tier            crm.customer_tier NOT NULL DEFAULT 'bronze',
    birth_date      date,
    is_active       boolean NOT NULL DEFAULT true,
    lifetime_value  numeric(12, 2) NOT NULL DEFAULT 0,
    credit_limit    money,
    score           real,
    risk            double precision,
    tags            text[],
    preferences     jsonb,
    address         crm.address,
    last_login_ip   inet,
    external_ref    uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    name_search     tsvector GENERATED ALWAYS AS (to_tsvector('simple', name)) STORED
);
COMMENT ON TABLE crm.customers IS 'One row per customer; contains personal data';
COMMENT ON COLUMN crm.customers.email IS 'Primary e-mail address (PII)';
COMMENT ON COLUMN crm.customers.birth_date IS 'Date of birth (PII)';
COMMENT ON COLUMN crm.customers.lifetime_value IS 'Sum of all paid orders, in EUR';

CREATE TABLE crm.orders (
    order_id    bigint NOT NULL,
    customer_id bigint NOT NULL REFERENCES crm.customers (id),
    order_date  date NOT NULL,
    status      varchar(20) NOT NULL DEFAULT 'new',
    total       numeric(12, 2) NOT NULL,
    PRIMARY KEY (order_id, order_date)
) PARTITION BY RANGE (order_date);
COMMENT ON TABLE crm.orders IS 'Orders, partitioned by year';
CREATE TABLE crm.orders_2025 PARTITION OF crm.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE crm.orders_2026 PARTITION OF crm.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE crm.orders_other PARTITION OF crm.orders DEFAULT;
COMMENT ON TABLE crm.orders_other IS 'Default partition: orders outside the yearly ranges';

CREATE TABLE crm.empty_marker ();
COMMENT ON TABLE crm.empty_marker IS 'A table without columns';

CREATE UNLOGGED TABLE crm.session_cache (
    session_id uuid PRIMARY KEY,
    payload    bytea,
    expires_at timestamp without time zone
);

INSERT INTO crm.customers (name, email, tier, birth_date, lifetime_value, tags, preferences, address, last_login_ip, external_ref)
VALUES
    ('Ada Lovelace', 'ada@example.com', 'gold', '1815-12-10', 1234.50, '{vip,early}', '{"newsletter": true}', ROW('1 St James Sq', 'London', 'SW1Y', 'GB'), '192.0.2.10', '6f1c1e0e-7f5e-4a8e-9a57-1d2b3c4d5e6f'),
    ('Grace Hopper', 'grace@example.com', 'silver', '1906-12-09', 99.99, '{navy}', '{}', ROW('1 Main St', 'New York', '10001', 'US'), '2001:db8::1', NULL),
    ('Émile Zola', 'emile@example.fr', 'bronze', NULL, 0, NULL, NULL, NULL, NULL, NULL);
INSERT INTO crm.orders VALUES
    (1, 1, '2025-03-14', 'paid', 100.00),
    (2, 1, '2026-01-02', 'paid', 1134.50),
    (3, 2, '2024-12-31', 'refunded', 99.99);

CREATE VIEW crm.active_customers AS
    SELECT id, name, email, tier FROM crm.customers WHERE is_active;
COMMENT ON VIEW crm.active_customers IS 'Customers that can log in';

CREATE MATERIALIZED VIEW crm.revenue_by_month AS
    SELECT date_trunc('month', order_date)::date AS month, count(*) AS orders, sum(total) AS revenue
    FROM crm.orders WHERE status = 'paid' GROUP BY 1;
COMMENT ON MATERIALIZED VIEW crm.revenue_by_month IS 'Paid revenue per month (refreshed nightly)';

CREATE TABLE catalog.products (
    sku         char(12) PRIMARY KEY,
    title       varchar(200) NOT NULL,
    description text,
    price       numeric(10, 2) NOT NULL,
    weight_kg   numeric,
    dimensions  point,
    stock       integer NOT NULL DEFAULT 0,
    reorder_at  smallint,
    flags       bit(8),
    variants    bit varying(64),
    valid_for   daterange,
    spec        xml,
    attributes  json,
    mac         macaddr,
    network     cidr,
    restock_in  interval,
    opens_at    time,
    closes_at   time with time zone
);
COMMENT ON TABLE catalog.products IS 'Sellable products';
CREATE SEQUENCE catalog.sku_seq;

CREATE TABLE "Order.History"."line.items" (
    "order.id"   bigint,
    "Line No"    integer,
    "unit price" numeric(10, 2),
    "Quantity"   integer,
    "café crème" boolean,
    "🚀 launch"  date
);
COMMENT ON TABLE "Order.History"."line.items" IS 'Dots in schema, table and column names';
COMMENT ON COLUMN "Order.History"."line.items"."unit price" IS 'Price per unit, in EUR';

CREATE TABLE "Mixed Case Schema"."Table ""with"" quotes" (
    "Column ""quoted""" text,
    "UPPER" int,
    lower int,
    " padded " text,
    "back\slash" text
);
COMMENT ON TABLE "Mixed Case Schema"."Table ""with"" quotes" IS 'Double quotes, spaces and a backslash in names';
CREATE VIEW "Mixed Case Schema"."View Of ""Quotes""" AS
    SELECT "Column ""quoted""", "UPPER" FROM "Mixed Case Schema"."Table ""with"" quotes";

CREATE TABLE public.audit_log (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), entry jsonb);

CREATE FUNCTION crm.customer_count() RETURNS bigint LANGUAGE sql STABLE
    AS 'SELECT count(*) FROM crm.customers';

GRANT USAGE ON SCHEMA crm, catalog TO analyst;
GRANT SELECT ON crm.active_customers, crm.revenue_by_month, catalog.products TO analyst;
GRANT ALL ON SCHEMA crm TO "Data Engineers";
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA crm TO "Data Engineers";
GRANT SELECT ("order.id", "unit price") ON "Order.History"."line.items" TO "marie.curie";

-- =============================================================================================
\connect marketing
-- =============================================================================================
SET client_min_messages = warning;

CREATE SCHEMA campaigns;
COMMENT ON SCHEMA campaigns IS 'Paid and organic campaigns';
CREATE SCHEMA web_analytics;
CREATE SCHEMA "ünïcødé";
COMMENT ON SCHEMA "ünïcødé" IS 'A schema name with non-ASCII letters';

CREATE TABLE campaigns.campaigns (
    id         serial PRIMARY KEY,
    name       varchar(100) NOT NULL,
    channel    text NOT NULL,
    budget     numeric(14, 2),
    starts_on  date,
    ends_on    date,
    active     boolean GENERATED ALWAYS AS (ends_on IS NULL) STORED
);
COMMENT ON TABLE campaigns.campaigns IS 'Every campaign ever run';
COMMENT ON COLUMN campaigns.campaigns.budget IS 'Planned spend, in EUR';

-- Two-level partitioning: by channel, then by month.
CREATE TABLE web_analytics.events (
    event_id   bigint NOT NULL,
    channel    text NOT NULL,
    at         timestamp NOT NULL,
    visitor    uuid,
    url        text,
    properties jsonb
) PARTITION BY LIST (channel);
COMMENT ON TABLE web_analytics.events IS 'Raw click stream';
CREATE TABLE web_analytics.events_web PARTITION OF web_analytics.events FOR VALUES IN ('web')
    PARTITION BY RANGE (at);
CREATE TABLE web_analytics.events_web_2026_01 PARTITION OF web_analytics.events_web
    FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE web_analytics.events_web_2026_02 PARTITION OF web_analytics.events_web
    FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
CREATE TABLE web_analytics.events_app PARTITION OF web_analytics.events FOR VALUES IN ('ios', 'android');

CREATE VIEW web_analytics.daily_visitors AS
    SELECT at::date AS day, count(DISTINCT visitor) AS visitors FROM web_analytics.events GROUP BY 1;

CREATE TABLE "ünïcødé"."Crème Brûlée" (
    "Größe" numeric,
    "日本語" text,
    "naïve" boolean
);
COMMENT ON TABLE "ünïcødé"."Crème Brûlée" IS 'Non-ASCII table and column names';

INSERT INTO campaigns.campaigns (name, channel, budget, starts_on) VALUES
    ('Spring sale', 'web', 10000, '2026-03-01'),
    ('App launch', 'ios', 25000.5, '2026-01-15');

GRANT USAGE ON SCHEMA campaigns TO analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA campaigns TO analyst;

-- =============================================================================================
\connect "Finance Dept"
-- =============================================================================================
SET client_min_messages = warning;

CREATE EXTENSION file_fdw;
CREATE SERVER csv_files FOREIGN DATA WRAPPER file_fdw;

CREATE SCHEMA ledger;
COMMENT ON SCHEMA ledger IS 'General ledger';
CREATE SCHEMA "reporting.eu";
CREATE SCHEMA "Q4 Close";

CREATE TABLE ledger.accounts (
    account_no  varchar(10) PRIMARY KEY,
    name        text NOT NULL,
    kind        char(1) NOT NULL CHECK (kind IN ('A', 'L', 'E', 'R', 'X')),
    parent      varchar(10) REFERENCES ledger.accounts (account_no)
);
COMMENT ON TABLE ledger.accounts IS 'Chart of accounts';

CREATE TABLE ledger.entries (
    entry_id   bigint GENERATED BY DEFAULT AS IDENTITY,
    booked_on  date NOT NULL,
    account_no varchar(10) NOT NULL,
    amount     numeric(18, 2) NOT NULL,
    currency   char(3) NOT NULL DEFAULT 'EUR',
    memo       text
) PARTITION BY HASH (entry_id);
COMMENT ON TABLE ledger.entries IS 'Journal entries, hash-partitioned';
CREATE TABLE ledger.entries_p0 PARTITION OF ledger.entries FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE ledger.entries_p1 PARTITION OF ledger.entries FOR VALUES WITH (MODULUS 2, REMAINDER 1);

CREATE FOREIGN TABLE ledger.exchange_rates (
    currency char(3) NOT NULL,
    rate     numeric(18, 8) NOT NULL,
    as_of    date NOT NULL
) SERVER csv_files OPTIONS (filename :'demo_csv', format 'csv', header 'true');
COMMENT ON FOREIGN TABLE ledger.exchange_rates IS 'Daily EUR exchange rates, read from a CSV file (file_fdw)';
COMMENT ON COLUMN ledger.exchange_rates.rate IS 'Units of currency per EUR';

CREATE VIEW "reporting.eu"."balance.by account" AS
    SELECT a.account_no, a.name, sum(e.amount) AS balance
    FROM ledger.accounts a LEFT JOIN ledger.entries e USING (account_no)
    GROUP BY a.account_no, a.name;
COMMENT ON VIEW "reporting.eu"."balance.by account" IS 'Dots and a space in view names';

CREATE MATERIALIZED VIEW "Q4 Close"."Close Summary" AS
    SELECT currency, count(*) AS entries, sum(amount) AS total FROM ledger.entries GROUP BY currency;

INSERT INTO ledger.accounts VALUES ('1000', 'Cash', 'A', NULL), ('1100', 'Bank', 'A', '1000'), ('4000', 'Revenue', 'R', NULL);
INSERT INTO ledger.entries (booked_on, account_no, amount) VALUES ('2026-01-31', '1100', 1500), ('2026-01-31', '4000', -1500);
REFRESH MATERIALIZED VIEW "Q4 Close"."Close Summary";

GRANT USAGE ON SCHEMA ledger, "reporting.eu" TO finance_ro;
GRANT SELECT ON ALL TABLES IN SCHEMA ledger, "reporting.eu" TO finance_ro;

-- =============================================================================================
\connect "café.Lab"
-- =============================================================================================
SET client_min_messages = warning;

CREATE SCHEMA "Expériences";
CREATE SCHEMA scratch;
COMMENT ON SCHEMA scratch IS 'Throw-away tables';

CREATE TABLE "Expériences"."Résultats 2026" (
    "essai n°" integer,
    "mesure (µs)" double precision,
    "OK?" boolean,
    "notes.fr" text
);
COMMENT ON TABLE "Expériences"."Résultats 2026" IS 'Measurements';
CREATE TABLE scratch.nothing_here ();
CREATE TABLE scratch."CamelCase" ("someColumn" int, "AnotherColumn" text);
CREATE VIEW scratch.v_camel AS SELECT "someColumn" FROM scratch."CamelCase";

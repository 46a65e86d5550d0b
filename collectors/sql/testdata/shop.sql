-- A small shop schema for the integrity collector's tests, loaded into a template database
-- that every test copies (CREATE DATABASE ... TEMPLATE). The checks of
-- testdata/example/runbook.yaml (orphaned_order_items, negative_stock) run against it.
-- order_items has no foreign key on purpose: like many legacy schemas, orphans can happen,
-- which is what the integrity checks are for.

CREATE TABLE orders (
    id          bigint PRIMARY KEY,
    customer    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT '2026-11-20T10:00:00Z'
);

CREATE TABLE order_items (
    id        bigint PRIMARY KEY,
    order_id  bigint NOT NULL,
    sku       text NOT NULL,
    qty       integer NOT NULL CHECK (qty > 0)
);

CREATE TABLE inventory (
    sku      text PRIMARY KEY,
    on_hand  integer NOT NULL
);

-- golang-migrate's table, as it creates it.
CREATE TABLE schema_migrations (
    version  bigint NOT NULL PRIMARY KEY,
    dirty    boolean NOT NULL
);

-- Flyway's table, as it creates it on PostgreSQL.
CREATE TABLE flyway_schema_history (
    installed_rank  integer NOT NULL PRIMARY KEY,
    version         varchar(50),
    description     varchar(200) NOT NULL,
    type            varchar(20) NOT NULL,
    script          varchar(1000) NOT NULL,
    checksum        integer,
    installed_by    varchar(100) NOT NULL,
    installed_on    timestamp NOT NULL DEFAULT now(),
    execution_time  integer NOT NULL,
    success         boolean NOT NULL
);

INSERT INTO orders (id, customer)
SELECT g, 'customer-' || g FROM generate_series(1, 20) AS g;

INSERT INTO order_items (id, order_id, sku, qty)
SELECT g, (g - 1) % 20 + 1, 'sku-' || (1000 + g % 10), 1 + g % 3 FROM generate_series(1, 40) AS g;

INSERT INTO inventory (sku, on_hand)
SELECT 'sku-' || (1000 + g), 10 * g FROM generate_series(0, 9) AS g;

INSERT INTO schema_migrations (version, dirty) VALUES (42, false);

INSERT INTO flyway_schema_history
    (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
VALUES
    (1, '1',   '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL,       'shop_app', 0,  true),
    (2, '1.1', 'create orders',         'SQL',      'V1_1__create_orders.sql', 1234567,  'shop_app', 12, true),
    (3, '1.2', 'create inventory',      'SQL',      'V1_2__create_inventory.sql', -42,   'shop_app', 9,  true),
    (4, NULL,  'reporting views',       'SQL',      'R__reporting_views.sql', 777,       'shop_app', 5,  true);

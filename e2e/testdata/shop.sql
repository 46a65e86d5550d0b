-- The demo shop's database, as its migrations (golang-migrate, version 3) leave it. The
-- runbook's integrity check, orphaned_order_items, runs against it at every gate.
CREATE TABLE orders (
    id          bigint PRIMARY KEY,
    customer    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_items (
    id        bigint PRIMARY KEY,
    order_id  bigint NOT NULL,
    sku       text NOT NULL,
    qty       integer NOT NULL CHECK (qty > 0)
);

CREATE TABLE schema_migrations (
    version  bigint NOT NULL PRIMARY KEY,
    dirty    boolean NOT NULL
);

INSERT INTO schema_migrations VALUES (3, false);
INSERT INTO orders VALUES (1, 'ada', '2026-11-20T10:00:00Z'), (2, 'grace', '2026-11-21T11:30:00Z');
INSERT INTO order_items VALUES (1, 1, 'tea', 2), (2, 1, 'mug', 1), (3, 2, 'pot', 1);

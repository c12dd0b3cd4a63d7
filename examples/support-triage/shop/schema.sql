-- The fictional Larkspur Home shop that the support-triage agent serves. It lives in its own schema
-- because Keel's tables (keel_*) share the database. Every statement is idempotent, and setup-shop.ts
-- runs them under an advisory lock, so starting two processes at once is safe.
-- setup-shop.ts splits this file on semicolons at the end of a line: keep one statement per `;`.
-- Money is kept in integer cents; the tools present it as decimal strings such as "96.00".

CREATE SCHEMA IF NOT EXISTS shop;

CREATE TABLE IF NOT EXISTS shop.customers (
  id integer PRIMARY KEY,
  first_name text NOT NULL,
  last_name text NOT NULL,
  email text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS shop.orders (
  id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES shop.customers (id),
  status text NOT NULL CHECK (status IN ('processing', 'shipped', 'delivered', 'cancelled')),
  payment_status text NOT NULL CHECK (payment_status IN ('pending', 'paid', 'voided')),
  currency text NOT NULL DEFAULT 'USD',
  total_cents integer NOT NULL CHECK (total_cents >= 0),
  placed_at timestamptz NOT NULL,
  shipped_at timestamptz,
  delivered_at timestamptz,
  cancelled_at timestamptz,
  carrier text,
  tracking_number text,
  -- A shipped order always has a carrier and a tracking number, so answers never have to invent one.
  CONSTRAINT orders_shipped_has_tracking CHECK (
    status NOT IN ('shipped', 'delivered')
    OR (shipped_at IS NOT NULL AND carrier IS NOT NULL AND tracking_number IS NOT NULL)
  ),
  CONSTRAINT orders_delivered_has_date CHECK (status <> 'delivered' OR delivered_at IS NOT NULL),
  CONSTRAINT orders_cancelled_has_date CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL)
);

CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON shop.orders (customer_id);

CREATE TABLE IF NOT EXISTS shop.order_items (
  order_id integer NOT NULL REFERENCES shop.orders (id),
  line_no integer NOT NULL CHECK (line_no > 0),
  sku text NOT NULL,
  name text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, line_no)
);

-- One row per refund; the idempotency key makes a retried issue_refund call return the first refund.
CREATE TABLE IF NOT EXISTS shop.refunds (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id integer NOT NULL REFERENCES shop.orders (id),
  amount_cents integer NOT NULL CHECK (amount_cents > 0),
  reason text NOT NULL,
  idempotency_key text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS refunds_order_id_idx ON shop.refunds (order_id);

-- order_id is the number the customer gave and has no foreign key: a wrong number is often why a ticket exists.
CREATE TABLE IF NOT EXISTS shop.tickets (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subject text NOT NULL,
  body text NOT NULL,
  priority text NOT NULL CHECK (priority IN ('low', 'normal', 'high')),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'closed')),
  order_id integer,
  idempotency_key text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Mail is never sent from here: a delivery worker (not part of the example) would drain this outbox.
CREATE TABLE IF NOT EXISTS shop.outbox_emails (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recipient text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
  idempotency_key text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);

-- Help-centre articles, loaded from ../kb/*.md. Titles weigh more than bodies in the ranking.
CREATE TABLE IF NOT EXISTS shop.kb_articles (
  slug text PRIMARY KEY,
  title text NOT NULL,
  body text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
  ) STORED
);

CREATE INDEX IF NOT EXISTS kb_articles_search_idx ON shop.kb_articles USING gin (search);

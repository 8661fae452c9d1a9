"""The database lifecycle: connection pools and transactions, schema checks, provisioning,
the embedded PostgreSQL, start-up and migrations."""

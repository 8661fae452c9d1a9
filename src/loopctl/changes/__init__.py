"""The change feed: the audit log in commit-safe order, read by cursor (docs/audit-and-changes.md)."""

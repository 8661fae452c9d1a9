"""Foundation: tenants, agents, API keys, superadmin keys, the audit log, rate-limit counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

from loopctl.kit import migration as m

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    r = m.roles()
    app, admin, owner = m.ident(r.app), m.ident(r.admin), m.ident(r.owner)
    op.execute(f"GRANT SELECT ON alembic_version TO {app}, {admin};")
    op.execute(
        """
        CREATE FUNCTION loopctl_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% on % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
        END $$;

        CREATE TABLE tenants (
          id uuid PRIMARY KEY,
          name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
          slug text NOT NULL CONSTRAINT tenants_slug_key UNIQUE
            CHECK (slug ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' AND char_length(slug) BETWEEN 2 AND 63),
          email text CHECK (char_length(email) <= 254),
          status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
          settings jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE agents (
          tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
          id uuid NOT NULL,
          name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
          agent_type text NOT NULL CHECK (agent_type IN ('implementer', 'orchestrator')),
          model text CHECK (char_length(model) <= 200),
          provider text CHECK (char_length(provider) <= 200),
          metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
          last_seen_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id),
          CONSTRAINT agents_name_key UNIQUE (tenant_id, name),
          CONSTRAINT agents_type_key UNIQUE (tenant_id, id, agent_type)
        );

        CREATE TABLE api_keys (
          tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
          id uuid NOT NULL,
          name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
          key_hash text NOT NULL,
          key_prefix text NOT NULL,
          role text NOT NULL CHECK (role IN ('user', 'orchestrator', 'agent')),
          agent_id uuid,
          -- One agent, one role: agent keys bind implementers, orchestrator keys orchestrators.
          agent_type text GENERATED ALWAYS AS (
            CASE role WHEN 'agent' THEN 'implementer' WHEN 'orchestrator' THEN 'orchestrator' END
          ) STORED,
          expires_at timestamptz,
          revoked_at timestamptz,
          -- Rotation: the old key gets rotated_at (and a grace expiry), the new one names it.
          rotated_at timestamptz,
          replaces_key_id uuid,
          last_used_at timestamptz,
          created_by_key_id uuid,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id),
          CONSTRAINT api_keys_key_hash_key UNIQUE (tenant_id, key_hash),
          -- Identity is total: agent and orchestrator keys always name their agent.
          CONSTRAINT api_keys_agent_binding CHECK ((role = 'user') = (agent_id IS NULL)),
          CONSTRAINT api_keys_agent_fkey FOREIGN KEY (tenant_id, agent_id, agent_type)
            REFERENCES agents (tenant_id, id, agent_type),
          CONSTRAINT api_keys_replaces_fkey FOREIGN KEY (tenant_id, replaces_key_id)
            REFERENCES api_keys (tenant_id, id),
          CONSTRAINT api_keys_created_by_fkey FOREIGN KEY (tenant_id, created_by_key_id)
            REFERENCES api_keys (tenant_id, id)
        );
        CREATE INDEX api_keys_key_hash_idx ON api_keys (key_hash);
        CREATE INDEX api_keys_agent_idx ON api_keys (tenant_id, agent_id);
        CREATE UNIQUE INDEX api_keys_one_current_key_per_agent ON api_keys (tenant_id, agent_id)
          WHERE agent_id IS NOT NULL AND revoked_at IS NULL AND rotated_at IS NULL;

        CREATE FUNCTION loopctl_api_keys_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id <> OLD.id OR NEW.tenant_id <> OLD.tenant_id OR NEW.role <> OLD.role
             OR NEW.agent_id IS DISTINCT FROM OLD.agent_id OR NEW.key_hash <> OLD.key_hash THEN
            RAISE EXCEPTION 'api_key_identity_immutable: a key''s tenant, role, agent and hash never change'
              USING ERRCODE = 'check_violation';
          END IF;
          IF (OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at)
             OR (OLD.rotated_at IS NOT NULL AND NEW.rotated_at IS DISTINCT FROM OLD.rotated_at) THEN
            RAISE EXCEPTION 'api_key_state_final: revocation and rotation cannot be undone'
              USING ERRCODE = 'check_violation';
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER api_keys_guard BEFORE UPDATE ON api_keys
          FOR EACH ROW EXECUTE FUNCTION loopctl_api_keys_guard();

        CREATE TABLE superadmin_keys (
          id uuid PRIMARY KEY,
          name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
          key_hash text NOT NULL CONSTRAINT superadmin_keys_key_hash_key UNIQUE,
          key_prefix text NOT NULL,
          expires_at timestamptz,
          revoked_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE audit_log (
          tenant_id uuid NOT NULL REFERENCES tenants (id),
          id uuid NOT NULL,
          project_id uuid,
          entity_type text NOT NULL,
          entity_id uuid NOT NULL,
          action text NOT NULL,
          actor_key_id uuid,
          actor_agent_id uuid,
          actor_role text NOT NULL,
          actor_label text NOT NULL,
          before jsonb,
          after jsonb,
          request_id text,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id)
        );
        CREATE INDEX audit_log_entity_idx ON audit_log (tenant_id, entity_type, entity_id);
        CREATE INDEX audit_log_created_idx ON audit_log (tenant_id, created_at);
        CREATE INDEX audit_log_project_idx ON audit_log (tenant_id, project_id, created_at)
          WHERE project_id IS NOT NULL;

        CREATE TABLE platform_audit_log (
          id uuid PRIMARY KEY,
          entity_type text NOT NULL,
          entity_id uuid NOT NULL,
          action text NOT NULL,
          actor_label text NOT NULL,
          before jsonb,
          after jsonb,
          created_at timestamptz NOT NULL DEFAULT now()
        );

        -- Shared by every server process; losing it in a crash only resets the windows.
        CREATE UNLOGGED TABLE rate_limit_counters (
          bucket bytea NOT NULL,
          window_start bigint NOT NULL,
          window_seconds integer NOT NULL CHECK (window_seconds > 0),
          hits integer NOT NULL CHECK (hits >= 0),
          PRIMARY KEY (bucket, window_start)
        );
        """
    )
    for table in ("agents", "api_keys", "audit_log"):
        op.execute(m.enable_tenant_rls(table))
    op.execute(m.enable_tenant_rls("tenants", column="id"))
    op.execute(m.append_only("audit_log"))
    op.execute(m.append_only("platform_audit_log"))
    # The key lookup below runs as the owner before any tenant is known: the owner, and
    # nobody else, may read every key row. The app role keeps the single tenant policy.
    op.execute(f"CREATE POLICY key_lookup_by_owner ON api_keys FOR SELECT TO {owner} USING (true);")
    op.execute(
        """
        CREATE FUNCTION loopctl_resolve_api_key(p_key_hash text)
        RETURNS TABLE (key_id uuid, tenant_id uuid, role text, agent_id uuid, key_name text,
                       key_prefix text, tenant_status text, agent_name text)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        #variable_conflict use_column
        DECLARE
          k record;
        BEGIN
          SELECT a.id, a.tenant_id, a.role, a.agent_id, a.name, a.key_prefix INTO k
            FROM api_keys a
           WHERE a.key_hash = p_key_hash AND a.revoked_at IS NULL
             AND (a.expires_at IS NULL OR a.expires_at > now());
          IF FOUND THEN
            -- The rest of the transaction runs as this key's tenant.
            PERFORM set_config('app.tenant_id', k.tenant_id::text, true);
            RETURN QUERY
              SELECT k.id, k.tenant_id, k.role, k.agent_id, k.name, k.key_prefix, t.status, g.name
                FROM tenants t
                LEFT JOIN agents g ON g.tenant_id = t.id AND g.id = k.agent_id
               WHERE t.id = k.tenant_id;
            RETURN;
          END IF;
          PERFORM set_config('app.tenant_id', '', true);
          RETURN QUERY
            SELECT s.id, NULL::uuid, 'superadmin'::text, NULL::uuid, s.name, s.key_prefix,
                   'active'::text, NULL::text
              FROM superadmin_keys s
             WHERE s.key_hash = p_key_hash AND s.revoked_at IS NULL
               AND (s.expires_at IS NULL OR s.expires_at > now());
        END $$;
        REVOKE ALL ON FUNCTION loopctl_resolve_api_key(text) FROM PUBLIC;
        """
    )
    op.execute(f"GRANT EXECUTE ON FUNCTION loopctl_resolve_api_key(text) TO {app};")
    op.execute(m.grant_app("tenants", "SELECT, INSERT, UPDATE (name, email, settings, updated_at)"))
    op.execute(
        m.grant_app(
            "agents",
            "SELECT, INSERT, UPDATE (model, provider, metadata, last_seen_at, updated_at)",
        )
    )
    op.execute(
        m.grant_app(
            "api_keys",
            "SELECT, INSERT, UPDATE (name, expires_at, revoked_at, rotated_at, last_used_at,"
            " updated_at)",
        )
    )
    op.execute(m.grant_app("audit_log", "SELECT, INSERT"))
    op.execute(m.grant_app("rate_limit_counters", "SELECT, INSERT, UPDATE, DELETE"))
    for table in ("tenants", "agents", "api_keys", "audit_log", "superadmin_keys"):
        op.execute(m.grant_admin(table, "SELECT"))
    op.execute(m.grant_admin("tenants", "UPDATE (status, updated_at)"))
    op.execute(m.grant_admin("audit_log", "INSERT"))
    op.execute(m.grant_admin("superadmin_keys", "INSERT, UPDATE (revoked_at)"))
    op.execute(m.grant_admin("platform_audit_log", "SELECT, INSERT"))


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION loopctl_resolve_api_key(text);
        DROP TABLE rate_limit_counters;
        DROP TABLE platform_audit_log;
        DROP TABLE audit_log;
        DROP TABLE superadmin_keys;
        DROP TABLE api_keys;
        DROP FUNCTION loopctl_api_keys_guard();
        DROP TABLE agents;
        DROP TABLE tenants;
        DROP FUNCTION loopctl_reject_change();
        """
    )
    r = m.roles()
    op.execute(f"REVOKE SELECT ON alembic_version FROM {m.ident(r.app)}, {m.ident(r.admin)};")

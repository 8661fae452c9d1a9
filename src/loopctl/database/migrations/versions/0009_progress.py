"""Two-tier progress: claims as leases, reports, reviews, verifications, artifacts.

The custody rules are checked by the progress service (``progress/status.py``); the schema
repeats the ones a constraint can hold, so that no code path, present or future, can store
a story whose implementer reported, reviewed or verified it:

- the assignee is an implementer agent and a verifier an orchestrator agent (composite
  foreign keys to ``agents (tenant_id, id, agent_type)``), so one identity can never be both;
- the reporter is never the assignee (a CHECK on the row);
- a review or verification row naming the story's assignee is refused by a trigger.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from alembic import op

from loopctl.kit import migration as m

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("review_records", "verification_results", "artifacts")


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE stories
          ADD COLUMN assigned_agent_id uuid,
          ADD COLUMN assignee_type text GENERATED ALWAYS AS (
            CASE WHEN assigned_agent_id IS NOT NULL THEN 'implementer' END) STORED,
          ADD COLUMN assigned_at timestamptz,
          ADD COLUMN lease_expires_at timestamptz,
          ADD COLUMN lease_token bigint NOT NULL DEFAULT 0 CHECK (lease_token >= 0),
          ADD COLUMN review_requested_at timestamptz,
          ADD COLUMN reported_done_at timestamptz,
          ADD COLUMN reported_by_agent_id uuid,
          ADD COLUMN verified_at timestamptz,
          ADD COLUMN rejected_at timestamptz,
          ADD COLUMN rejection_reason text CHECK (char_length(rejection_reason) <= 10000),
          ADD COLUMN backfill jsonb CHECK (jsonb_typeof(backfill) = 'object'),
          -- The (tenant, project, id) key the child tables' foreign keys reference.
          ADD CONSTRAINT stories_project_key UNIQUE (tenant_id, project_id, id),
          ADD CONSTRAINT stories_assignee_fkey
            FOREIGN KEY (tenant_id, assigned_agent_id, assignee_type)
            REFERENCES agents (tenant_id, id, agent_type),
          ADD CONSTRAINT stories_reporter_fkey FOREIGN KEY (tenant_id, reported_by_agent_id)
            REFERENCES agents (tenant_id, id),
          ADD CONSTRAINT stories_reporter_not_assignee
            CHECK (reported_by_agent_id IS DISTINCT FROM assigned_agent_id
                   OR reported_by_agent_id IS NULL),
          ADD CONSTRAINT stories_claim_has_lease CHECK (
            agent_status NOT IN ('assigned', 'implementing')
            OR (assigned_agent_id IS NOT NULL AND lease_expires_at IS NOT NULL)),
          ADD CONSTRAINT stories_unclaimed_has_no_assignee CHECK (
            agent_status NOT IN ('pending', 'contracted') OR assigned_agent_id IS NULL);

        CREATE INDEX stories_assignee_idx ON stories (tenant_id, assigned_agent_id)
          WHERE assigned_agent_id IS NOT NULL;

        CREATE TABLE review_records (
          tenant_id uuid NOT NULL,
          id uuid NOT NULL,
          project_id uuid NOT NULL,
          story_id uuid NOT NULL,
          reviewer_agent_id uuid,
          reviewer_key_id uuid,
          review_type text NOT NULL CHECK (char_length(review_type) BETWEEN 1 AND 100),
          findings_count integer NOT NULL DEFAULT 0 CHECK (findings_count >= 0),
          fixes_count integer NOT NULL DEFAULT 0 CHECK (fixes_count >= 0),
          disproved_count integer NOT NULL DEFAULT 0 CHECK (disproved_count >= 0),
          summary text CHECK (char_length(summary) <= 50000),
          completed_at timestamptz NOT NULL DEFAULT now(),
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id),
          CONSTRAINT review_records_accounted
            CHECK (fixes_count + disproved_count >= findings_count),
          CONSTRAINT review_records_story_fkey FOREIGN KEY (tenant_id, project_id, story_id)
            REFERENCES stories (tenant_id, project_id, id) ON DELETE CASCADE,
          CONSTRAINT review_records_reviewer_fkey FOREIGN KEY (tenant_id, reviewer_agent_id)
            REFERENCES agents (tenant_id, id)
        );
        CREATE INDEX review_records_story_idx
          ON review_records (tenant_id, story_id, completed_at);

        CREATE TABLE verification_results (
          tenant_id uuid NOT NULL,
          id uuid NOT NULL,
          project_id uuid NOT NULL,
          story_id uuid NOT NULL,
          orchestrator_agent_id uuid NOT NULL,
          orchestrator_type text GENERATED ALWAYS AS ('orchestrator') STORED,
          result text NOT NULL CHECK (result IN ('pass', 'partial', 'fail')),
          summary text CHECK (char_length(summary) <= 50000),
          findings jsonb NOT NULL DEFAULT '{}',
          review_type text CHECK (char_length(review_type) <= 100),
          criteria jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(criteria) = 'array'),
          iteration integer NOT NULL CHECK (iteration > 0),
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id),
          CONSTRAINT verification_results_iteration_key UNIQUE (tenant_id, story_id, iteration),
          CONSTRAINT verification_results_story_fkey FOREIGN KEY (tenant_id, project_id, story_id)
            REFERENCES stories (tenant_id, project_id, id) ON DELETE CASCADE,
          CONSTRAINT verification_results_verifier_fkey
            FOREIGN KEY (tenant_id, orchestrator_agent_id, orchestrator_type)
            REFERENCES agents (tenant_id, id, agent_type)
        );

        CREATE TABLE artifacts (
          tenant_id uuid NOT NULL,
          id uuid NOT NULL,
          project_id uuid NOT NULL,
          story_id uuid NOT NULL,
          artifact_type text NOT NULL CHECK (char_length(artifact_type) BETWEEN 1 AND 100),
          path text NOT NULL CHECK (char_length(path) BETWEEN 1 AND 2000),
          "exists" boolean NOT NULL DEFAULT true,
          details jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
          reported_by_agent_id uuid,
          reported_by_key_id uuid,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id),
          CONSTRAINT artifacts_story_fkey FOREIGN KEY (tenant_id, project_id, story_id)
            REFERENCES stories (tenant_id, project_id, id) ON DELETE CASCADE,
          CONSTRAINT artifacts_reporter_fkey FOREIGN KEY (tenant_id, reported_by_agent_id)
            REFERENCES agents (tenant_id, id)
        );
        CREATE INDEX artifacts_story_idx ON artifacts (tenant_id, story_id, created_at);

        -- The third line of the custody rules: whatever the code does, a review or a
        -- verification by the story's current implementer cannot be stored.
        CREATE FUNCTION loopctl_refuse_self_custody() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
        DECLARE
          -- The trigger's argument names the column that holds the acting agent.
          actor uuid := (to_jsonb(NEW) ->> TG_ARGV[0])::uuid;
        BEGIN
          IF actor IS NOT NULL AND EXISTS (
            SELECT 1 FROM stories s
            WHERE s.tenant_id = NEW.tenant_id AND s.id = NEW.story_id
              AND s.assigned_agent_id = actor
          ) THEN
            RAISE EXCEPTION 'the implementer of story % cannot review or verify it', NEW.story_id
              USING ERRCODE = 'check_violation';
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER review_records_not_self BEFORE INSERT ON review_records
          FOR EACH ROW EXECUTE FUNCTION loopctl_refuse_self_custody('reviewer_agent_id');
        CREATE TRIGGER verification_results_not_self BEFORE INSERT ON verification_results
          FOR EACH ROW EXECUTE FUNCTION loopctl_refuse_self_custody('orchestrator_agent_id');
        """
    )
    for table in TABLES:
        op.execute(m.enable_tenant_rls(table))
        op.execute(m.grant_admin(table, "SELECT"))
    # Reviews, verifications and artifacts are records: the app may add them, never edit them.
    for table in TABLES:
        op.execute(m.grant_app(table, "SELECT, INSERT"))
    op.execute(
        m.grant_app(
            "stories",
            "UPDATE (assigned_agent_id, assigned_at, lease_expires_at, lease_token,"
            " review_requested_at, reported_done_at, reported_by_agent_id, verified_at,"
            " rejected_at, rejection_reason, backfill)",
        )
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {m.ident(table)};")
    op.execute("DROP FUNCTION loopctl_refuse_self_custody();")
    op.execute(
        """
        ALTER TABLE stories
          DROP CONSTRAINT stories_project_key,
          DROP COLUMN backfill, DROP COLUMN rejection_reason, DROP COLUMN rejected_at,
          DROP COLUMN verified_at, DROP COLUMN reported_by_agent_id,
          DROP COLUMN reported_done_at, DROP COLUMN review_requested_at,
          DROP COLUMN lease_token, DROP COLUMN lease_expires_at, DROP COLUMN assigned_at,
          DROP COLUMN assignee_type, DROP COLUMN assigned_agent_id;
        """
    )

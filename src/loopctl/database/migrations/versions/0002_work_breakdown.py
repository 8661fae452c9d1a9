"""Work breakdown: projects, epics, stories, and the dependencies between them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

from loopctl.kit import migration as m

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("projects", "epics", "stories", "epic_dependencies", "story_dependencies")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE projects (
          tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
          id uuid NOT NULL,
          name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
          slug text NOT NULL
            CHECK (slug ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' AND char_length(slug) BETWEEN 2 AND 63),
          description text CHECK (char_length(description) <= 50000),
          repo_url text CHECK (char_length(repo_url) <= 2000),
          tech_stack text CHECK (char_length(tech_stack) <= 500),
          status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
          metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
          archived_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id),
          CONSTRAINT projects_slug_key UNIQUE (tenant_id, slug),
          CONSTRAINT projects_archived_at CHECK ((status = 'archived') = (archived_at IS NOT NULL))
        );

        CREATE TABLE epics (
          tenant_id uuid NOT NULL,
          id uuid NOT NULL,
          project_id uuid NOT NULL,
          number integer NOT NULL CHECK (number > 0),
          title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
          description text CHECK (char_length(description) <= 50000),
          phase text CHECK (char_length(phase) <= 100),
          position integer NOT NULL DEFAULT 0 CHECK (position >= 0),
          metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id),
          CONSTRAINT epics_number_key UNIQUE (tenant_id, project_id, number),
          -- Lets dependency rows prove both ends are epics of the same project.
          CONSTRAINT epics_project_key UNIQUE (tenant_id, project_id, id),
          CONSTRAINT epics_project_fkey FOREIGN KEY (tenant_id, project_id)
            REFERENCES projects (tenant_id, id) ON DELETE CASCADE
        );
        CREATE INDEX epics_order_idx ON epics (tenant_id, project_id, position, number);

        CREATE TABLE stories (
          tenant_id uuid NOT NULL,
          id uuid NOT NULL,
          project_id uuid NOT NULL,
          epic_id uuid NOT NULL,
          -- One to four dot-separated integers without leading zeros: "3", "2.10", "1.2.3".
          number text NOT NULL
            CHECK (number ~ '^(0|[1-9][0-9]{0,4})(\\.(0|[1-9][0-9]{0,4})){0,3}$'),
          -- "2.10" sorts after "2.9": numbers compare part by part, as integers.
          number_sort integer[] GENERATED ALWAYS AS (string_to_array(number, '.')::integer[]) STORED,
          title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
          description text CHECK (char_length(description) <= 50000),
          acceptance_criteria jsonb NOT NULL DEFAULT '[]'
            CHECK (jsonb_typeof(acceptance_criteria) = 'array'),
          estimated_hours numeric(8, 2) CHECK (estimated_hours >= 0),
          metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
          agent_status text NOT NULL DEFAULT 'pending' CHECK (
            agent_status IN ('pending', 'contracted', 'assigned', 'implementing', 'reported_done')),
          verified_status text NOT NULL DEFAULT 'unverified'
            CHECK (verified_status IN ('unverified', 'verified', 'rejected')),
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id),
          CONSTRAINT stories_number_key UNIQUE (tenant_id, project_id, number),
          CONSTRAINT stories_epic_key UNIQUE (tenant_id, project_id, epic_id, id),
          CONSTRAINT stories_epic_fkey FOREIGN KEY (tenant_id, project_id, epic_id)
            REFERENCES epics (tenant_id, project_id, id) ON DELETE CASCADE
        );
        CREATE INDEX stories_epic_idx ON stories (tenant_id, epic_id, verified_status);
        CREATE INDEX stories_project_status_idx
          ON stories (tenant_id, project_id, agent_status, verified_status);

        CREATE TABLE epic_dependencies (
          tenant_id uuid NOT NULL,
          id uuid NOT NULL,
          project_id uuid NOT NULL,
          epic_id uuid NOT NULL,
          depends_on_epic_id uuid NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id),
          CONSTRAINT epic_dependencies_pair_key UNIQUE (tenant_id, epic_id, depends_on_epic_id),
          CONSTRAINT epic_dependencies_not_self CHECK (epic_id <> depends_on_epic_id),
          CONSTRAINT epic_dependencies_epic_fkey FOREIGN KEY (tenant_id, project_id, epic_id)
            REFERENCES epics (tenant_id, project_id, id) ON DELETE CASCADE,
          CONSTRAINT epic_dependencies_depends_on_fkey
            FOREIGN KEY (tenant_id, project_id, depends_on_epic_id)
            REFERENCES epics (tenant_id, project_id, id) ON DELETE CASCADE
        );
        CREATE INDEX epic_dependencies_project_idx ON epic_dependencies (tenant_id, project_id);
        CREATE INDEX epic_dependencies_reverse_idx
          ON epic_dependencies (tenant_id, depends_on_epic_id);

        -- Each edge also records both stories' epics (kept right by ON UPDATE CASCADE when a
        -- story moves), so epic-level reachability never has to join through stories.
        CREATE TABLE story_dependencies (
          tenant_id uuid NOT NULL,
          id uuid NOT NULL,
          project_id uuid NOT NULL,
          story_id uuid NOT NULL,
          story_epic_id uuid NOT NULL,
          depends_on_story_id uuid NOT NULL,
          depends_on_epic_id uuid NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id),
          CONSTRAINT story_dependencies_pair_key UNIQUE (tenant_id, story_id, depends_on_story_id),
          CONSTRAINT story_dependencies_not_self CHECK (story_id <> depends_on_story_id),
          CONSTRAINT story_dependencies_story_fkey
            FOREIGN KEY (tenant_id, project_id, story_epic_id, story_id)
            REFERENCES stories (tenant_id, project_id, epic_id, id)
            ON DELETE CASCADE ON UPDATE CASCADE,
          CONSTRAINT story_dependencies_depends_on_fkey
            FOREIGN KEY (tenant_id, project_id, depends_on_epic_id, depends_on_story_id)
            REFERENCES stories (tenant_id, project_id, epic_id, id)
            ON DELETE CASCADE ON UPDATE CASCADE
        );
        CREATE INDEX story_dependencies_reverse_idx
          ON story_dependencies (tenant_id, depends_on_story_id);
        CREATE INDEX story_dependencies_epics_idx
          ON story_dependencies (tenant_id, project_id, story_epic_id, depends_on_epic_id);
        """
    )
    for table in TABLES:
        op.execute(m.enable_tenant_rls(table))
        op.execute(m.grant_admin(table, "SELECT"))
    op.execute(
        m.grant_app(
            "projects",
            "SELECT, INSERT, UPDATE (name, description, repo_url, tech_stack, status, metadata,"
            " archived_at, updated_at)",
        )
    )
    op.execute(
        m.grant_app(
            "epics",
            "SELECT, INSERT, DELETE, UPDATE (title, description, phase, position, metadata,"
            " updated_at)",
        )
    )
    # Status columns are granted now so the progress service can write them; the work
    # breakdown endpoints never do.
    op.execute(
        m.grant_app(
            "stories",
            "SELECT, INSERT, DELETE, UPDATE (epic_id, title, description, acceptance_criteria,"
            " estimated_hours, metadata, agent_status, verified_status, updated_at)",
        )
    )
    # UPDATE of the epic ids is needed by the ON UPDATE CASCADE when a story moves.
    op.execute(
        m.grant_app(
            "story_dependencies",
            "SELECT, INSERT, DELETE, UPDATE (story_epic_id, depends_on_epic_id)",
        )
    )
    op.execute(m.grant_app("epic_dependencies", "SELECT, INSERT, DELETE"))


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {m.ident(table)};")

"""Orchestrator checkpoints: one immutable row per saved version.

A checkpoint is named by (project, state_key); each save adds the next version and never
changes an earlier one, so the table is its own history. The unique key on
(tenant, project, state_key, version) is what makes a save a compare-and-swap: of two
writers that read the same version, only one can insert the next (docs/orchestrator-state.md).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from alembic import op

from loopctl.kit import migration as m

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLE = "orchestrator_states"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE orchestrator_states (
          tenant_id uuid NOT NULL,
          -- The checkpoint's id, the same in every version of it.
          id uuid NOT NULL,
          version integer NOT NULL CHECK (version >= 1),
          project_id uuid NOT NULL,
          state_key text NOT NULL CHECK (char_length(state_key) BETWEEN 1 AND 255),
          state_data jsonb NOT NULL CHECK (jsonb_typeof(state_data) = 'object'),
          -- A change-feed cursor the orchestrator stores with its state, opaque here.
          cursor text CHECK (char_length(cursor) BETWEEN 1 AND 1000),
          saved_by text NOT NULL CHECK (char_length(saved_by) <= 500),
          saved_by_key_id uuid,
          saved_by_agent_id uuid,
          -- When version 1 was saved (the reference's inserted_at), repeated in each version.
          inserted_at timestamptz NOT NULL,
          saved_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (tenant_id, id, version),
          CONSTRAINT orchestrator_states_version_key
            UNIQUE (tenant_id, project_id, state_key, version),
          CONSTRAINT orchestrator_states_project_fkey FOREIGN KEY (tenant_id, project_id)
            REFERENCES projects (tenant_id, id)
        );
        """
    )
    op.execute(m.enable_tenant_rls(TABLE))
    # Versions are history: added, never edited or removed, by privilege and by trigger.
    op.execute(m.append_only(TABLE))
    op.execute(m.grant_app(TABLE, "SELECT, INSERT"))
    op.execute(m.grant_admin(TABLE, "SELECT"))


def downgrade() -> None:
    op.execute(f"DROP TABLE {m.ident(TABLE)};")

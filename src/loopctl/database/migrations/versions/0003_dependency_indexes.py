"""Indexes for the dependency graph queries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The cycle check walks epic pairs backwards (which epics wait for this one) as an
    # index-only scan, like story_dependencies_epics_idx does forwards.
    op.execute(
        """
        CREATE INDEX story_dependencies_epics_reverse_idx
          ON story_dependencies (tenant_id, project_id, depends_on_epic_id, story_epic_id);
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX story_dependencies_epics_reverse_idx;")

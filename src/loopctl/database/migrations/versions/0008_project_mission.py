"""Projects get a mission: free text that tells every agent working on the project why it
exists (the reference shows it on each story as ``project_mission``).

Bounded at 10,000 characters (the reference allows 2,000; ours takes every reference
mission and a longer one of our own). NUL cannot be stored in text, and the API refuses it
before it gets here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from alembic import op

from loopctl.kit import migration as m

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE projects ADD COLUMN mission text"
        " CONSTRAINT projects_mission_length CHECK (char_length(mission) <= 10000);"
    )
    op.execute(m.grant_app("projects", "UPDATE (mission)"))


def downgrade() -> None:
    # Dropping the column drops its column privilege with it.
    op.execute("ALTER TABLE projects DROP COLUMN mission;")

"""funds: budgets by period (a month's, a year's, or one for as long as the fund lasts) in
fund_budget, each with what is committed from it; subsidy rules: categories left out

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _checks(table: str) -> list[str]:
    """The table's named CHECK constraints as the database holds them (0002 made them before
    the naming convention, so their names differ between installations)."""
    inspector = sa.inspect(op.get_bind())
    return [c["name"] for c in inspector.get_check_constraints(table) if c.get("name")]


def upgrade() -> None:
    op.create_table(
        "fund_budget",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("budget_fen", sa.Integer(), nullable=False),
        sa.Column("committed_fen", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "committed_fen >= 0", name=op.f("ck_fund_budget_committed_not_negative")
        ),
        sa.CheckConstraint(
            "committed_fen <= budget_fen", name=op.f("ck_fund_budget_within_budget")
        ),
        sa.ForeignKeyConstraint(["fund_id"], ["fund.id"], name=op.f("fk_fund_budget_fund_id_fund")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_budget")),
        sa.UniqueConstraint("fund_id", "period", name=op.f("uq_fund_budget_fund_id_period")),
    )
    op.create_index(op.f("ix_fund_budget_fund_id"), "fund_budget", ["fund_id"], unique=False)
    # A fund made before budgets had periods was one budget for as long as it lasted: it keeps
    # that budget and what was committed from it, as its only period ("all").
    op.execute(
        "INSERT INTO fund_budget (fund_id, period, budget_fen, committed_fen) "
        "SELECT id, 'all', budget_fen, committed_fen FROM fund"
    )
    checks = _checks("fund")
    with op.batch_alter_table("fund") as batch:
        for name in checks:
            batch.drop_constraint(op.f(name), type_="check")
        batch.add_column(
            sa.Column("period", sa.String(length=8), nullable=False, server_default="whole")
        )
        batch.drop_column("committed_fen")
    with op.batch_alter_table("subsidy_rule") as batch:
        batch.add_column(
            sa.Column("excluded_categories", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("subsidy_rule") as batch:
        batch.drop_column("excluded_categories")
    with op.batch_alter_table("fund") as batch:
        batch.add_column(
            sa.Column("committed_fen", sa.Integer(), nullable=False, server_default="0")
        )
        batch.drop_column("period")
    # What each fund committed, summed over its periods (a fund cannot hold more than its
    # budget: the larger of the two stands as its budget).
    op.execute(
        "UPDATE fund SET committed_fen = COALESCE((SELECT SUM(b.committed_fen) "
        "FROM fund_budget b WHERE b.fund_id = fund.id), 0)"
    )
    op.execute("UPDATE fund SET budget_fen = committed_fen WHERE committed_fen > budget_fen")
    op.drop_index(op.f("ix_fund_budget_fund_id"), table_name="fund_budget")
    op.drop_table("fund_budget")

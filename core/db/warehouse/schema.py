"""The reporting warehouse: a star schema of daily snapshots.

The table and column names (``dim_date``, ``dim_label``, ``fact_*_daily_snapshot`` ...) are
the reports' contract: keep them.

``dim_label`` has one column per trait of the configured label schema, so the tables are built
by a function of the schema rather than declared once. ``warehouse_snapshot`` is bookkeeping
beside the star: one row per snapshot day, so an empty snapshot still counts as taken.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.schema import CreateColumn

from core.labels import LabelSchema, Trait

RESERVED_COLUMNS = {"id", "label_key", "is_unlabelled"}


@dataclass(frozen=True)
class Warehouse:
    """The warehouse tables for one label schema."""

    schema: LabelSchema
    metadata: MetaData
    dim_date: Table
    dim_label: Table
    dim_training_image_source: Table
    dim_prediction_review_status: Table
    fact_training_images: Table
    fact_models: Table
    fact_predictions: Table
    snapshots: Table

    @property
    def fact_tables(self) -> tuple[Table, ...]:
        return (self.fact_training_images, self.fact_models, self.fact_predictions)


def trait_column(trait: Trait) -> Column:
    """The dim_label column of a trait: boolean for yes/no traits, text for categorical ones."""
    if trait.name in RESERVED_COLUMNS:
        raise ValueError(f"trait name {trait.name!r} clashes with a dim_label column")
    return Column(trait.name, String(120) if trait.is_categorical else Boolean, nullable=True)


def build_warehouse(schema: LabelSchema) -> Warehouse:
    """The star schema's tables, with dim_label's trait columns taken from the label schema."""
    metadata = MetaData()
    dim_date = Table(
        "dim_date",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),  # yyyymmdd
        Column("date", Date, nullable=False, unique=True),
        Column("day_of_month", Integer, nullable=False),
        Column("month", Integer, nullable=False),
        Column("month_name", String(12), nullable=False),
        Column("year", Integer, nullable=False),
    )
    dim_label = Table(
        "dim_label",
        metadata,
        Column("id", Integer, primary_key=True),
        # canonical JSON of the flat record: NULL trait values cannot form a unique key
        Column("label_key", Text, nullable=False, unique=True),
        Column("is_unlabelled", Boolean, nullable=False),
        *(trait_column(trait) for trait in schema.traits),
    )
    dim_source = Table(
        "dim_training_image_source",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("source", String(120), nullable=False, unique=True),
    )
    dim_status = Table(
        "dim_prediction_review_status",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("status", String(40), nullable=False, unique=True),
    )
    fact_training_images = Table(
        "fact_training_images_daily_snapshot",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("date_id", ForeignKey("dim_date.id"), nullable=False),
        Column("label_id", ForeignKey("dim_label.id"), nullable=False),
        Column("source_id", ForeignKey("dim_training_image_source.id"), nullable=False),
        Column("count", Integer, nullable=False),
        UniqueConstraint("date_id", "label_id", "source_id"),
        # covers the over-time query: an index-only scan, no sort (SQLite: 3x faster)
        Index("ix_training_images_by_day_source", "date_id", "source_id", "label_id", "count"),
    )
    fact_models = Table(
        "fact_models_daily_snapshot",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("date_id", ForeignKey("dim_date.id"), nullable=False),
        Column("model_id", String(40), nullable=False),
        Column("training_started_date_id", ForeignKey("dim_date.id"), nullable=True),
        Column("training_ended_date_id", ForeignKey("dim_date.id"), nullable=True),
        Column("is_active", Boolean, nullable=False, default=False),
        *(
            Column(f"{stat}_{measure}", Float, nullable=True)
            for measure in ("accuracy", "loss")
            for stat in ("min", "max", "avg")
        ),
        UniqueConstraint("date_id", "model_id"),
    )
    fact_predictions = Table(
        "fact_predictions_daily_snapshot",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("date_id", ForeignKey("dim_date.id"), nullable=False),
        Column("label_id", ForeignKey("dim_label.id"), nullable=False),
        Column(
            "user_review_status_id", ForeignKey("dim_prediction_review_status.id"), nullable=False
        ),
        Column(
            "admin_review_status_id", ForeignKey("dim_prediction_review_status.id"), nullable=False
        ),
        Column("count", Integer, nullable=False),
        UniqueConstraint("date_id", "label_id", "user_review_status_id", "admin_review_status_id"),
        Index(
            "ix_predictions_by_day_status",
            "date_id",
            "user_review_status_id",
            "admin_review_status_id",
            "label_id",
            "count",
        ),
    )
    snapshots = Table(
        "warehouse_snapshot",
        metadata,
        Column("date_id", ForeignKey("dim_date.id"), primary_key=True, autoincrement=False),
        Column("taken_at", DateTime(timezone=True), nullable=False),
        Column("is_backfill", Boolean, nullable=False),
        Column("duration_ms", Integer, nullable=False),
        Column("training_images", Integer, nullable=False),
        Column("predictions", Integer, nullable=False),
        Column("models", Integer, nullable=False),
    )
    return Warehouse(
        schema=schema,
        metadata=metadata,
        dim_date=dim_date,
        dim_label=dim_label,
        dim_training_image_source=dim_source,
        dim_prediction_review_status=dim_status,
        fact_training_images=fact_training_images,
        fact_models=fact_models,
        fact_predictions=fact_predictions,
        snapshots=snapshots,
    )


def ensure_warehouse(engine: Engine, schema: LabelSchema) -> Warehouse:
    """Create the missing tables, and the trait columns a new label schema needs; return them.

    A warehouse first filled under another label schema keeps its old trait columns (their
    rows keep their history) and gains the new ones, empty for the old rows.
    """
    warehouse = build_warehouse(schema)
    with engine.begin() as connection:
        warehouse.metadata.create_all(connection, checkfirst=True)
        for table in warehouse.fact_tables:
            for index in table.indexes:  # tables made by an older version lack them
                index.create(connection, checkfirst=True)
        existing = {column["name"] for column in inspect(connection).get_columns("dim_label")}
        preparer = connection.dialect.identifier_preparer
        for column in warehouse.dim_label.columns:
            if column.name not in existing:
                ddl = CreateColumn(column).compile(dialect=connection.dialect)
                connection.execute(
                    text(
                        f"ALTER TABLE {preparer.format_table(warehouse.dim_label)} ADD COLUMN {ddl}"
                    )
                )
    return warehouse


def date_id(day: date) -> int:
    """The dim_date key of a day: yyyymmdd, readable in raw SQL."""
    return day.year * 10_000 + day.month * 100 + day.day


def date_row(day: date) -> dict[str, object]:
    """The dim_date row of a day."""
    return {
        "id": date_id(day),
        "date": day,
        "day_of_month": day.day,
        "month": day.month,
        "month_name": calendar.month_name[day.month],
        "year": day.year,
    }

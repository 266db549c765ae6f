"""The SQL reporting warehouse: star schema, daily snapshot refresh, dashboard queries."""

from core.db.warehouse.schema import Warehouse, build_warehouse, date_id, ensure_warehouse

__all__ = ["Warehouse", "build_warehouse", "date_id", "ensure_warehouse"]

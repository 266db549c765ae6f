"""The console's pages: file, title, icon and who may open each, declared once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.db.users import ROLES

PAGES_DIR = Path(__file__).parent / "pages"
ADMINS: tuple[str, ...] = ("admin",)


@dataclass(frozen=True)
class ConsolePage:
    """One page of the console and the roles that may open it."""

    file: str
    title: str
    icon: str
    roles: tuple[str, ...] = ADMINS

    @property
    def path(self) -> Path:
        return PAGES_DIR / self.file

    def may_open(self, role: str) -> bool:
        """Whether a user with this role may open the page."""
        return role in self.roles


PAGES = (
    ConsolePage("training_images.py", "Training images", ":material/photo_library:", ROLES),
    ConsolePage("import_images.py", "Import", ":material/upload:", ROLES),
    ConsolePage("review.py", "Review predictions", ":material/rate_review:", ROLES),
    ConsolePage("training.py", "Training", ":material/model_training:", ADMINS),
    ConsolePage("models.py", "Models", ":material/deployed_code:", ADMINS),
    ConsolePage("dashboards.py", "Dashboards", ":material/monitoring:", ROLES),
    # labellers only see their own account there
    ConsolePage("users.py", "Users", ":material/group:", ROLES),
)
PAGE_ROLES: dict[str, tuple[str, ...]] = {page.title: page.roles for page in PAGES}


def page_of(script: str | Path) -> ConsolePage:
    """The console page a page script (its `__file__`) belongs to."""
    name = Path(script).name
    for page in PAGES:
        if page.file == name:
            return page
    raise ValueError(f"{name!r} is not a console page; add it to PAGES in {__name__}.")


def may_open(role: str, page_title: str) -> bool:
    """Whether a user with this role may open the console page with this title."""
    return role in PAGE_ROLES.get(page_title, ADMINS)

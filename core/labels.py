"""Label schemas as data: ordered traits, yes/no or categorical, some gated by another trait.

A label is a plain dict keyed by trait name: ``{"is_cat": True, "colour": "blue", ...}``.
For a non-cat only the gate is set: ``{"is_cat": False}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core.errors import UserError, unknown_choice
from core.text import parse_yes_no

LabelValue = bool | str
Label = dict[str, LabelValue]


@dataclass(frozen=True)
class Trait:
    """One thing a model predicts about an image."""

    name: str  # also the output layer name, the label key and the warehouse column
    title: str  # what people read, e.g. "Colour"
    values: tuple[str, ...] = ()  # categorical values; empty for a yes/no trait
    is_categorical: bool = False
    gated_by: str | None = None  # e.g. "is_cat": only set and trained where that trait is true
    is_open: bool = False  # categorical values come from the training set (dog breeds)
    loss_weight: float = 1.0  # how much its loss counts in training, beside the other traits'

    @property
    def is_boolean(self) -> bool:
        return not self.is_categorical

    def parse(self, raw: Any) -> LabelValue:
        """Return a valid value for this trait from user input, or raise UserError."""
        if self.is_boolean:
            flag = parse_yes_no(raw)
            if flag is not None:
                return flag
            raise UserError(f"{self.title} must be yes or no, not {raw!r}; pick one of the two.")
        text = str(raw).strip()
        if self.is_open:
            if not text or len(text) > 80:
                raise UserError(
                    f"{self.title} {raw!r} is not a usable name; use 1 to 80 characters."
                )
            return text
        lowered = text.lower()
        if lowered not in self.values:
            raise unknown_choice(f"{self.title} {raw!r}", self.values)
        return lowered


@dataclass(frozen=True)
class LabelSchema:
    """An ordered list of traits; the first boolean trait that others are gated by is the gate."""

    name: str
    title: str
    traits: tuple[Trait, ...]
    description: str = ""
    _by_name: dict[str, Trait] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {trait.name: trait for trait in self.traits})

    @property
    def trait_names(self) -> list[str]:
        return [trait.name for trait in self.traits]

    @property
    def gate(self) -> Trait | None:
        """The trait that other traits are gated by (``is_cat``), if any."""
        gates = {trait.gated_by for trait in self.traits if trait.gated_by}
        return self._by_name[next(iter(gates))] if gates else None

    def trait(self, name: str) -> Trait:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self.trait_names)
            raise UserError(
                f"Trait {name!r} is not part of the {self.name} schema; use one of: {known}."
            ) from None

    def applies(self, trait: Trait, label: Mapping[str, Any]) -> bool:
        """Whether this trait is meaningful for an image with that (possibly partial) label."""
        return trait.gated_by is None or label.get(trait.gated_by) is not False

    def validate(self, label: Mapping[str, Any], *, partial: bool = False) -> Label:
        """Return the label with parsed values, or raise UserError saying what is wrong.

        A complete label sets every trait that applies; a partial one sets only some of them.
        Traits set on an image whose gate is false (a colour on a non-cat) are refused.
        """
        if not isinstance(label, Mapping):
            raise UserError(f"A label must be a mapping of trait to value, not {label!r}.")
        clean: Label = {}
        for key, raw in label.items():
            if raw is None or raw == "":
                continue
            clean[key] = self.trait(key).parse(raw)
        for trait in self.traits:
            if trait.name not in clean:
                continue
            if trait.gated_by and clean.get(trait.gated_by) is False:
                raise UserError(
                    f"{trait.title} cannot be set on an image whose {trait.gated_by} is no; "
                    f"leave it empty or set {trait.gated_by} to yes."
                )
        if not partial:
            missing = [
                t.title for t in self.traits if self.applies(t, clean) and t.name not in clean
            ]
            if missing:
                raise UserError(
                    f"The label {dict(label)!r} misses {', '.join(missing)}; set every trait."
                )
        return {t.name: clean[t.name] for t in self.traits if t.name in clean}

    def merge(self, current: Mapping[str, Any] | None, update: Mapping[str, Any]) -> Label:
        """Apply a partial label on top of an existing one; a false gate clears gated traits."""
        merged: dict[str, Any] = dict(current or {})
        merged.update(self.validate(update, partial=True))
        for trait in self.traits:
            if trait.gated_by and merged.get(trait.gated_by) is False:
                merged.pop(trait.name, None)
        return self.validate(merged, partial=True)

    def is_complete(self, label: Mapping[str, Any] | None) -> bool:
        """Whether every trait that applies is set (an image counts as labelled)."""
        if not label:
            return False
        return all(t.name in label for t in self.traits if self.applies(t, label))

    def with_values(self, trait_name: str, values: Iterable[str]) -> LabelSchema:
        """This schema with an open trait's values fixed (e.g. the breeds of a training set)."""
        traits = tuple(
            replace(t, values=tuple(sorted(set(values)))) if t.name == trait_name else t
            for t in self.traits
        )
        return replace(self, traits=traits)

    def to_flat(self, label: Mapping[str, Any] | None) -> dict[str, Any]:
        """One flat record: ``is_unlabelled`` plus one column per trait (None where unset)."""
        label = label or {}
        record: dict[str, Any] = {"is_unlabelled": not self.is_complete(label)}
        record.update({t.name: label.get(t.name) for t in self.traits})
        return record

    def from_flat(self, record: Mapping[str, Any]) -> Label:
        """The label held in a flat record (the reverse of ``to_flat``)."""
        values = {t.name: record.get(t.name) for t in self.traits}
        return self.validate({k: v for k, v in values.items() if v is not None}, partial=True)

    def filter_values(self, values: Mapping[str, Any] | None) -> Label:
        """Trait values chosen in filter widgets, parsed; empty choices mean any value."""
        return {
            name: self.trait(name).parse(value)
            for name, value in (values or {}).items()
            if value is not None and value != ""
        }

    def describe(self, label: Mapping[str, Any] | None) -> str:
        """A short text of the label for grids and tables, e.g. "blue, tabby, bicolour"."""
        if not label:
            return "unlabelled"
        gate = self.gate
        if gate is not None and label.get(gate.name) is False:
            return f"not {gate.title.lower().removeprefix('is ').removeprefix('a ')}"
        parts = []
        for trait in self.traits:
            if trait is gate or trait.name not in label:
                continue
            value = label[trait.name]
            if trait.is_boolean:
                parts.append(trait.title.lower() if value else f"not {trait.title.lower()}")
            else:
                parts.append(str(value))
        return ", ".join(parts) if parts else "partly labelled"

    def to_document(self) -> dict[str, Any]:
        """The schema as a plain document, stored with each model."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "traits": [
                {
                    "name": t.name,
                    "title": t.title,
                    "values": list(t.values),
                    "is_categorical": t.is_categorical,
                    "gated_by": t.gated_by,
                    "is_open": t.is_open,
                    "loss_weight": t.loss_weight,
                }
                for t in self.traits
            ],
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> LabelSchema:
        traits = tuple(
            Trait(
                name=t["name"],
                title=t["title"],
                values=tuple(t.get("values", ())),
                is_categorical=bool(t.get("is_categorical")),
                gated_by=t.get("gated_by"),
                is_open=bool(t.get("is_open")),
                loss_weight=float(t.get("loss_weight", 1.0)),
            )
            for t in doc["traits"]
        )
        return cls(
            name=doc["name"],
            title=doc.get("title", doc["name"]),
            traits=traits,
            description=doc.get("description", ""),
        )


CAT_COLOURS = ("black", "blue", "chocolate", "lilac", "cinnamon", "fawn", "red", "cream", "white")
CAT_PATTERNS = ("self", "bicolour", "van")

CAT_PHENOTYPE = LabelSchema(
    name="cat_phenotype",
    title="Cat phenotype",
    description="Is it a cat, coat colour, tabby, white pattern and colourpoint.",
    traits=(
        Trait("is_cat", "Cat"),
        # all heads share one small network: with equal weights colour and tabby (a few stripes
        # on a tail) learned slowest; weighted, the weakest trait of two held-out seeds gained
        Trait(
            "colour", "Colour", CAT_COLOURS, is_categorical=True, gated_by="is_cat", loss_weight=1.5
        ),
        Trait("is_tabby", "Tabby", gated_by="is_cat", loss_weight=2.0),
        Trait("pattern", "Pattern", CAT_PATTERNS, is_categorical=True, gated_by="is_cat"),
        Trait("is_pointed", "Colourpoint", gated_by="is_cat"),
    ),
)

DOG_BREED = LabelSchema(
    name="dog_breed",
    title="Dog breed",
    description="The breed of a dog; the breeds are those found in the training set.",
    traits=(Trait("breed", "Breed", is_categorical=True, is_open=True),),
)

SCHEMAS: dict[str, LabelSchema] = {s.name: s for s in (CAT_PHENOTYPE, DOG_BREED)}


def get_schema(name: str) -> LabelSchema:
    """The preset schema with this name, or a UserError listing the presets."""
    try:
        return SCHEMAS[name]
    except KeyError:
        raise unknown_choice(f"Label schema {name!r}", SCHEMAS) from None


NOT_CAT_WORDS = {"not_cat", "not-cat", "notcat", "no_cat", "non_cat", "other"}
POINTED_WORDS = {"pointed", "point", "colourpoint", "colorpoint"}


def label_from_folder_name(schema: LabelSchema, folder: str) -> Label:
    """The label a folder name stands for, or UserError when the name is not a label.

    Cat folders: ``not_cat``, or ``<colour>[_tabby][_<pattern>][_pointed]`` (self and not tabby
    and not pointed where left out): ``blue``, ``red_tabby_van``, ``lilac_bicolour_pointed``.
    Dog folders: the breed name (``golden_retriever`` becomes "golden retriever").
    """
    name = folder.strip().lower().replace(" ", "_")
    if schema.name == DOG_BREED.name:
        breed = name.replace("_", " ").replace("-", " ").strip()
        return schema.validate({"breed": breed})
    if name in NOT_CAT_WORDS:
        return {"is_cat": False}
    tokens = [t for t in name.replace("-", "_").split("_") if t]
    if not tokens or tokens[0] not in CAT_COLOURS:
        raise UserError(
            f"Folder {folder!r} does not start with a colour; name it like blue, red_tabby_van, "
            "lilac_bicolour_pointed or not_cat."
        )
    label: Label = {
        "is_cat": True,
        "colour": tokens[0],
        "is_tabby": False,
        "pattern": "self",
        "is_pointed": False,
    }
    for token in tokens[1:]:
        if token == "tabby":
            label["is_tabby"] = True
        elif token in CAT_PATTERNS:
            label["pattern"] = token
        elif token in POINTED_WORDS:
            label["is_pointed"] = True
        else:
            raise UserError(
                f"Folder {folder!r} has the unknown word {token!r}; use tabby, "
                f"{', '.join(CAT_PATTERNS)} or pointed after the colour."
            )
    return schema.validate(label)


def folder_name_for(schema: LabelSchema, label: Mapping[str, Any]) -> str:
    """The folder name a complete label is exported to (the reverse of label_from_folder_name)."""
    if schema.name == DOG_BREED.name:
        return str(label["breed"]).replace(" ", "_")
    if label.get("is_cat") is False:
        return "not_cat"
    parts = [str(label["colour"])]
    if label.get("is_tabby"):
        parts.append("tabby")
    if label.get("pattern") != "self":
        parts.append(str(label["pattern"]))
    if label.get("is_pointed"):
        parts.append("pointed")
    return "_".join(parts)

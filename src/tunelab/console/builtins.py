"""tunelab's built-in algorithms (``tunelab/<name>`` images) for the wizard: the
catalog to pick from, and a definition prefilled with an algorithm's objective
and recommended ranges (its metric definitions are predefined: the API adds them)."""

from __future__ import annotations

from tunelab.algorithms import catalog
from tunelab.algorithms.spec import recommended_ranges
from tunelab.console.wizard_form import DefinitionForm, HyperParameterRow, definition_from_document

IMAGE_PREFIX = "tunelab/"


def choices() -> list[tuple[str, str]]:
    """(image, label) of every built-in algorithm."""
    found = []
    for name in catalog.names():
        spec = catalog.get(name)
        found.append((IMAGE_PREFIX + name, f"{name}: {spec.title}" if spec else name))
    return found


def is_builtin_image(image: str) -> bool:
    return image.strip().startswith(IMAGE_PREFIX)


def definition_for_builtin(image: str) -> DefinitionForm | None:
    """A definition running built-in ``image``: its first objective metric, the
    recommended ranges, and a static row for each required hyperparameter (with its
    default, when it has one); None for an unknown image."""
    spec = catalog.get(image)
    if spec is None:
        return None
    d = definition_from_document({}, None, recommended_ranges(spec))
    d.source, d.image, d.metrics = "builtin", IMAGE_PREFIX + spec.name, []
    tuned = {row.name for row in d.hyperparameters}
    for hp in spec.hyperparameters:
        if hp.required and hp.name not in tuned:
            d.hyperparameters.append(HyperParameterRow(hp.name, "static", values=hp.default or ""))
    if spec.objectives:
        d.objective_metric = spec.objectives[0].name
        d.objective_type = spec.objectives[0].direction or "Maximize"
    return d

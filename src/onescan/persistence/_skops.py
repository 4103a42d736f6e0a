"""Model files: ``skops.io`` (never pickle) and a JSON model card beside them.

:func:`save_model` writes ``<name>.skops`` and the model card ``<name>.card.json``
beside it, holding the SHA-256 of the model file. :func:`load_model` refuses, with an
:class:`~onescan.contract._errors.InputError`, a model without its card, a model whose
SHA-256 differs from the card's, and a model holding any type outside
:data:`onescan.persistence._trusted.TRUSTED_TYPES`, an allow-list written in code
(built from the model registry, never read from a file).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from pathlib import Path

from onescan._provenance import jsonable
from onescan.contract._errors import InputError, Problem
from onescan.models._conformal import CrossConformalPlus
from onescan.persistence._trusted import TRUSTED_TYPES
from onescan.studies._clinic import OnescanModel
from onescan.studies._clinic_card import CARD_FORMAT

__all__ = ["save_model", "load_model", "card_path_for", "file_types"]

logger = logging.getLogger(__name__)


def card_path_for(model_path: str | Path) -> Path:
    """Path of the model card beside a model file: ``model.skops`` → ``model.card.json``."""
    p = Path(model_path)
    return p.with_name(p.stem + ".card.json")


def file_types(data: bytes) -> set[str]:
    """Every type (``module.name``) a skops file holds, read from its schema without loading it.

    Parameters
    ----------
    data : bytes
        Content of a ``.skops`` file.

    Returns
    -------
    set of str

    Raises
    ------
    ValueError
        When the bytes are not a skops archive.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            schema = json.loads(z.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a skops model file ({type(exc).__name__})") from exc
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            mod, cls = node.get("__module__"), node.get("__class__")
            if isinstance(mod, str) and isinstance(cls, str):
                found.add(f"{mod}.{cls}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _foreign_types(data: bytes) -> list[str]:
    import skops.io as sio

    types = file_types(data) | set(sio.get_untrusted_types(data=data))
    return sorted(types - frozenset(TRUSTED_TYPES))


def save_model(model: OnescanModel, path: str | Path) -> tuple[Path, Path]:
    """Write ``model`` to ``path`` (``.skops``) and its card beside it, atomically.

    Parameters
    ----------
    model : OnescanModel
        A fitted model.
    path : str or path-like
        Destination ending in ``.skops``; the card goes to ``<stem>.card.json``.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        Paths of the model file and of its card.

    Raises
    ------
    InputError
        When ``path`` does not end in ``.skops``.
    TypeError
        When the model holds a type outside :data:`TRUSTED_TYPES` (nothing is written).
    """
    import skops.io as sio

    from onescan.contract._io import atomic_write_bytes, atomic_write_text

    p = Path(path)
    if p.suffix.lower() != ".skops":
        raise InputError(Problem(str(p), "a model file name must end in .skops"))
    if not isinstance(model, OnescanModel):
        raise TypeError(f"expected an OnescanModel, got {type(model).__name__}")
    card_seen = model.card
    model.card = None  # the card lives beside the file, not inside it
    try:
        data = sio.dumps(model)
    finally:
        model.card = card_seen
    foreign = _foreign_types(data)
    if foreign:
        raise TypeError("this model holds types outside onescan's allow-list and cannot be saved safely: "
                        + ", ".join(foreign))
    card = dict(model.card_)
    card["model_file"] = p.name
    card["model_sha256"] = hashlib.sha256(data).hexdigest()
    card["types_in_file"] = sorted(file_types(data))  # informative; trust comes from TRUSTED_TYPES
    cp = card_path_for(p)
    atomic_write_bytes(p, data)
    atomic_write_text(cp, json.dumps(jsonable(card), indent=2, ensure_ascii=False) + "\n")
    model.card = card
    logger.info("model written (%d bytes) with its card", len(data))
    return p, cp


def load_model(path: str | Path) -> OnescanModel:
    """Read a model written by :func:`save_model`, refusing anything unsafe or altered.

    The file is never unpickled: ``skops.io.load`` rebuilds it from its schema,
    trusting only :data:`TRUSTED_TYPES`.

    Parameters
    ----------
    path : str or path-like
        The ``.skops`` file; its card ``<stem>.card.json`` must be beside it.

    Returns
    -------
    OnescanModel
        With ``card`` set to the card read from disk.

    Raises
    ------
    InputError
        Missing file or card, unreadable card, SHA-256 of the file ≠ the card's, a type
        outside the allow-list, or a file that is not an onescan model.
    """
    import skops.io as sio

    p = Path(path)
    if not p.is_file():
        raise InputError(Problem(str(p), "model file not found"))
    cp = card_path_for(p)
    if not cp.is_file():
        raise InputError(Problem(str(p), f"refusing to load: its model card {cp.name} is missing (a model is "
                                         "only accepted with the card written beside it by onescan train)"))
    try:
        card = json.loads(cp.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(Problem(str(cp), f"unreadable model card: {exc}")) from exc
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT or "model_sha256" not in card:
        raise InputError(Problem(str(cp), "not an onescan model card (no format / model_sha256)"))
    data = p.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != card["model_sha256"]:
        raise InputError(Problem(str(p), "refusing to load: the file's SHA-256 does not match its model card "
                                         f"(file {digest[:12]}…, card {str(card['model_sha256'])[:12]}…); "
                                         "the model was altered or replaced"))
    try:
        foreign = _foreign_types(data)
    except ValueError as exc:
        raise InputError(Problem(str(p), f"refusing to load: {exc}")) from exc
    except Exception as exc:  # skops schema errors on a malformed archive
        raise InputError(Problem(str(p), f"refusing to load: unreadable skops file "
                                         f"({type(exc).__name__}: {exc})")) from exc
    if foreign:
        raise InputError(Problem(str(p), "refusing to load: the file holds types outside onescan's allow-list: "
                                         + ", ".join(foreign)))
    try:
        model = sio.loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # skops raises UntrustedTypesFoundException, TypeError, ValueError …
        raise InputError(Problem(str(p), f"refusing to load: {type(exc).__name__}: {exc}")) from exc
    if not isinstance(model, OnescanModel) or not isinstance(getattr(model, "conformal_", None),
                                                             CrossConformalPlus):
        raise InputError(Problem(str(p), f"not an onescan model (it holds a {type(model).__name__})"))
    model.card = card
    logger.info("model loaded (trained on %d patients)", model.n_train_)
    return model

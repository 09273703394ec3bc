"""Find and load the built-in rule packs, licence catalogue and signal set, plus user overrides."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openaudit.errors import RuleFileError
from openaudit.licenses import Catalogue, CatalogueError, SignalSet, load_catalogue, load_signals
from openaudit.models import RepoType
from openaudit.rules_dir import builtin_rules_dir
from openaudit.ruleset import Pack, load_pack, read_rule_yaml
from openaudit.safe_read import MAX_CONFIG_BYTES, read_capped
from openaudit.vocabulary import (
    VOCABULARY_EXTENDS,
    Vocabulary,
    builtin_vocabulary,
    parse_vocabulary,
    read_document,
)

DEFAULT_PACKS = {RepoType.MODEL: "osaid-1.0", RepoType.DATASET: "dataset-openness"}


@dataclass(frozen=True)
class Ruleset:
    """Everything needed to judge a repo: one pack per repo type, licence data, text signals."""

    packs: dict[RepoType, Pack]
    catalogue: Catalogue
    signals: SignalSet
    digest: str
    vocabulary: Vocabulary  # how cards are read: the shipped one, or it extended by --rules

    def pack_for(self, repo_type: RepoType) -> Pack:
        """The pack that judges this kind of repository."""
        return self.packs[repo_type]


def load_ruleset(extra: Sequence[Path] = ()) -> Ruleset:
    """Load the built-in packs, then apply ``--rules`` paths.

    A directory holding ``pack.yaml`` replaces the built-in pack for its repo type; a single YAML
    file with ``extends: PACK_ID`` adds rules to that pack (or replaces rules with the same id);
    one with ``extends: vocabulary`` adds patterns to the vocabulary the cards are read with.
    """
    base = builtin_rules_dir()
    packs = {t: load_pack(base / name, shipped=True) for t, name in DEFAULT_PACKS.items()}
    extra_files: dict[str, list[Path]] = {}
    for path in extra:
        if path.is_dir():
            if not os.path.lexists(path / "pack.yaml"):
                raise RuleFileError(str(path), "a rule pack directory needs a pack.yaml")
            pack = load_pack(path)
            packs[pack.applies_to] = pack
        elif path.is_file():
            extra_files.setdefault(_extends(path), []).append(path)
        else:
            raise RuleFileError(str(path), "no such file or directory")
    vocabulary = builtin_vocabulary()
    # one file named twice (by a policy and by --rules) extends the vocabulary once
    vocabulary_files = list({p.resolve(): p for p in extra_files.pop(VOCABULARY_EXTENDS, [])}
                            .values())
    for path in vocabulary_files:  # in the order given: each extends the one before
        vocabulary = parse_vocabulary(read_document(path), str(path), base=vocabulary)
    packs = {t: _extend(p, extra_files, base) for t, p in packs.items()}
    unknown = set(extra_files) - {p.id for p in packs.values()}
    if unknown:
        name = sorted(unknown)[0]
        raise RuleFileError(str(extra_files[name][0]), f"extends unknown pack {name!r} (packs: "
                            + ", ".join(sorted(p.id for p in packs.values())) + ")", "", "extends")
    catalogue, signals = _licence_data(base)
    digest = hashlib.sha256()
    for pack in sorted(packs.values(), key=lambda p: p.id):
        digest.update(pack.digest.encode())
    digest.update(read_capped(base / "licenses.yaml", MAX_CONFIG_BYTES))
    digest.update(read_capped(base / "license-signals.yaml", MAX_CONFIG_BYTES))
    for path in (base / "vocabulary.yaml", *vocabulary_files):
        digest.update(read_capped(path, MAX_CONFIG_BYTES))
    return Ruleset(packs, catalogue, signals, digest.hexdigest()[:16], vocabulary)


def _extend(pack: Pack, extra_files: dict[str, list[Path]], base: Path) -> Pack:
    """Reload a pack with the extra rule files that extend it (if any)."""
    files = tuple(extra_files.get(pack.id, ()))
    shipped = pack.directory.parent == base
    return load_pack(pack.directory, files, shipped=shipped) if files else pack


def _extends(path: Path) -> str:
    doc = read_rule_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("extends"), str):
        raise RuleFileError(str(path), "an extra rule file needs `extends: <pack id>` "
                            "(e.g. osaid-1.0 or dataset-openness) or `extends: vocabulary`",
                            "", "extends")
    return str(doc["extends"])


def _licence_data(base: Path) -> tuple[Catalogue, SignalSet]:
    try:
        return (load_catalogue(base / "licenses.yaml"),
                load_signals(base / "license-signals.yaml"))
    except CatalogueError as exc:
        raise RuleFileError(str(exc.path), exc.message) from None

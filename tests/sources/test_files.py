"""The offline source on real folders: what loads, what is skipped, what becomes a finding."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Code, Severity
from meshtui.mesh.resources import DestinationRule, Origin, Service
from meshtui.sources.files import (
    FileSource,
    LoadError,
    document_text,
    load,
    locate,
    refine_lines,
)

FIXTURES = Path(__file__).parent / "fixtures"
MESH = FIXTURES / "mesh"
BROKEN = FIXTURES / "broken"


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the only line of `path` containing `needle`."""
    lines = [i for i, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def refs(result) -> list[str]:
    return sorted(str(r.meta.ref) for r in result.resources)


def test_folder_is_read_recursively():
    result = load([MESH])
    assert result.findings == []
    # .yaml, .yml and .json files at any depth; README.md is not read.
    assert result.files == 6
    assert refs(result) == [
        "Deployment shop/reviews-v1",
        "Deployment shop/reviews-v2",
        "DestinationRule shop/details",
        "DestinationRule shop/ratings",
        "DestinationRule shop/reviews",
        "Service shop/ratings",
        "Service shop/reviews",
        "VirtualService shop/reviews",
    ]
    files = {Path(r.meta.origin.file).name for r in result.resources}
    assert "virtual-service.yml" in files


def test_every_document_of_a_multi_document_file_is_read_with_its_line():
    result = load([MESH / "services.yaml"])
    origins = [(str(r.meta.ref), r.meta.origin.line) for r in result.resources]
    text = (MESH / "services.yaml").read_text().splitlines()
    # A document's line is its first content line: not the `---` marker, not a comment.
    starts = [i for i, line in enumerate(text, 1) if line.startswith("apiVersion:")]
    assert origins == [
        ("Service shop/reviews", starts[0]),
        ("Deployment shop/reviews-v1", starts[1]),
        ("Deployment shop/reviews-v2", starts[2]),
    ]
    replicas = {
        r.meta.ref.name: r.replicas for r in result.resources if r.meta.ref.kind != "Service"
    }
    assert replicas == {"reviews-v1": 2, "reviews-v2": 1}


def test_items_of_a_kind_list_are_read():
    result = load([MESH / "ratings-list.yaml"])
    assert [(str(r.meta.ref), r.meta.origin.item) for r in result.resources] == [
        ("Service shop/ratings", 0),
        ("DestinationRule shop/ratings", 1),
    ]


def test_json_file_is_read():
    [rule] = load([MESH / "details.json"]).resources
    assert isinstance(rule, DestinationRule)
    assert (rule.host, [s.name for s in rule.subsets]) == ("details", ["v1"])


def test_unrelated_documents_are_skipped_silently():
    # A ConfigMap, a Knative Service, a plain list, a scalar, an empty document and a CRD
    # called DestinationRule in another group.
    result = load([MESH / "unrelated.yaml"])
    assert result.resources == []
    assert result.findings == []


def test_explicit_file_is_read_whatever_its_suffix(tmp_path):
    file = tmp_path / "rule.txt"
    file.write_text((MESH / "details.json").read_text())
    assert refs(load([file])) == ["DestinationRule shop/details"]


def test_no_such_path_cannot_be_read():
    with pytest.raises(LoadError, match="no-such-folder"):
        load([FIXTURES / "no-such-folder"])


def test_syntax_error_in_the_middle_document_leaves_the_other_two():
    path = BROKEN / "three-docs.yaml"
    result = load([path])
    assert refs(result) == ["DestinationRule shop/details", "Service shop/details"]
    [finding] = result.findings
    assert finding.code is Code.PARSE_ERROR
    assert finding.severity is Severity.ERROR
    assert finding.file == str(path)
    assert finding.line == line_of(path, "syntax-error")


def test_binary_file_is_one_parse_error():
    path = BROKEN / "binary.yaml"
    result = load([path])
    assert result.resources == []
    assert [(f.code, f.file, f.line) for f in result.findings] == [(Code.PARSE_ERROR, str(path), 1)]
    assert "binary" in result.findings[0].message


def test_non_utf8_file_is_one_parse_error_at_the_line_of_the_bad_byte():
    path = BROKEN / "latin1.yaml"
    assert b"\xe9" in path.read_bytes()
    result = load([path])
    assert result.resources == []
    [finding] = result.findings
    assert (finding.code, finding.file, finding.line) == (Code.PARSE_ERROR, str(path), 4)
    assert "UTF-8" in finding.message


def test_unreadable_file_is_one_parse_error_and_the_rest_loads(tmp_path):
    good = tmp_path / "details.json"
    good.write_text((MESH / "details.json").read_text())
    secret = tmp_path / "secret.yaml"
    secret.write_text((MESH / "services.yaml").read_text())
    secret.chmod(0)
    try:
        if os.access(secret, os.R_OK):
            pytest.skip("this user reads files whatever their mode (root)")
        result = load([tmp_path])
    finally:
        secret.chmod(0o644)
    assert refs(result) == ["DestinationRule shop/details"]
    assert [(f.code, f.file, f.line) for f in result.findings] == [
        (Code.PARSE_ERROR, str(secret), 1)
    ]
    assert "cannot read" in result.findings[0].message


def test_dangling_symlink_is_one_parse_error_and_the_rest_loads(tmp_path):
    (tmp_path / "details.json").write_text((MESH / "details.json").read_text())
    dangling = tmp_path / "gone.yaml"
    dangling.symlink_to(tmp_path / "deleted.yaml")
    result = load([tmp_path])
    assert refs(result) == ["DestinationRule shop/details"]
    assert [(f.code, f.file, f.line) for f in result.findings] == [
        (Code.PARSE_ERROR, str(dangling), 1)
    ]


def test_wrong_field_type_is_one_invalid_resource_at_that_field():
    path = BROKEN / "wrong-types.yaml"
    result = load([path])
    # The broken DestinationRule is read without the rejected field and marked rejected (it
    # takes no part in the analysis: Istio never sees it); the Service after it still loads.
    assert refs(result) == ["DestinationRule shop/ratings", "Service shop/ratings"]
    assert result.resources[0].meta.rejected is not None
    mesh = Mesh()
    mesh.load(result.resources)
    analysis = mesh.analyze()
    assert "ratings.shop.svc.cluster.local" not in {
        h for h, a in analysis.hosts.items() if a.destination_rules
    }
    [finding] = refine_lines(f for f in analysis.findings if f.code is Code.INVALID_RESOURCE)
    assert finding.code is Code.INVALID_RESOURCE
    assert str(finding.resource) == "DestinationRule shop/ratings"
    assert finding.field == "spec.subsets"
    assert (finding.file, finding.line) == (str(path), line_of(path, 'subsets: "v1"'))
    assert "must be a list, not a string" in finding.message


def test_subset_policy_never_applied_points_at_the_subset_traffic_policy_line():
    source = FileSource([MESH])
    [mesh] = source.load()
    analysis = mesh.analyze()
    [finding] = [f for f in analysis.findings if f.code is Code.SUBSET_POLICY_NEVER_APPLIED]
    dr_file = MESH / "rules" / "destination-rule.yaml"
    # Before refinement: the DestinationRule's own first line.
    assert (finding.file, finding.line) == (str(dr_file), line_of(dr_file, "apiVersion:"))
    [refined] = source.refine([finding])
    assert refined.subset == "v2"
    assert (refined.file, refined.line) == (str(dr_file), line_of(dr_file, "# v2-policy"))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_lines_are_right_whatever_the_line_breaks(tmp_path: Path, newline: str):
    original = MESH / "rules" / "destination-rule.yaml"
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: shop}\n---\n"
    copy = tmp_path / "rules.yaml"
    copy.write_bytes((text + original.read_text()).replace("\n", newline).encode())
    source = FileSource([copy])
    [mesh] = source.load()
    analysis = mesh.analyze()
    [finding] = [f for f in analysis.findings if f.code is Code.SUBSET_POLICY_NEVER_APPLIED]
    offset = text.count("\n")
    assert finding.line == offset + line_of(original, "apiVersion:")
    assert source.refine([finding])[0].line == offset + line_of(original, "# v2-policy")
    # The raw YAML view shows the document as written, with plain line breaks.
    written = document_text(finding.origin)
    assert "    trafficPolicy:  # v2-policy\n" in written and "\r" not in written


def test_field_lines_are_found_inside_list_items():
    list_line = line_of(MESH / "ratings-list.yaml", "kind: List") - 1  # its apiVersion line
    finding_origin = Origin(file=str(MESH / "ratings-list.yaml"), line=list_line, item=1)
    line = locate(finding_origin, ("spec", "subsets", 0))
    assert line == line_of(MESH / "ratings-list.yaml", "- name: v1")


def test_file_source_reads_workloads_so_their_namespace_is_known():
    [mesh] = FileSource([MESH]).load()
    reviews = mesh.analyze().hosts["reviews.shop.svc.cluster.local"]
    assert sorted(w.meta.ref.name for w in reviews.workloads) == ["reviews-v1", "reviews-v2"]
    assert [w.meta.ref.name for w in reviews.subset("v2").workloads] == ["reviews-v2"]
    assert isinstance(reviews.service, Service)


def test_document_text_is_the_document_as_written():
    path = MESH / "services.yaml"
    result = load([path])
    text = path.read_text()
    docs = text.split("---\n")
    first, second = result.resources[0], result.resources[1]
    # Comments and layout are kept, the separator is not.
    assert document_text(first.meta.origin) == docs[0]
    assert document_text(second.meta.origin) == docs[1]
    assert document_text(second.meta.origin).startswith("apiVersion: apps/v1\nkind: Deployment")


def test_document_text_of_a_json_file_is_the_file():
    [rule] = load([MESH / "details.json"]).resources
    assert document_text(rule.meta.origin) == (MESH / "details.json").read_text()


def test_document_text_of_a_list_item_is_that_item():
    [_, rule] = load([MESH / "ratings-list.yaml"]).resources
    text = document_text(rule.meta.origin)
    assert "kind: DestinationRule" in text
    assert "kind: Service" not in text
    assert FileSource([MESH]).document_text(rule.meta) == text


def test_a_resource_defined_twice_is_reported_and_the_first_definition_is_used(tmp_path):
    first = (
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
        "metadata: {name: reviews, namespace: shop}\n"
        "spec:\n  host: reviews\n  trafficPolicy: {loadBalancer: {simple: RANDOM}}\n"
    )
    (tmp_path / "a.yaml").write_text(first)
    (tmp_path / "b.yaml").write_text(first.replace("RANDOM", "LEAST_REQUEST"))
    [mesh] = FileSource([tmp_path]).load()
    analysis = mesh.analyze()
    [finding] = [f for f in analysis.findings if f.code is Code.INVALID_RESOURCE]
    assert str(finding.resource) == "DestinationRule shop/reviews"
    assert (finding.file, finding.line) == (str(tmp_path / "b.yaml"), 1)
    assert f"{tmp_path / 'a.yaml'}:1 is used" in finding.message
    policy = analysis.hosts["reviews.shop.svc.cluster.local"].policy.as_dict()
    assert policy == {"loadBalancer": {"simple": "RANDOM"}}

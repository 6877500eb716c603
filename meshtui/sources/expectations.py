"""Reading a routing-expectations file (`meshtui test FILE`) with the line of every key, so
that a mistake is reported as `file:line: what is wrong` and a failing case points at the
expectation that failed. The format: docs/expectations.md, docs/expectations.schema.json.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from meshtui.mesh.expect import EXPECT_KEYS, REQUEST_KEYS, Case
from meshtui.mesh.frozen import frozen
from meshtui.mesh.policy import POLICY_FIELDS

CASE_KEYS = ("name", "request", "expect")
DESTINATION_KEYS = ("host", "subset", "weight", "policy")


@frozen
class ExpectationError:
    """A mistake in the file, where it is."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class _Reader:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.errors: list[ExpectationError] = []
        self.loader = yaml.SafeLoader(text)

    def error(self, node: yaml.Node, message: str) -> None:
        self.errors.append(ExpectationError(self.file, node.start_mark.line + 1, message))

    def value(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def mapping(
        self, node: yaml.Node, what: str, keys: tuple[str, ...]
    ) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """The keys of a mapping node with their key and value nodes; unknown keys are errors
        (a misspelt expectation must not pass silently)."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping")
            return None
        out = {}
        for key, item in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in keys:
                known = ", ".join(keys)
                self.error(key, f"{what}: unknown key {name!r} (known: {known})")
                continue
            if name in out:
                self.error(key, f"{what}: {name!r} is given twice")
                continue
            out[name] = (key, item)
        return out

    def scalar(self, node: yaml.Node, what: str, kinds: tuple[type, ...]) -> Any:
        value = self.value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(node, yaml.ScalarNode) or not isinstance(value, kinds):
            names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            self.error(node, f"{what} must be {names.replace('str', 'a string')}")
            return None
        if isinstance(value, bool) and bool not in kinds:
            self.error(node, f"{what} must not be true or false")
            return None
        return value

    def read(self) -> list[Case]:
        try:
            root = self.loader.get_single_node()
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 1 if mark else 1
            self.errors.append(ExpectationError(self.file, line, f"not YAML: {err.problem}"))
            return []
        except yaml.YAMLError as err:
            self.errors.append(ExpectationError(self.file, 1, f"not YAML: {err}"))
            return []
        finally:
            self.loader.dispose()
        if root is None:
            self.errors.append(ExpectationError(self.file, 1, "the file is empty"))
            return []
        top = self.mapping(root, "the file", ("tests",))
        if top is None:
            return []
        if "tests" not in top:
            self.error(root, "the file needs a `tests:` list")
            return []
        tests = top["tests"][1]
        if not isinstance(tests, yaml.SequenceNode) or not tests.value:
            self.error(tests, "`tests` must be a list of cases")
            return []
        cases = [self.case(item, i) for i, item in enumerate(tests.value)]
        names = [c.name for c in cases if c is not None]
        for item, case in zip(tests.value, cases, strict=True):
            if case is not None and names.count(case.name) > 1:
                self.error(item, f"two cases are named {case.name!r}: names must be unique")
        return [c for c in cases if c is not None]

    def case(self, node: yaml.Node, index: int) -> Case | None:
        what = f"tests[{index}]"
        found = self.mapping(node, what, CASE_KEYS)
        if found is None:
            return None
        before = len(self.errors)
        for key in CASE_KEYS:
            if key not in found:
                self.error(node, f"{what} needs `{key}`")
        if len(self.errors) > before:
            return None
        name = self.scalar(found["name"][1], f"{what}.name", (str,))
        lines = {"name": found["name"][0].start_mark.line + 1}
        request = self.section(found["request"][1], f"{what}.request", REQUEST_KEYS, lines)
        expect = self.section(found["expect"][1], f"{what}.expect", EXPECT_KEYS, lines)
        if request is not None:
            self.check_request(found["request"][1], request, f"{what}.request")
        if len(self.errors) > before or request is None or expect is None:
            return None
        return Case(
            name=name,
            request=request,
            expect=expect,
            file=self.file,
            line=node.start_mark.line + 1,
            lines=lines,
        )

    def section(
        self, node: yaml.Node, what: str, keys: tuple[str, ...], lines: dict[str, int]
    ) -> dict[str, Any] | None:
        found = self.mapping(node, what, keys)
        if found is None:
            return None
        section = what.rsplit(".", 1)[1]
        out = {}
        for name, (key, item) in found.items():
            lines[f"{section}.{name}"] = key.start_mark.line + 1
            check = _CHECKS.get((section, name))
            out[name] = check(self, item, f"{what}.{name}") if check else self.value(item)
        return out

    def check_request(self, node: yaml.Node, request: dict[str, Any], what: str) -> None:
        if "to" not in request:
            self.error(node, f"{what} needs `to: HOST[:PORT]`")
        if "from" not in request and "gateway" not in request:
            self.error(node, f"{what} needs `from: NAMESPACE[/WORKLOAD]` (or `gateway`)")

    # -- one key each ------------------------------------------------------------------------

    def text(self, node: yaml.Node, what: str) -> Any:
        return self.scalar(node, what, (str,))

    def nullable_text(self, node: yaml.Node, what: str) -> Any:
        return self.scalar(node, what, (str, type(None)))

    def to(self, node: yaml.Node, what: str) -> Any:
        value = self.scalar(node, what, (str,))
        if isinstance(value, str):
            _, sep, port = value.rpartition(":")
            if sep and not (port.isdigit() and 0 < int(port) < 65536):
                self.error(node, f"{what}: the port of {value!r} must be a number 1-65535")
        return value

    def gateway(self, node: yaml.Node, what: str) -> Any:
        value = self.scalar(node, what, (str,))
        if isinstance(value, str) and value.count("/") != 1:
            self.error(node, f"{what} must be NAMESPACE/NAME")
        return value

    def headers(self, node: yaml.Node, what: str) -> Any:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping of header names to values")
            return {}
        out = {}
        for key, item in node.value:
            name = self.scalar(key, f"{what} name", (str,))
            value = self.scalar(item, f"{what}.{name}", (str, int, float, bool))
            if name is not None and value is not None:
                out[name.lower()] = str(value).lower() if isinstance(value, bool) else str(value)
        return out

    def destinations(self, node: yaml.Node, what: str) -> Any:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.error(node, f"{what} must be a list of {{subset, weight}}")
            return []
        out = []
        for i, item in enumerate(node.value):
            found = self.mapping(item, f"{what}[{i}]", DESTINATION_KEYS)
            if found is None:
                continue
            entry: dict[str, Any] = {}
            if "weight" in found:
                weight = self.scalar(found["weight"][1], f"{what}[{i}].weight", (int,))
                if isinstance(weight, int) and not 0 <= weight <= 100:
                    self.error(found["weight"][1], f"{what}[{i}].weight must be 0-100")
                entry["weight"] = weight
            else:
                self.error(item, f"{what}[{i}] needs `weight` (percent of the rule's traffic)")
            entry["subset"] = (
                self.nullable_text(found["subset"][1], f"{what}[{i}].subset")
                if "subset" in found
                else None
            )
            if "host" in found:
                entry["host"] = self.text(found["host"][1], f"{what}[{i}].host")
            if "policy" in found:
                entry["policy"] = self.policy(found["policy"][1], f"{what}[{i}].policy")
            out.append(entry)
        return out

    def duration(self, node: yaml.Node, what: str) -> Any:
        value = self.scalar(node, what, (str,))
        if isinstance(value, str) and not _is_duration(value):
            self.error(node, f"{what}: {value!r} is not a duration such as 2s or 500ms")
        return value

    def mapping_value(self, node: yaml.Node, what: str) -> Any:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping (the fields to compare)")
            return {}
        return self.value(node)

    def policy(self, node: yaml.Node, what: str) -> Any:
        found = self.mapping(node, what, POLICY_FIELDS)
        return {k: self.value(v) for k, (_, v) in (found or {}).items()}

    def fails(self, node: yaml.Node, what: str) -> Any:
        return self.scalar(node, what, (bool, str))


def _is_duration(text: str) -> bool:
    for unit in ("ms", "us", "ns", "s", "m", "h"):
        number = text.removesuffix(unit)
        if number != text:
            try:
                return float(number) >= 0
            except ValueError:
                return False
    return False


_CHECKS: dict[tuple[str, str], Callable[[_Reader, yaml.Node, str], Any]] = {
    ("request", "from"): _Reader.text,
    ("request", "gateway"): _Reader.gateway,
    ("request", "to"): _Reader.to,
    ("request", "method"): _Reader.text,
    ("request", "path"): _Reader.text,
    ("request", "headers"): _Reader.headers,
    ("expect", "virtualService"): _Reader.nullable_text,
    ("expect", "rule"): _Reader.text,
    ("expect", "subset"): _Reader.nullable_text,
    ("expect", "destinations"): _Reader.destinations,
    ("expect", "timeout"): _Reader.duration,
    ("expect", "retries"): _Reader.mapping_value,
    ("expect", "policy"): _Reader.policy,
    ("expect", "fails"): _Reader.fails,
}


def read_expectations(file: str, text: str) -> tuple[list[Case], list[ExpectationError]]:
    """The cases of a file and every mistake in it (with mistakes, run none of them)."""
    reader = _Reader(file, text)
    cases = reader.read()
    return cases, sorted(reader.errors, key=lambda e: e.line)

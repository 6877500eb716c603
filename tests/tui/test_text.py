"""Labels and badges are Rich Text built from inert strings: never markup, never escapes."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from meshtui.mesh.resources import ObjectRef, Origin
from meshtui.mesh.routes import RouteRef
from meshtui.tui.model import MeshView
from meshtui.tui.text import host_label, routing_badge, subset_label, undefined_label
from tests.tui.helpers import hostile_as_stored


def route(
    weight: int,
    kind: str = "http",
    gateways: tuple[str, ...] = ("mesh",),
    index: int = 0,
    subset: str = "v1",
    match: str = "any",
    name: str = "",
) -> RouteRef:
    ref = ObjectRef("VirtualService", "ns", "vs")
    return RouteRef(
        ref, kind, index, name, "h.ns.svc.cluster.local", subset, None, weight, gateways, match,
        Origin(), (),
    )  # fmt: skip


def test_routing_badges_read_as_words():
    assert routing_badge([route(90)]).plain == "90%"
    assert routing_badge([route(90, subset="v1"), route(10, subset="v2")]).plain == "90% / 10%"
    assert routing_badge([route(100, kind="mirror")]).plain == "mirror"
    assert routing_badge([route(25, kind="mirror")]).plain == "mirror 25%"
    assert routing_badge([route(100, gateways=("gw",))]).plain == "100% gateway only"
    assert routing_badge([route(0)]).plain == "weight 0 only"
    assert routing_badge([]).plain == ""


def test_weights_of_different_rules_are_never_listed_as_one_sum():
    canary = route(100, index=0, subset="v3", match="header x-canary")
    split = [route(90, index=1, subset="v1"), route(10, index=1, subset="v3")]
    # The host's routes: each rule with its own shares, a split naming where each goes.
    assert (
        routing_badge([canary, *split], targets=True).plain
        == "x-canary: 100% · default: 90% v1 / 10% v3"
    )
    # Subset v3 is reached by both rules: 100% of one, 10% of the other, not "110%".
    assert routing_badge([canary, split[1]]).plain == "x-canary: 100% · default: 10%"
    # A named rule reads by its name; a rule's mirror stays with it.
    named = route(100, index=2, name="beta", subset="v2")
    mirror = route(25, kind="mirror", index=2, subset="v9", name="beta")
    assert routing_badge([canary, named, mirror]).plain == "x-canary: 100% · beta: 100% mirror 25%"


def test_hostile_names_stay_text():
    [entry] = MeshView([hostile_as_stored()]).entries[0]
    h = entry.analysis
    labels = [host_label(entry)]
    labels += [subset_label(s) for s in h.subsets]
    labels += [undefined_label(u) for u in h.undefined_subsets]
    plain = [label.plain for label in labels]
    assert plain[0].startswith("[bold]evil[/bold]")
    assert plain[1].startswith("[bold]v1")
    assert plain[2].startswith("v2[/]  ⚠ policy never applied  ⚠ selects nothing")
    assert plain[3] == "✖ undefined subset ghost\\x1b[5m"
    console = Console(force_terminal=True, color_system=None, width=200)
    with console.capture() as capture:
        for label in labels:
            assert isinstance(label, Text)
            console.print(label)
    printed = capture.get()
    assert "\x1b" not in printed  # no colour system: any escape would come from a name
    assert "[bold]evil[/bold]" in printed

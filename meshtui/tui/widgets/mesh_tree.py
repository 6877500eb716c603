"""The tree of hosts: cluster → namespace → host → `(no subset)`/subsets → workloads.

Nodes are built lazily: a rebuild adds only namespace nodes (and the hosts of the namespaces
it opens); a host's subsets and a subset's workloads are added the first time they are
expanded. Labels are Rich `Text` built in :mod:`meshtui.tui.text`, never markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar, Self

from textual.binding import BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from meshtui.tui import text
from meshtui.tui.keys import Scope, bindings
from meshtui.tui.model import (
    HostEntry,
    Kind,
    Layout,
    Match,
    MeshView,
    NamespaceGroup,
    NodeRef,
    ViewOptions,
    host_children,
    node_workloads,
)

# Open every namespace when the view has at most this many hosts, else only the first one.
AUTO_EXPAND_HOSTS = 400
# In a view of at most this many hosts, open the hosts with findings (or, while filtering, the
# hosts whose subsets or workloads match).
AUTO_EXPAND_MATCHES = 40

Node = TreeNode[NodeRef]


def cached_label(entry: HostEntry) -> text.Text:
    """The host's label, built once per analysis, when its namespace is first opened."""
    if entry.label is None:
        entry.label = text.host_label(entry)
    return entry.label


class MeshTree(Tree[NodeRef]):
    """Hosts grouped by namespace (and cluster), with badges; children built on expand."""

    # The paging keys of every pane, and the tree's own (meshtui.tui.keys is the one table).
    BINDINGS: ClassVar[list[BindingType]] = [*bindings(Scope.SCROLL), *bindings(Scope.TREE)]

    _batching = False
    _batch_dirty = False

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("mesh", NodeRef(Kind.CLUSTER, -1), id=id)
        self._widths: dict[int, int] = {}  # label widths by node id
        self.show_root = False
        self.guide_depth = 3
        self.auto_expand = False
        self.view: MeshView | None = None
        self.options = ViewOptions()
        self.positions: Layout | None = None
        self._by_ref: dict[NodeRef, Node] = {}
        self._ns_groups: dict[NodeRef, NamespaceGroup] = {}
        self._built: set[NodeRef] = set()
        self._before_filter: list[NodeRef] = []  # what was open when a filter was typed

    # -- cheap building and measuring (10,000 hosts in one namespace must open at once) ----------

    def process_label(self, label: str | text.Text) -> text.Text:
        # Labels are built as one-line Text by meshtui.tui.text: never parse them as markup.
        return label if isinstance(label, text.Text) else text.Text(label)

    def get_label_width(self, node: Node) -> int:
        # Called for every line on every rebuild of the lines (a resize, an expand): measured
        # once per node, as labels never change once added.
        width = self._widths.get(node.id)
        if width is None:
            label = node.label
            width = self._widths[node.id] = label.cell_len if isinstance(label, text.Text) else 0
        return width + (2 if node.allow_expand else 0)

    def _invalidate(self) -> None:
        # Adding a node invalidates the whole tree; while adding many, do it once at the end.
        if self._batching:
            self._batch_dirty = True
            return
        super()._invalidate()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Add many nodes with one invalidation of the tree's lines."""
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
            if self._batch_dirty:
                self._batch_dirty = False
                super()._invalidate()

    def clear(self) -> Self:
        """Textual's clear replaces the root and leaves the old tree whole: each node names its
        parent and its children, so every node of it is a reference cycle that waits for the
        cyclic collector (frozen by tui/memory.py, for the next whole-heap pass). Taking the
        nodes out first lets reference counting free them as the old root goes."""
        self.root.remove_children()
        return super().clear()

    # -- building --------------------------------------------------------------------------------

    def show(self, view: MeshView, options: ViewOptions, *, keep: bool = True) -> None:
        """Rebuild for a new analysis or new view options, keeping cursor and expansion.

        A new analysis with the same options and the same hosts in the same places (a live
        change, a reload of an unchanged folder) updates the tree in place instead: only the
        hosts whose analysis changed get new labels and children."""
        layout = view.layout(options)
        same_shape = keep and self.view is not None and options == self.options
        if same_shape and self.positions is not None and layout.shape == self.positions.shape:
            self._update(view, layout)
            return
        cursor = self.cursor_node.data if self.cursor_node is not None else None
        expanded = (
            [ref for ref, node in self._by_ref.items() if node.is_expanded]
            if keep and self.view is not None
            else None
        )
        # A filter opens its matches; clearing it brings back what was open before it (and
        # what was opened while it was on), not the filtered tree's state.
        if expanded is not None and options.query and not self.options.query:
            self._before_filter = expanded
        elif expanded is not None and not options.query and self.options.query:
            expanded = list(dict.fromkeys([*self._before_filter, *expanded]))
            self._before_filter = []
        self.view = view
        self.options = options
        self.positions = layout
        groups = self.positions.groups
        self.clear()
        self._widths = {}
        self._by_ref = {}
        self._ns_groups = {}
        self._built = set()
        total = sum(c.host_count for c in groups)
        for cluster in groups:
            parent = self.root
            if view.multi:
                ref = NodeRef(Kind.CLUSTER, cluster.index)
                parent = self._add(self.root, text.cluster_label(cluster), ref, expand=True)
            if cluster.load_findings:
                ref = NodeRef(Kind.INPUT, cluster.index)
                inputs = self._add(parent, text.input_label(cluster.load_findings), ref)
                findings = self.view.analyses[cluster.index].load_findings
                for j, f in enumerate(findings):
                    if f in cluster.load_findings:
                        ref = NodeRef(Kind.LOAD_FINDING, cluster.index, finding=j)
                        self._add(inputs, text.load_finding_label(f), ref, leaf=True)
            for ns in cluster.namespaces:
                ref = NodeRef(Kind.NAMESPACE, cluster.index, ns.name)
                self._ns_groups[ref] = ns
                self._add(parent, text.namespace_label(ns), ref)
        if expanded is None or options.query:
            self._expand_defaults(total)
        else:
            for ref in sorted(expanded, key=self.positions.key):
                node = self.node_for(ref)
                if node is not None:
                    self.expand_node(node)
        target = self._nearest(cursor) if cursor is not None else None
        if target is None:
            target = self._first_host()
        if target is not None:
            self.reveal(target)
        elif self.root.children:
            self.move_cursor(self.root.children[0])

    def _update(self, view: MeshView, layout: Layout) -> None:
        """Take a new analysis of the same shape: relabel what changed, rebuild changed hosts'
        children (keeping which of them were open), leave every other node as it is."""
        old = self.view
        assert old is not None
        cursor = self.cursor_node.data if self.cursor_node is not None else None
        self.view = view
        self.positions = layout
        query = self.options.query
        changed: list[Node] = []
        for cluster in layout.groups:
            node = self._by_ref.get(NodeRef(Kind.CLUSTER, cluster.index))
            if node is not None and view.multi:
                self._relabel(node, text.cluster_label(cluster))
            for ns in cluster.namespaces:
                ref = NodeRef(Kind.NAMESPACE, cluster.index, ns.name)
                self._ns_groups[ref] = ns
                node = self._by_ref.get(ref)
                if node is None:
                    continue
                self._relabel(node, text.namespace_label(ns))
                if ref not in self._built:
                    continue  # its hosts are labelled from the new analysis when opened
                for entry in ns.hosts:
                    before = old.entry_for(entry.cluster, entry.host)
                    if before is not None and before.analysis is entry.analysis:
                        entry.label = before.label  # same analysis: same label
                        continue
                    node = self._by_ref.get(entry.ref)
                    if node is not None:
                        self._relabel(
                            node, self._host_label(entry, ns.matches.get(entry.host), query)
                        )
                        changed.append(node)
        rebuilt = [self._rebuild_children(node) for node in changed]
        # The cursor is a line number: lines added or removed above it would move it to
        # another node, so it is put back on its node (or the closest one still shown).
        if any(rebuilt) and cursor is not None:
            target = self._nearest(cursor)
            if target is not None:
                self.reveal(target)

    def _relabel(self, node: Node, label: text.Text) -> None:
        if node.label != label:
            self._widths.pop(node.id, None)
            node.set_label(label)

    def _rebuild_children(self, node: Node) -> bool:
        """A host whose analysis changed: its subsets and workloads are built anew, lazily.
        Whether it had any built."""
        ref = node.data
        if ref is None or ref not in self._built:
            return False
        opened = [c.data for c in _descendants(node) if c.is_expanded and c.data is not None]
        for child in _descendants(node):
            if child.data is not None:
                self._by_ref.pop(child.data, None)
                self._built.discard(child.data)
            self._widths.pop(child.id, None)
        self._built.discard(ref)
        node.remove_children()
        if node.is_expanded:
            self._populate(node)
            for child_ref in opened:
                child = self._by_ref.get(child_ref)
                if child is not None:
                    self.expand_node(child)
        return True

    def _expand_defaults(self, total: int) -> None:
        namespaces = [ref for ref in self._by_ref if ref.kind is Kind.NAMESPACE]
        if total > AUTO_EXPAND_HOSTS:
            namespaces = namespaces[:1]
        for ref in namespaces:
            self.expand_node(self._by_ref[ref])
        inputs = [ref for ref in self._by_ref if ref.kind is Kind.INPUT]
        for ref in inputs:
            self.expand_node(self._by_ref[ref])
        if not self.options.query and total <= AUTO_EXPAND_MATCHES:
            # A small mesh opens on its problems: hosts with findings show their subsets.
            for ns in self._ns_groups.values():
                for entry in ns.hosts:
                    if entry.rank:
                        node = self.node_for(entry.ref)
                        if node is not None:
                            self.expand_node(node)
        if self.options.query and total <= AUTO_EXPAND_MATCHES:
            for ns in self._ns_groups.values():
                for entry in ns.hosts:
                    match = ns.matches.get(entry.host)
                    if match is not None and (match.subsets or match.workloads or match.routes):
                        node = self.node_for(entry.ref)
                        if node is not None:
                            self.expand_node(node)
                            self._expand_matching_children(node, match)

    def _expand_matching_children(self, host: Node, match: Match) -> None:
        for child in host.children:
            ref = child.data
            if ref is None or not child.allow_expand:
                continue
            workloads = node_workloads(self.view, ref) if self.view else None
            if any(w.meta.ref in match.workloads for w in workloads or ()):
                self.expand_node(child)

    def _add(
        self,
        parent: Node,
        label: text.Text,
        ref: NodeRef,
        *,
        expand: bool = False,
        leaf: bool = False,
    ) -> Node:
        node = parent.add(label, ref, expand=expand, allow_expand=not leaf)
        self._by_ref[ref] = node
        return node

    def _populate(self, node: Node) -> None:
        """Add a node's children the first time it is opened."""
        ref = node.data
        if ref is None or ref in self._built or self.view is None:
            return
        self._built.add(ref)
        if ref.kind is Kind.NAMESPACE:
            group = self._ns_groups.get(ref)
            if group is not None:
                self._add_hosts(node, group)
        elif ref.kind is Kind.HOST:
            self._add_host_children(node, ref)
        elif ref.kind in (Kind.DEFAULT, Kind.SUBSET):
            for w in node_workloads(self.view, ref) or ():
                child = NodeRef(
                    Kind.WORKLOAD, ref.cluster, ref.namespace, ref.host, ref.subset, w.meta.ref
                )
                self._add(node, text.workload_label(w, self.options.query), child, leaf=True)

    def _add_hosts(self, node: Node, group: NamespaceGroup) -> None:
        query = self.options.query
        with self.batch():
            for entry in group.hosts:
                label = self._host_label(entry, group.matches.get(entry.host), query)
                self._add(node, label, entry.ref)

    @staticmethod
    def _host_label(entry: HostEntry, match: Match | None, query: str) -> text.Text:
        if match is not None and match.host and query:
            return text.host_label(entry, match, query)  # highlighted: not cached
        return cached_label(entry)

    def _add_host_children(self, node: Node, ref: NodeRef) -> None:
        assert self.view is not None
        host = self.view.host(ref)
        if host is None:
            return
        query = self.options.query
        for child in host_children(host, ref.cluster, ref.namespace):
            if child.kind is Kind.DEFAULT:
                label = text.default_label(host)
                self._add(node, label, child, leaf=not host.workloads)
            elif child.kind is Kind.SUBSET:
                subset = host.subset(child.subset)
                assert subset is not None
                label = text.subset_label(subset, query, host.unread)
                self._add(node, label, child, leaf=not subset.workloads)
            else:
                self._add(node, text.undefined_label(child.subset, query), child, leaf=True)

    # -- finding nodes ---------------------------------------------------------------------------

    def node_for(self, ref: NodeRef) -> Node | None:
        """The node of `ref`, building its ancestors' children if they were never opened."""
        node = self._by_ref.get(ref)
        if node is not None or self.positions is None or not self.positions.shows(ref):
            return node
        parent: NodeRef | None = None
        if ref.kind is Kind.HOST:
            parent = NodeRef(Kind.NAMESPACE, ref.cluster, ref.namespace)
        elif ref.kind in (Kind.DEFAULT, Kind.SUBSET, Kind.UNDEFINED):
            parent = NodeRef(Kind.HOST, ref.cluster, ref.namespace, ref.host)
        elif ref.kind is Kind.WORKLOAD:
            kind = Kind.SUBSET if ref.subset else Kind.DEFAULT
            parent = NodeRef(kind, ref.cluster, ref.namespace, ref.host, ref.subset)
        if parent is None:
            return None
        parent_node = self.node_for(parent)
        if parent_node is None:
            return None
        self._populate(parent_node)
        return self._by_ref.get(ref)

    def _nearest(self, ref: NodeRef) -> NodeRef | None:
        """`ref` if still shown, else its closest shown ancestor."""
        chain = [ref]
        if ref.kind in (Kind.DEFAULT, Kind.SUBSET, Kind.UNDEFINED, Kind.WORKLOAD):
            chain.append(NodeRef(Kind.HOST, ref.cluster, ref.namespace, ref.host))
        if ref.kind is Kind.LOAD_FINDING:
            chain.append(NodeRef(Kind.INPUT, ref.cluster))
        if ref.kind not in (Kind.CLUSTER, Kind.INPUT, Kind.LOAD_FINDING):
            chain.append(NodeRef(Kind.NAMESPACE, ref.cluster, ref.namespace))
        for candidate in chain:
            if self.node_for(candidate) is not None:
                return candidate
        return None

    def _first_host(self) -> NodeRef | None:
        for ref, node in self._by_ref.items():
            if ref.kind is Kind.HOST and node.parent is not None and node.parent.is_expanded:
                return ref
        return None

    def expand_node(self, node: Node) -> None:
        self._populate(node)
        if node.allow_expand and not node.is_expanded:
            node.expand()

    def reveal(self, ref: NodeRef) -> bool:
        """Open the ancestors of `ref` and put the cursor on it."""
        node = self.node_for(ref)
        if node is None:
            return False
        parent = node.parent
        while parent is not None and parent is not self.root:
            self.expand_node(parent)
            parent = parent.parent
        _ = self.last_line  # lay out the opened nodes so the cursor lands on the right line
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)
        return True

    # -- keys ------------------------------------------------------------------------------------

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeRef]) -> None:
        # Opened by the mouse or `space`: build the children now.
        if event.node.data is not None and event.node.data not in self._built:
            self._populate(event.node)

    def action_expand(self) -> None:
        """Open the node; on an open node, step into its first child."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            self.expand_node(node)
        elif node.is_expanded and node.children:
            self.move_cursor(node.children[0])

    # The paging keys every pane shares: here they move the cursor, and the view follows it.
    def action_down(self) -> None:
        self.action_cursor_down()

    def action_up(self) -> None:
        self.action_cursor_up()

    def _move(self, lines: int) -> None:
        self.cursor_line = max(0, min(self.last_line, max(self.cursor_line, 0) + lines))
        self.scroll_to_line(self.cursor_line, animate=False)

    def action_half_page_down(self) -> None:
        self._move(max(self.scrollable_content_region.height // 2, 1))

    def action_half_page_up(self) -> None:
        self._move(-max(self.scrollable_content_region.height // 2, 1))

    def action_page_down(self) -> None:
        self._move(max(self.scrollable_content_region.height - 1, 1))

    def action_page_up(self) -> None:
        self._move(-max(self.scrollable_content_region.height - 1, 1))

    def action_top(self) -> None:
        self._move(-self.last_line - 1)

    def action_bottom(self) -> None:
        self._move(self.last_line + 1)

    def action_collapse(self) -> None:
        """Close the node; on a closed node or a leaf, step out to its parent."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)
            self.scroll_to_node(node.parent, animate=False)


def _descendants(node: Node) -> Iterator[Node]:
    for child in node.children:
        yield child
        yield from _descendants(child)

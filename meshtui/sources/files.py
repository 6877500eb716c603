"""The offline source's names in one place: reading files and folders of Kubernetes YAML or
JSON, and following them as they are edited.

Each concept lives in its own module (discovery, documents, reading, lines, folder); this one
only gathers the names callers use, and imports them all from below (none imports it).
"""

from __future__ import annotations

from meshtui.sources.discovery import SUFFIXES, LoadError, discover, is_input
from meshtui.sources.documents import (
    STDIN,
    STDIN_NAME,
    content_line,
    document_text,
    keep,
    kept,
    read,
    split_documents,
)
from meshtui.sources.folder import FileSource
from meshtui.sources.lines import locate, refine_lines
from meshtui.sources.reading import (
    LoadResult,
    fallback_notes,
    first_definitions,
    load,
    load_file,
    skipped_note,
    without_owned,
)
from meshtui.sources.yaml_loader import MAX_EXPANDED_NODES, MAX_NESTING

__all__ = [
    "MAX_EXPANDED_NODES",
    "MAX_NESTING",
    "STDIN",
    "STDIN_NAME",
    "SUFFIXES",
    "FileSource",
    "LoadError",
    "LoadResult",
    "content_line",
    "discover",
    "document_text",
    "fallback_notes",
    "first_definitions",
    "is_input",
    "keep",
    "kept",
    "load",
    "load_file",
    "locate",
    "read",
    "refine_lines",
    "skipped_note",
    "split_documents",
    "without_owned",
]

"""meshtui: a keyboard-driven terminal inspector for Istio traffic policy."""

__version__ = "0.1.0"

"""The figure parser lives in app.figures (the audit reads printed figures too); this is its old import path."""

from app.figures import Bounds, FigureSyntaxError, parse_figure

__all__ = ["Bounds", "FigureSyntaxError", "parse_figure"]

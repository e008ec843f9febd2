"""Read-only API over the figures of the 2006 CCP Organization Department / Ministry of Public Security report."""

__version__ = "1.0.0"

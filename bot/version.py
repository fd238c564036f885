"""The faqbot version: the one source, read by setuptools at build time (pyproject.toml, dynamic version).

Keep this a plain string literal with no imports: setuptools reads it from the source without importing bot.
"""

VERSION = "0.3.0"

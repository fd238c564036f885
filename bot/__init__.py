"""Tencent Cloud Marketplace FAQ bot."""

from bot.version import VERSION as __version__

__all__ = ["__version__"]

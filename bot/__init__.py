"""Tencent Cloud Marketplace FAQ bot."""

__version__ = "0.1.0"

"""Zhangyin (掌银): an open-source mobile banking platform."""

__version__ = "0.1.0"

"""The public website: static pages and RSS/Atom feeds built from the store.

``SiteBuilder`` writes the site; ``WebsiteChannel`` (registered as ``website``) rebuilds what a
release touches.
"""
from channels.website.builder import BuildStats, SiteBuilder
from channels.website.channel import WebsiteChannel

__all__ = ["BuildStats", "SiteBuilder", "WebsiteChannel"]
